"""`knoll instance pool ...`, `knoll run reexecute` and CLI runs with the job's executor."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from knoll.instance import Instance
from tests.cli.helpers import knoll, run_ids

FLAKY = textwrap.dedent(
    """
    import os
    from pathlib import Path

    from knoll import Definitions, asset, define_asset_job
    from knoll.defs.executor import multiprocess_executor

    Path("import_pid").write_text(str(os.getpid()))

    def mark(name):
        with open(f"ran_{name}", "a") as handle:
            handle.write(f"{os.getpid()}\\n")

    @asset
    def raw() -> int:
        mark("raw")
        return 2

    @asset
    def flaky(raw: int) -> int:
        mark("flaky")
        if not Path("fixed").exists():
            raise ValueError("the upstream API is down")
        return raw * 10

    @asset
    def side(raw: int) -> int:
        mark("side")
        return raw + 1

    defs = Definitions(
        assets=[raw, flaky, side],
        jobs=[define_asset_job("nightly", selection="*")],
        executor=EXECUTOR,
    )
    """
)


OP_FLAKY = textwrap.dedent(
    """
    from pathlib import Path

    from knoll import Definitions, job, op
    from knoll.defs.executor import multiprocess_executor

    def mark(name):
        with open(f"ran_{name}", "a") as handle:
            handle.write("x\\n")

    @op
    def fetch() -> int:
        mark("fetch")
        return 2

    @op
    def load(value: int) -> int:
        mark("load")
        if not Path("fixed").exists():
            raise ValueError("the warehouse is busy")
        return value * 10

    @op
    def report(values: list[int]) -> None:
        mark("report")
        Path("report").write_text(str(sum(values)))

    @job(executor_def=EXECUTOR)
    def ops_nightly():
        value = fetch()
        report([load(value), value])

    defs = Definitions(jobs=[ops_nightly])
    """
)


def _project(folder: Path, executor: str = "None") -> Path:
    (folder / "flaky_project.py").write_text(FLAKY.replace("EXECUTOR", executor))
    return folder


def _ran(folder: Path, name: str) -> list[str]:
    path = folder / f"ran_{name}"
    return path.read_text().split() if path.exists() else []


# ---- pools -----------------------------------------------------------------------------------


def test_pool_set_list_and_delete(tmp_path: Path) -> None:
    assert knoll("instance", "pool", "list", cwd=tmp_path).stdout == (
        "no concurrency pools. Limit one: knoll instance pool set NAME LIMIT\n"
    )
    done = knoll("instance", "pool", "set", "database", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "concurrency pool 'database': at most 2 steps at once.\n"
    assert knoll("instance", "pool", "set", "api", "0", cwd=tmp_path).returncode == 0
    with Instance.get(tmp_path / ".knoll") as instance:
        assert instance.storage.claim_slot("database", "run-1234", "load_orders", 60)
    listed = knoll("instance", "pool", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split() for line in lines[:3]] == [
        ["POOL", "LIMIT", "IN", "USE"],
        ["api", "0", "0"],
        ["database", "2", "1"],
    ]
    assert lines[3] == "slots in use:"
    assert lines[4].split()[:5] == ["POOL", "RUN", "ID", "STEP", "SINCE"]
    assert lines[5].split()[:3] == ["database", "run-1234", "load_orders"]
    # setting a pool again changes its limit
    assert knoll("instance", "pool", "set", "database", "5", cwd=tmp_path).returncode == 0
    deleted = knoll("instance", "pool", "delete", "api", cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout == "deleted concurrency pool 'api': its steps are no longer limited.\n"
    after = knoll("instance", "pool", "list", cwd=tmp_path).stdout.splitlines()
    assert [line.split() for line in after[:2]] == [
        ["POOL", "LIMIT", "IN", "USE"],
        ["database", "5", "1"],
    ]


def test_pool_commands_explain_bad_input(tmp_path: Path) -> None:
    assert knoll("instance", "pool", "set", "database", "1", cwd=tmp_path).returncode == 0
    unknown = knoll("instance", "pool", "delete", "databse", cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "error: there is no concurrency pool 'databse' in this instance. Did you mean "
        "'database'? Pools: database (see `knoll instance pool list`).\n"
    )
    negative = knoll("instance", "pool", "set", "database", "-1", cwd=tmp_path)
    assert negative.returncode == 2
    assert negative.stderr == (
        "error: limit -1 of concurrency pool 'database' is not valid: give a whole number of "
        "slots, 0 or more (0 stops every step of the pool from starting).\n"
    )
    words = knoll("instance", "pool", "set", "database", "two", cwd=tmp_path)
    assert words.returncode == 2
    assert words.stderr == (
        "error: limit 'two' of concurrency pool 'database' is not a whole number: give the "
        "number of slots, 0 or more, e.g. `knoll instance pool set database 2`.\n"
    )
    # nothing was changed by the bad commands
    listed = knoll("instance", "pool", "list", cwd=tmp_path).stdout.splitlines()
    assert [line.split() for line in listed] == [
        ["POOL", "LIMIT", "IN", "USE"],
        ["database", "1", "0"],
    ]


# ---- re-execution ----------------------------------------------------------------------------


@pytest.mark.parametrize("executor", ["None", "multiprocess_executor(max_concurrent=2)"])
def test_reexecute_from_failure_reruns_what_failed(tmp_path: Path, executor: str) -> None:
    project = _project(tmp_path, executor)
    first = knoll("job", "execute", "-m", "flaky_project", "-j", "nightly", cwd=project)
    assert first.returncode == 1
    [parent] = run_ids(project)
    (project / "fixed").write_text("")
    again = knoll(
        "run", "reexecute", parent[:8], "--from-failure", "-m", "flaky_project", cwd=project
    )
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == f"re-executing run {parent} of job 'nightly' (steps flaky)"
    child = lines[-1].split()[1]
    assert lines[-1].startswith(f"run {child} succeeded")
    assert any(line.startswith("  materialized flaky  (path=") for line in lines)
    assert run_ids(project) == [child, parent]
    # raw and side were not recomputed: flaky loaded raw's stored output
    assert len(_ran(project, "raw")) == 1
    assert len(_ran(project, "side")) == 1
    assert len(_ran(project, "flaky")) == 2
    shown = knoll("run", "show", child, cwd=project)
    assert f"  parent:    {parent} (root {parent})" in shown.stdout.splitlines()


@pytest.mark.parametrize("executor", ["None", "multiprocess_executor(max_concurrent=2)"])
def test_reexecute_an_op_job_from_failure(tmp_path: Path, executor: str) -> None:
    (tmp_path / "op_project.py").write_text(OP_FLAKY.replace("EXECUTOR", executor))
    first = knoll("job", "execute", "-m", "op_project", "-j", "ops_nightly", cwd=tmp_path)
    assert first.returncode == 1
    [parent] = run_ids(tmp_path)
    (tmp_path / "fixed").write_text("")

    again = knoll(
        "run", "reexecute", parent[:8], "--from-failure", "-m", "op_project", cwd=tmp_path
    )

    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == f"re-executing run {parent} of job 'ops_nightly' (steps load, report)"
    child = lines[-1].split()[1]
    assert lines[-1].startswith(f"run {child} succeeded")
    assert run_ids(tmp_path) == [child, parent]
    # fetch did not run again: load and report read the output the parent stored
    assert [len(_ran(tmp_path, n)) for n in ("fetch", "load", "report")] == [1, 2, 1]
    assert (tmp_path / "report").read_text() == "22"


def test_reexecute_all_steps_and_exit_1_when_it_fails(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert knoll("asset", "materialize", "-m", "flaky_project", cwd=project).returncode == 1
    [parent] = run_ids(project)
    again = knoll("run", "reexecute", parent, "-m", "flaky_project", cwd=project)
    assert again.returncode == 1
    lines = again.stdout.splitlines()
    assert lines[0] == f"re-executing run {parent} of assets flaky, raw, side (all steps)"
    assert "FAILED flaky" in again.stderr
    child = lines[-1].split()[1]
    assert lines[-1].startswith(f"run {child} failed")
    assert run_ids(project) == [child, parent]
    assert len(_ran(project, "raw")) == 2  # every step ran again


def test_reexecute_explains_bad_input(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "fixed").write_text("")
    missing = knoll("run", "reexecute", "nosuchrun", "-m", "flaky_project", cwd=project)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: no run 'nosuchrun'")
    assert (
        knoll("job", "execute", "-m", "flaky_project", "-j", "nightly", cwd=project).returncode == 0
    )
    [ok] = run_ids(project)
    done = knoll("run", "reexecute", ok, "--from-failure", "-m", "flaky_project", cwd=project)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: run {ok} succeeded: there is no failure to re-execute from. Drop "
        "--from-failure to re-execute all of its steps.\n"
    )
    assert run_ids(project) == [ok]  # nothing ran


# ---- executors ---------------------------------------------------------------------------------


def test_cli_runs_use_the_jobs_executor(tmp_path: Path) -> None:
    project = _project(tmp_path, "multiprocess_executor(max_concurrent=2)")
    (project / "fixed").write_text("")
    done = knoll("asset", "materialize", "-m", "flaky_project", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "  materialized flaky" in done.stdout
    cli_pid = (project / "import_pid").read_text()
    step_pids = {*_ran(project, "raw"), *_ran(project, "flaky"), *_ran(project, "side")}
    assert cli_pid not in step_pids  # steps ran in worker processes, not the CLI's
    assert str(os.getpid()) not in step_pids
    # without an executor the steps run in the CLI's own process
    here = tmp_path / "here"
    here.mkdir()
    _project(here)
    (here / "fixed").write_text("")
    assert knoll("asset", "materialize", "-m", "flaky_project", cwd=here).returncode == 0
    assert set(_ran(here, "raw")) == {(here / "import_pid").read_text()}


GRAPH_FLAKY = textwrap.dedent(
    """
    from pathlib import Path

    from knoll import Definitions, asset, define_asset_job, graph_asset, op
    from knoll.defs.executor import multiprocess_executor

    def mark(name):
        with open(f"ran_{name}", "a") as handle:
            handle.write("x\\n")

    @asset
    def readings() -> list[int]:
        mark("readings")
        return [4, 9, 2]

    @op
    def calibrate(values: list[int]) -> list[int]:
        mark("calibrate")
        return [v + 1 for v in values]

    @op
    def publish(values: list[int]) -> int:
        mark("publish")
        if not Path("fixed").exists():
            raise ValueError("the dashboard is read-only")
        return max(values)

    @graph_asset
    def peak(readings):
        return publish(calibrate(readings))

    defs = Definitions(
        assets=[readings, peak],
        jobs=[define_asset_job("sensors", selection="*")],
        executor=EXECUTOR,
    )
    """
)


@pytest.mark.parametrize("executor", ["None", "multiprocess_executor(max_concurrent=2)"])
def test_reexecute_a_graph_asset_from_its_failed_op(tmp_path: Path, executor: str) -> None:
    (tmp_path / "graph_project.py").write_text(GRAPH_FLAKY.replace("EXECUTOR", executor))
    first = knoll("job", "execute", "-m", "graph_project", "-j", "sensors", cwd=tmp_path)
    assert first.returncode == 1
    [parent] = run_ids(tmp_path)
    (tmp_path / "fixed").write_text("")

    again = knoll(
        "run", "reexecute", parent[:8], "--from-failure", "-m", "graph_project", cwd=tmp_path
    )

    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == f"re-executing run {parent} of job 'sensors' (steps peak.publish)"
    child = lines[-1].split()[1]
    assert lines[-1].startswith(f"run {child} succeeded")
    assert any(line.startswith("  materialized peak  (path=") for line in lines)
    # readings and calibrate did not run again: publish read calibrate's stored output
    assert [len(_ran(tmp_path, n)) for n in ("readings", "calibrate", "publish")] == [1, 1, 2]
