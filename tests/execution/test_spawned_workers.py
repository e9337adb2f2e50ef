"""Multiprocess workers that do not fork from the run's process: forkserver and spawn.

Where fork is unsafe (macOS) the executor falls back to a forkserver that preloads the code
location; these tests choose the start method explicitly, so they run the same on Linux.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from knoll import EventType, job, op
from knoll.codeloc.loader import CodeLocationTarget, load_definitions
from knoll.defs.executor import multiprocess_executor
from knoll.errors import ExecutionError
from knoll.execution.origin import code_origin, set_code_origin
from knoll.execution.reexecution import execute_job
from knoll.instance import Instance
from tests.cli.helpers import knoll

PROJECT = textwrap.dedent(
    """
    import os
    from pathlib import Path

    from knoll import Definitions, asset, job, op, multiprocess_executor, Out

    MARKS = Path(os.environ["MARKS"])
    MARKS.mkdir(parents=True, exist_ok=True)
    with (MARKS / "imports").open("a") as handle:
        handle.write(f"{os.getpid()}\\n")

    METHOD = os.environ.get("START_METHOD", "forkserver")


    def mark(name):
        with (MARKS / name).open("a") as handle:
            handle.write(f"{os.getpid()} {os.getppid()}\\n")


    @op
    def start() -> int:
        mark("start")
        return 2

    def branch(i):
        @op(name=f"branch_{i}")
        def _branch(value: int) -> int:
            mark("branch")
            if (MARKS / f"kill_{i}").exists():
                os.kill(os.getpid(), 9)
            return value * i
        return _branch

    BRANCHES = [branch(i) for i in range(4)]

    @op
    def total(values: list[int]) -> int:
        mark("total")
        print(f"total is {sum(values)}")
        return sum(values)

    @job(executor_def=multiprocess_executor.configured(
        {"max_concurrent": 2, "start_method": METHOD}))
    def fan():
        value = start()
        total([b(value) for b in BRANCHES])

    @asset
    def numbers() -> list[int]:
        mark("numbers")
        return [1, 2, 3]

    @asset
    def doubled(numbers: list[int]) -> list[int]:
        mark("doubled")
        return [n * 2 for n in numbers]

    defs = Definitions(
        assets=[numbers, doubled],
        jobs=[fan],
        executor=multiprocess_executor.configured({"start_method": METHOD}),
    )
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "spawn_project.py").write_text(PROJECT)
    return tmp_path


@pytest.fixture(autouse=True)
def no_origin() -> Iterator[None]:
    """Each test starts, and leaves this process, without a loaded code location."""
    saved = code_origin()
    set_code_origin(None)
    keys = ("MARKS", "START_METHOD")
    env = {k: os.environ.get(k) for k in keys}
    yield
    set_code_origin(saved)
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _lines(project: Path, name: str) -> list[list[int]]:
    path = project / "marks" / name
    if not path.exists():
        return []
    return [[int(x) for x in line.split()] for line in path.read_text().splitlines()]


def _env(project: Path, method: str) -> dict[str, str]:
    return {"MARKS": str(project / "marks"), "START_METHOD": method}


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_an_op_job_runs_in_workers_that_load_the_location(project: Path, method: str) -> None:
    done = knoll("job", "execute", "-m", "spawn_project", "--job", "fan", cwd=project,
                 env=_env(project, method))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout
    steps = [*_lines(project, "start"), *_lines(project, "branch"), *_lines(project, "total")]
    assert len(steps) == 6
    imports = [pid for (pid,) in _lines(project, "imports")]
    worker_pids = {pid for pid, _ in steps}
    parents = {parent for _, parent in steps}
    cli_pid = imports[0]  # the command imports the location first
    assert cli_pid not in worker_pids
    if method == "forkserver":
        # The forkserver imported the location once; every worker was forked from it.
        assert len(imports) == 2
        (server,) = parents
        assert server == imports[1]
        assert server != cli_pid
    else:
        # Each spawned worker is a fresh interpreter that imports the location once.
        assert parents == {cli_pid}
        assert worker_pids <= set(imports[1:])
        assert len(imports) - 1 <= 2  # one import per worker, none per step
    assert len(worker_pids) <= 2  # max_concurrent: warm workers, not a process per step
    logs = knoll("run", "logs", "--last", "--step", "total", cwd=project)
    assert "total is 12" in logs.stdout, logs.stdout + logs.stderr


