"""SIGTERM and SIGINT to the knoll command while it executes a run: the run ends CANCELED
with its resources torn down, and no batch of its events is stored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from tests.cli.helpers import KNOLL, knoll, knoll_env

WAIT = 60.0  # seconds: only to avoid a hang

PROJECT = textwrap.dedent(
    """
    import os
    import time
    from collections.abc import Iterator
    from pathlib import Path

    from knoll import Definitions, asset, define_asset_job, resource
    from knoll.execution.events import EventType
    from knoll.instance import Instance

    MARKS = Path(os.environ["KNOLL_TEST_MARKS"])

    if os.environ.get("KNOLL_TEST_SLOW_COMMIT"):
        # storage that has committed a batch but is slow to return from the write
        store = Instance.write_events

        def slow_to_return(self, events):
            store(self, events)
            if any(e.event_type is EventType.ASSET_MATERIALIZATION for e in events):
                (MARKS / "committed").write_text(str(os.getpid()))
                deadline = time.monotonic() + 60
                while not (MARKS / "go").exists() and time.monotonic() < deadline:
                    time.sleep(0.02)

        Instance.write_events = slow_to_return


    @resource
    def warehouse() -> Iterator[str]:
        yield "warehouse"
        (MARKS / "teardown").write_text("closed")


    @asset(required_resource_keys={"warehouse"})
    def first() -> int:
        return 1


    @asset(required_resource_keys={"warehouse"})
    def second(first: int) -> int:
        if os.environ.get("KNOLL_TEST_SLOW_STEP"):
            (MARKS / "started").write_text("")
            time.sleep(300)  # a test stops it
        return first + 1


    defs = Definitions(
        assets=[first, second],
        resources={"warehouse": warehouse},
        jobs=[define_asset_job("both", selection=[first, second])],
    )
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project.py").write_text(PROJECT)
    (tmp_path / ".knoll").mkdir()
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def _env(project: Path, **flags: str) -> dict[str, str]:
    return knoll_env(project, {"KNOLL_TEST_MARKS": str(project), **flags})


def _start(project: Path, args: list[str], **flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*KNOLL, *args],
        cwd=project,
        env=_env(project, **flags),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{path.name} never appeared: {process.communicate()}")
        time.sleep(0.02)


def _only_run(instance: Instance) -> str:
    runs = instance.get_runs().records
    assert len(runs) == 1
    return runs[0].run.run_id


@pytest.mark.parametrize("entry", ["asset materialize", "job execute"])
def test_a_signal_just_after_a_commit_stores_that_batch_once(
    project: Path, instance: Instance, entry: str
) -> None:
    args = (
        ["asset", "materialize", "-f", "project.py", "--select", "*"]
        if entry == "asset materialize"
        else ["job", "execute", "-f", "project.py", "-j", "both"]
    )
    process = _start(project, args, KNOLL_TEST_SLOW_COMMIT="1")
    _wait_for(project / "committed", process)  # a materialization is stored: the write sleeps

    os.kill(process.pid, signal.SIGTERM)
    (project / "go").write_text("")  # the write returns once the signal has been handled
    _, err = process.communicate(timeout=WAIT)

    assert process.returncode == 143, err
    run_id = _only_run(instance)
    assert f"run {run_id} CANCELED: stopped by SIGTERM" in err
    _assert_stored_once(instance, run_id, project)


def test_a_signal_to_a_run_worker_just_after_a_commit_stores_that_batch_once(
    project: Path, instance: Instance
) -> None:
    args = ["run", "launch", "-f", "project.py", "--job", "both"]
    process = _start(project, args, KNOLL_TEST_SLOW_COMMIT="1")
    _wait_for(project / "committed", process)
    worker = int((project / "committed").read_text())

    os.kill(worker, signal.SIGTERM)
    (project / "go").write_text("")
    _, err = process.communicate(timeout=WAIT)

    assert process.returncode == 1, err  # the run it waited for was canceled
    _assert_stored_once(instance, _only_run(instance), project)


def _assert_stored_once(instance: Instance, run_id: str, project: Path) -> None:
    assert instance.get_run(run_id).run.status is RunStatus.CANCELED
    events = instance.events_of_run(run_id, list(EventType))
    keys = Counter((e.event_type, e.step_key, e.timestamp, e.message) for e in events)
    twice = [key for key, n in keys.items() if n > 1]
    assert twice == []
    kinds = Counter(e.event_type for e in events)
    assert kinds[EventType.ASSET_MATERIALIZATION] == 1
    assert kinds[EventType.RUN_CANCELED] == 1
    assert (project / "teardown").read_text() == "closed"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_cancels_a_reexecution_and_tears_resources_down(
    project: Path, instance: Instance, signum: signal.Signals
) -> None:
    done = knoll("job", "execute", "-f", "project.py", "-j", "both", cwd=project, env=_env(project))
    assert done.returncode == 0, done.stderr
    parent = _only_run(instance)
    (project / "teardown").unlink()

    args = ["run", "reexecute", parent, "-f", "project.py"]
    process = _start(project, args, KNOLL_TEST_SLOW_STEP="1")
    _wait_for(project / "started", process)
    os.kill(process.pid, signum)
    _, err = process.communicate(timeout=WAIT)

    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    child = next(r.run for r in instance.get_runs().records if r.run.run_id != parent)
    assert child.parent_run_id == parent
    assert child.status is RunStatus.CANCELED
    assert f"run {child.run_id} CANCELED: stopped by " in err
    assert signum.name in err
    assert (project / "teardown").read_text() == "closed"
    canceled = instance.events_of_run(child.run_id, [EventType.RUN_CANCELED])
    assert len(canceled) == 1
