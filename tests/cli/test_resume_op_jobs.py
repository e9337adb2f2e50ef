"""Resuming a run of an op job whose worker was killed (kill -9): the resume worker runs only the
steps without a success event and loads the other outputs from the same run.

The run is launched through a real code server into a SQLite instance; steps count their
executions in files. Waits have generous limits only to avoid a hang.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from knoll import Definitions, FilesystemIOManager, job, op
from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.run_worker import steps_left
from knoll.codeloc.workspace import WorkspaceProcesses
from knoll.execution.events import EventType
from knoll.execution.reexecution import ReexecutionOptions, execute_job
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.instance.config import RunMonitoringSettings
from knoll.instance.launcher import RunLauncher
from knoll.instance.monitor import RESUME_ATTEMPT_TAG
from tests.instance.monitor_helpers import (
    executions,
    launch_and_kill,
    monitor_until_finished,
    serve_project,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

WAIT = 60.0  # seconds: only to avoid a hang
FAST = RunMonitoringSettings(poll_interval_seconds=1.0, heartbeat_timeout_seconds=2.0)

# first fans out to side and middle, which last fans in; middle sleeps far longer than any test
# the first time it runs (the test kills its worker then), side has succeeded by then
PROJECT = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from knoll import Definitions, job, op


    def _record(name: str) -> int:
        path = Path(os.environ["KNOLL_TEST_RESUME_DIR"]) / f"{name}.runs"
        before = len(path.read_text().split()) if path.exists() else 0
        with path.open("a") as runs:
            runs.write(f"{os.getpid()}\\n")
        return before


    @op
    def first() -> int:
        _record("first")
        return 1


    @op
    def side(first: int) -> int:
        _record("side")
        return first + 10


    @op
    def middle(first: int) -> int:
        if _record("middle") == 0:
            time.sleep(300)
        return first + 1


    @op
    def last(values: list[int]) -> None:
        _record("last")
        folder = Path(os.environ["KNOLL_TEST_RESUME_DIR"])
        (folder / "last.value").write_text(str(sum(values)))


    @job
    def fan_job() -> None:
        value = first()
        done = side(value)
        last([middle(value), done])


    defs = Definitions(jobs=[fan_job])
    """
)


@pytest.fixture
def steps_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "steps"
    folder.mkdir()
    return folder


@pytest.fixture
def server(tmp_path: Path, steps_dir: Path) -> Iterator[WorkspaceProcesses]:
    with serve_project(tmp_path, steps_dir, PROJECT, "fan_defs", "fan", WAIT) as ws:
        yield ws


@pytest.fixture
def client(server: WorkspaceProcesses) -> CodeServerClient:
    return server.client("fan")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    with Instance.get(tmp_path / "home") as opened:
        yield opened


def test_a_killed_op_job_run_resumes_and_loads_the_outputs_its_first_worker_stored(
    instance: Instance, client: CodeServerClient, steps_dir: Path
) -> None:
    run_id = launch_and_kill(instance, client, steps_dir, "fan_job")
    launcher = RunLauncher(instance, client, heartbeat_interval=0.2)

    final = monitor_until_finished(instance, run_id, replace(FAST, max_resume_attempts=1), launcher)

    assert final.run.status is RunStatus.SUCCESS
    assert final.run.tags[RESUME_ATTEMPT_TAG] == "1"
    # first and side succeeded before the kill and did not run again; middle ran again
    runs = [executions(steps_dir, n) for n in ("first", "side", "middle", "last")]
    assert runs == [1, 1, 2, 1]
    assert (steps_dir / "last.value").read_text() == "13"  # [middle 2, side 11]
    events = [r.event for r in instance.get_events(run_id).records]
    successes = sorted(e.step_key or "" for e in events if e.event_type is EventType.STEP_SUCCESS)
    assert successes == ["first", "last", "middle", "side"]
    assert [e.event_type for e in events].count(EventType.RUN_START) == 1
    # the resume loaded first's output (for middle) and side's (for last), which the killed
    # worker had stored: the loads of the killed worker itself may not have been written
    resumed = next(i for i, e in enumerate(events) if "resuming it in a new worker" in e.message)
    loads = [e.step_key for e in events[resumed:] if e.event_type is EventType.LOADED_INPUT]
    assert loads == ["middle", "last", "last"]


def test_a_resumed_reexecution_runs_only_its_own_steps_and_loads_the_rest_from_its_lineage(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken"
    broken.touch()

    @op
    def fetch() -> int:
        return 1

    @op
    def load(fetch: int) -> int:
        if broken.exists():
            raise RuntimeError("the warehouse is busy")
        return fetch + 1

    @op
    def report(load: int) -> int:
        return load * 2

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))})
    def chain() -> None:
        report(load(fetch()))

    defs = Definitions(jobs=[chain])
    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(chain, instance)
        options = ReexecutionOptions.from_failure(parent.run_id, instance)
        child = execute_job(chain, instance, reexecution_options=options)
        assert child.failed_step_keys == ["load"]

        # as if child's worker had died now: its own steps that did not succeed run again,
        # and fetch, which it did not run, is read from its parent
        selection, step_keys, reused = steps_left(defs, child.run, instance)

    assert (selection, step_keys) == (None, ["load", "report"])
    assert reused == {("fetch", "result"): parent.run_id}