def test_an_asset_run_with_a_forkserver_through_the_cli(project: Path) -> None:
    done = knoll("asset", "materialize", "-m", "spawn_project", "--select", "*", cwd=project,
                 env=_env(project, "forkserver"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_lines(project, "numbers")) == 1
    assert len(_lines(project, "doubled")) == 1
    shown = knoll("asset", "list", cwd=project)
    assert "doubled" in shown.stdout


def test_a_worker_killed_under_a_forkserver_fails_its_step(project: Path) -> None:
    (project / "marks").mkdir()
    (project / "marks" / "kill_3").touch()
    done = knoll("job", "execute", "-m", "spawn_project", "--job", "fan", cwd=project,
                 env=_env(project, "forkserver"))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    shown = knoll("run", "show", "--last", cwd=project)
    assert "was killed by signal SIGKILL while running it" in shown.stdout, shown.stdout
    # the other branches ran; the sink did not
    assert len(_lines(project, "branch")) == 4
    assert _lines(project, "total") == []


def _load_here(project: Path, name: str, monkeypatch: pytest.MonkeyPatch, method: str) -> Any:
    """Load the project into this process under a module name of its own (a forkserver, once
    started, keeps the modules it preloaded for the rest of this process)."""
    (project / f"{name}.py").write_text(PROJECT)
    monkeypatch.setenv("MARKS", str(project / "marks"))
    monkeypatch.setenv("START_METHOD", method)
    monkeypatch.delitem(sys.modules, name, raising=False)
    return load_definitions(CodeLocationTarget(module_name=name, working_directory=str(project)))


def test_execute_job_in_this_process_after_loading_the_location(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = _load_here(project, "spawn_in_process", monkeypatch, "spawn")
    instance = Instance.get(tmp_path / "home")
    result = execute_job(defs.get_job_def("fan"), instance)
    assert result.success, result.run_error
    assert result.output_for_node("total") == 12
    assert os.getpid() not in {pid for pid, _ in _lines(project, "branch")}


def test_a_job_not_loaded_from_a_location_is_refused_with_the_fix(tmp_path: Path) -> None:
    @op
    def one() -> int:
        return 1

    @job(executor_def=multiprocess_executor.configured({"start_method": "spawn"}))
    def local() -> None:
        one()

    result = execute_job(local, Instance.get(tmp_path / "home"))
    assert not result.success
    assert isinstance(result.run_error, ExecutionError)
    message = str(result.run_error)
    assert "starts its workers with 'spawn'" in message
    assert "job 'local' was not loaded from one in this process" in message
    assert "knoll job execute -m MODULE --job NAME" in message
    assert "start_method='fork'" in message


def test_a_job_missing_from_the_loaded_location_fails_the_run_saying_where(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_here(project, "spawn_missing_job", monkeypatch, "spawn")

    @op
    def one() -> int:
        return 1

    @job(executor_def=multiprocess_executor.configured({"start_method": "spawn"}))
    def elsewhere() -> None:
        one()

    result = execute_job(elsewhere, Instance.get(tmp_path / "home"))
    assert not result.success
    message = str(result.run_error)
    assert "could not start" in message
    assert "module 'spawn_missing_job'" in message
    assert "'elsewhere'" in message


def test_a_persisted_instance_is_named_for_other_processes_by_its_home(tmp_path: Path) -> None:
    instance = Instance.get(tmp_path / "home")
    assert instance.process_reference() == {
        "open": "knoll.instance:Instance.get",
        "home": str(tmp_path / "home"),
    }
    assert Instance.ephemeral().process_reference() is None


def test_resources_given_to_one_call_cannot_reach_spawned_workers(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = _load_here(project, "spawn_with_resources", monkeypatch, "spawn")
    result = execute_job(
        defs.get_job_def("fan"), Instance.get(tmp_path / "home"), resources={"warehouse": 1}
    )
    assert not result.success
    message = str(result.run_error)
    assert "passes resources (warehouse) to execute_job" in message
    assert "starts its workers with 'spawn'" in message
    assert "Definitions(resources=...)" in message


def test_events_of_spawned_workers_reach_the_run(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = _load_here(project, "spawn_forkserver_events", monkeypatch, "forkserver")
    instance = Instance.get(tmp_path / "home")
    result = execute_job(defs.get_job_def("fan"), instance)
    assert result.success, result.run_error
    stored = instance.get_events(result.run_id, of_types=[EventType.STEP_SUCCESS]).records
    assert sorted(r.event.step_key or "" for r in stored) == sorted(
        ["start", "total", *(f"branch_{i}" for i in range(4))]
    )


def test_a_launched_run_uses_a_forkserver_from_its_run_worker(project: Path) -> None:
    done = knoll("run", "launch", "-m", "spawn_project", "--job", "fan", "--wait", cwd=project,
                 env=_env(project, "forkserver"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_lines(project, "branch")) == 4
    imports = [pid for (pid,) in _lines(project, "imports")]
    # the code server imported the location, and the run's forkserver once more
    assert len(imports) == 2
    workers = {pid for pid, _ in _lines(project, "branch")}
    assert not workers & set(imports)


def test_a_script_without_a_main_guard_is_not_run_again_by_its_workers(project: Path) -> None:
    import subprocess

    script = project / "run_it.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            from pathlib import Path

            from knoll import Instance, execute_job
            from knoll.codeloc.loader import CodeLocationTarget, load_definitions

            with (Path(os.environ["MARKS"]) / "script").open("a") as handle:
                handle.write(f"{os.getpid()}\\n")
            defs = load_definitions(CodeLocationTarget(module_name="spawn_project"))
            result = execute_job(defs.get_job_def("fan"), Instance.get(".knoll"))
            print("success" if result.success else f"failure: {result.run_error}")
            """
        )
    )
    (project / "marks").mkdir()
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=project,
        env={**os.environ, **_env(project, "spawn")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.splitlines()[-1] == "success", done.stdout + done.stderr
    assert len(_lines(project, "script")) == 1
    assert len(_lines(project, "branch")) == 4
