"""Resuming a run of a job with dynamic outputs whose worker was killed (kill -9) while one of
its mapped steps ran: the resume worker runs the mapped steps without a success event and the
collect, with the mapping keys the dynamic step yielded before the kill.

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

from knoll import Definitions, DynamicOut, DynamicOutput, FilesystemIOManager, job, op
from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.run_worker import steps_left
from knoll.codeloc.workspace import WorkspaceProcesses
from knoll.execution.events import EventType
from knoll.execution.reexecution import ReexecutionOptions, execute_job
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.instance.launcher import RunLauncher
from tests.cli.test_resume_op_jobs import FAST, WAIT
from tests.instance.monitor_helpers import (
    executions,
    launch_and_kill,
    monitor_until_finished,
    serve_project,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

# middle runs once per region; for "south" it sleeps far longer than any test the first time
# (the test kills its worker then), after "north" has succeeded
PROJECT = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from knoll import Definitions, DynamicOut, DynamicOutput, job, op


    def _record(name: str) -> int:
        path = Path(os.environ["KNOLL_TEST_RESUME_DIR"]) / f"{name}.runs"
        before = len(path.read_text().split()) if path.exists() else 0
        with path.open("a") as runs:
            runs.write(f"{os.getpid()}\\n")
        return before


    @op(out=DynamicOut())
    def regions():
        _record("regions")
        for name in ["north", "south", "east"]:
            yield DynamicOutput(name, mapping_key=name)


    @op
    def middle(region: str) -> str:
        if region != "south":
            _record(f"middle_{region}")
        elif _record("middle") == 0:
            time.sleep(300)
        return region.upper()


    @op
    def last(values: list[str]) -> None:
        _record("last")
        folder = Path(os.environ["KNOLL_TEST_RESUME_DIR"])
        (folder / "last.value").write_text(",".join(values))


    @job
    def regional() -> None:
        last(regions().map(middle).collect())


    defs = Definitions(jobs=[regional])
    """
)


@pytest.fixture
def steps_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "steps"
    folder.mkdir()
    return folder


@pytest.fixture
def server(tmp_path: Path, steps_dir: Path) -> Iterator[WorkspaceProcesses]:
    with serve_project(tmp_path, steps_dir, PROJECT, "dyn_defs", "dyn", WAIT) as ws:
        yield ws


def test_a_killed_dynamic_run_resumes_with_the_mapping_keys_it_had(
    tmp_path: Path, server: WorkspaceProcesses, steps_dir: Path
) -> None:
    client: CodeServerClient = server.client("dyn")
    with Instance.get(tmp_path / "home") as instance:
        run_id = launch_and_kill(instance, client, steps_dir, "regional")
        launcher = RunLauncher(instance, client, heartbeat_interval=0.2)
        settings = replace(FAST, max_resume_attempts=1)
        final = monitor_until_finished(instance, run_id, settings, launcher)
        events = [r.event for r in instance.get_events(run_id).records]

    assert final.run.status is RunStatus.SUCCESS
    # the dynamic step and middle[north] succeeded before the kill and did not run again
    names = ("regions", "middle_north", "middle", "middle_east", "last")
    assert [executions(steps_dir, n) for n in names] == [1, 1, 2, 1, 1]
    assert (steps_dir / "last.value").read_text() == "NORTH,SOUTH,EAST"
    resumed = next(i for i, e in enumerate(events) if "resuming it in a new worker" in e.message)
    starts = [e.step_key for e in events[resumed:] if e.event_type is EventType.STEP_START]
    assert starts == ["middle[south]", "middle[east]", "last"]


def test_a_resumed_reexecution_of_one_key_finds_the_other_keys_in_its_lineage(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken"
    broken.touch()

    @op(out=DynamicOut())
    def regions() -> Iterator[DynamicOutput[str]]:
        for name in ["north", "south", "east"]:
            yield DynamicOutput(name, mapping_key=name)

    @op
    def middle(region: str) -> str:
        if region == "south" and broken.exists():
            raise RuntimeError("south is down")
        return region.upper()

    @op
    def last(values: list[str]) -> str:
        return ",".join(values)

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))})
    def regional() -> None:
        last(regions().map(middle).collect())

    defs = Definitions(jobs=[regional])
    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(regional, instance)
        options = ReexecutionOptions.from_failure(parent.run_id, instance)
        child = execute_job(regional, instance, reexecution_options=options)
        assert child.failed_step_keys == ["middle[south]"]

        # as if child's worker had died now: its own steps that did not succeed run again,
        # and what it did not run is read from its parent
        selection, step_keys, reused = steps_left(defs, child.run, instance)

    assert (selection, step_keys) == (None, ["middle[south]", "last"])
    assert reused == {
        ("regions", "result[south]"): parent.run_id,
        ("middle[north]", "result"): parent.run_id,
        ("middle[east]", "result"): parent.run_id,
    }
