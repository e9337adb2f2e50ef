"""A run launcher over a workspace: each run goes to the code server of its location.

The workspace holds four real code servers: ``sales`` and ``launch`` (each with jobs the other
lacks, so a run started through the wrong server fails), ``monitor`` (for a resume) and
``broken`` (its code fails to import). Runs go into a SQLite instance per test. Waits have
generous limits only to avoid a hang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.workspace import WorkspaceProcesses, load_workspace, start_workspace
from knoll.errors import InvalidInvocationError, WorkspaceError
from knoll.execution.events import EventType
from knoll.execution.run import Run, RunStatus, new_run_id
from knoll.instance import Instance
from knoll.instance.config import RunMonitoringSettings
from knoll.instance.heartbeats import write_heartbeat
from knoll.instance.launcher import LOCATION_TAG, LaunchRequest, RunLauncher
from knoll.instance.monitor import monitor_once
from knoll.instance.queue import dequeue
from knoll.storage.base import RunRecord

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

TESTS = Path(__file__).parents[1]
WAIT = 60.0  # seconds: only to avoid a hang
WORKSPACE = f"""
load_from:
  - python_module:
      module_name: sales_defs
      working_directory: {TESTS}/codeloc/projects/two_locations/sales
      location_name: sales
  - python_module:
      module_name: launch_defs
      working_directory: {TESTS}/codeloc/projects/launch
      location_name: launch
  - python_module:
      module_name: monitor_defs
      working_directory: {TESTS}/instance/projects/monitor
      location_name: monitor
  - python_file:
      relative_path: {TESTS}/codeloc/projects/two_locations/broken/broken_defs.py
      location_name: broken
"""
LOCATIONS = "sales, launch, monitor, broken"


@pytest.fixture(scope="module")
def steps_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("steps")


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, steps_dir: Path
) -> Iterator[WorkspaceProcesses]:
    folder = tmp_path_factory.mktemp("workspace")
    (folder / "workspace.yaml").write_text(WORKSPACE)
    env = {**os.environ, "KNOLL_TEST_MONITOR_DIR": str(steps_dir)}
    workspace = load_workspace(folder / "workspace.yaml")
    with start_workspace(workspace, env=env, timeout=WAIT) as processes:
        yield processes


@pytest.fixture
def clients(servers: WorkspaceProcesses) -> dict[str, CodeServerClient]:
    return {name: servers.client(name) for name in servers}


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    with Instance.get(tmp_path / "home") as opened:
        yield opened


def wait_finished(instance: Instance, run_id: str) -> RunRecord:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        record = instance.get_run(run_id)
        if record.run.is_finished:
            return record
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish within {WAIT}s")


def failure_message(instance: Instance, run_id: str) -> str:
    events = [r.event for r in instance.get_events(run_id).records]
    failures = [e.message for e in events if e.event_type is EventType.RUN_FAILURE]
    assert len(failures) == 1, events
    return failures[0]


def queue(instance: Instance, job_name: str, **tags: str) -> str:
    """Submit a QUEUED run directly (as an older knoll, or a script, would)."""
    run = Run(run_id=new_run_id(), job_name=job_name, tags=tags)
    return instance.submit_run(run).run.run_id


# ---- the queue -----------------------------------------------------------------------------


def test_queued_runs_start_through_the_code_server_of_their_location(
    instance: Instance, clients: dict[str, CodeServerClient]
) -> None:
    launcher = RunLauncher(instance, clients)
    sales = launcher.launch_run(LaunchRequest(job_name="sales_job"), queue=True, location="sales")
    quick = launcher.launch_run(LaunchRequest(job_name="quick_job"), queue=True, location="launch")
    assert sales.run.tags[LOCATION_TAG] == "sales"
    assert quick.run.tags[LOCATION_TAG] == "launch"

    started = dequeue(instance, launcher.launch_queued_run, accept=launcher.serves)

    assert started == [sales.run.run_id, quick.run.run_id]
    # each job exists in one location only: a run sent to the other server would fail
    for record in (sales, quick):
        assert wait_finished(instance, record.run.run_id).run.status is RunStatus.SUCCESS


def test_a_new_run_needs_its_location_when_the_launcher_has_several(
    instance: Instance, clients: dict[str, CodeServerClient]
) -> None:
    launcher = RunLauncher(instance, clients)

    with pytest.raises(InvalidInvocationError) as several:
        launcher.launch_run(LaunchRequest(job_name="sales_job"))
    with pytest.raises(WorkspaceError) as unknown:
        instance.launch_run(LaunchRequest(job_name="sales_job"), clients, location="sale")

    assert str(several.value) == (
        f"cannot launch job 'sales_job': this run launcher serves several code locations "
        f"({LOCATIONS}), so a new run needs the one that defines it: pass location='NAME' "
        "(`knoll run launch -w FILE --location NAME`)."
    )
    assert str(unknown.value) == (
        "cannot launch job 'sales_job': this run launcher has no code location 'sale'. Did "
        f"you mean 'sales'? Its locations: {LOCATIONS}."
    )
    assert instance.count_runs() == 0


def test_a_run_of_a_location_the_workspace_lacks_fails_without_holding_up_the_queue(
    instance: Instance, clients: dict[str, CodeServerClient]
) -> None:
    launcher = RunLauncher(instance, clients)
    lost = queue(instance, "marketing_job", **{LOCATION_TAG: "marketing"})
    sales = queue(instance, "sales_job", **{LOCATION_TAG: "sales"})

    started = dequeue(instance, launcher.launch_queued_run, accept=launcher.serves)

    assert started == [sales]
    assert instance.get_run(lost).run.status is RunStatus.FAILURE
    assert failure_message(instance, lost) == (
        f"run {lost} belongs to code location 'marketing' (its knoll/location tag), which is "
        f"not one of the locations served here: {LOCATIONS}. Start the queue worker (or the "
        "run monitor) with a workspace that has location 'marketing', for example `knoll run "
        "queue-worker -w workspace.yaml`, then launch the run again."
    )
    assert wait_finished(instance, sales).run.status is RunStatus.SUCCESS
    # failed once and for all: the next pass has nothing to do
    assert dequeue(instance, launcher.launch_queued_run, accept=launcher.serves) == []


def test_a_run_without_a_location_tag_goes_to_the_only_location_or_fails(
    instance: Instance, clients: dict[str, CodeServerClient]
) -> None:
    several = RunLauncher(instance, clients)
    untagged = queue(instance, "sales_job")
    assert dequeue(instance, several.launch_queued_run, accept=several.serves) == []
    assert failure_message(instance, untagged) == (
        f"run {untagged} has no knoll/location tag, so it is not known which of the code "
        f"locations {LOCATIONS} it belongs to. Launch runs with `knoll run launch -w FILE "
        "--location NAME` (which tags them), or give the tag knoll/location=NAME to a run you "
        "submit yourself."
    )

    only_sales = RunLauncher(instance, {"sales": clients["sales"]})
    older = queue(instance, "sales_job")
    assert dequeue(instance, only_sales.launch_queued_run, accept=only_sales.serves) == [older]
    assert wait_finished(instance, older).run.status is RunStatus.SUCCESS


def test_runs_of_a_location_whose_code_did_not_load_fail_with_its_error(
    instance: Instance, clients: dict[str, CodeServerClient]
) -> None:
    launcher = RunLauncher(instance, clients)
    broken = queue(instance, "__asset_job", **{LOCATION_TAG: "broken"})
    sales = queue(instance, "sales_job", **{LOCATION_TAG: "sales"})

    started = dequeue(instance, launcher.launch_queued_run, accept=launcher.serves)

    assert started == [sales]
    message = failure_message(instance, broken)
    assert message.startswith(f"run {broken} could not be started: code server for location ")
    assert "refused POST /runs (HTTP 409): code location 'broken'" in message
    assert "KeyError: 'usd'" in message
    assert f"so it cannot start run {broken}: fix the code and reload the location" in message
    assert instance.get_run(broken).run.status is RunStatus.FAILURE
    assert wait_finished(instance, sales).run.status is RunStatus.SUCCESS


def test_a_launcher_that_leaves_other_locations_leaves_their_runs_queued(
    instance: Instance, clients: dict[str, CodeServerClient]
) -> None:
    launcher = RunLauncher(instance, {"sales": clients["sales"]}, leave_other_locations=True)
    other = queue(instance, "quick_job", **{LOCATION_TAG: "launch"})
    sales = queue(instance, "sales_job", **{LOCATION_TAG: "sales"})

    started = dequeue(instance, launcher.launch_queued_run, accept=launcher.serves)

    assert started == [sales]
    assert instance.get_run(other).run.status is RunStatus.QUEUED
    assert instance.get_events(other).records == []
    assert wait_finished(instance, sales).run.status is RunStatus.SUCCESS
    # the queue worker of the other location starts it
    theirs = RunLauncher(instance, {"launch": clients["launch"]}, leave_other_locations=True)
    assert dequeue(instance, theirs.launch_queued_run, accept=theirs.serves) == [other]
    assert wait_finished(instance, other).run.status is RunStatus.SUCCESS


def test_an_empty_mapping_of_locations_is_refused(instance: Instance) -> None:
    with pytest.raises(InvalidInvocationError, match=r"the mapping of code locations is empty"):
        RunLauncher(instance, {})


# ---- the monitor ---------------------------------------------------------------------------


def test_the_monitor_resumes_a_run_through_the_code_server_of_its_location(
    instance: Instance, clients: dict[str, CodeServerClient], steps_dir: Path
) -> None:
    launcher = RunLauncher(instance, clients, heartbeat_interval=0.2)
    record = launcher.launch_run(LaunchRequest(job_name="chain_job"), location="monitor")
    run_id = record.run.run_id
    marker = steps_dir / "middle.runs"
    deadline = time.monotonic() + WAIT
    while not marker.exists() or not marker.read_text().strip():
        assert time.monotonic() < deadline, "the middle step did not start"
        time.sleep(0.02)
    os.kill(int(marker.read_text().split()[0]), signal.SIGKILL)
    settings = RunMonitoringSettings(
        poll_interval_seconds=0.5, heartbeat_timeout_seconds=2.0, max_resume_attempts=1
    )

    deadline = time.monotonic() + WAIT
    while not instance.get_run(run_id).run.is_finished:
        assert time.monotonic() < deadline, "the run did not finish"
        monitor_once(instance, settings=settings, launcher=launcher)
        time.sleep(settings.poll_interval_seconds)

    # chain_job exists only in location 'monitor': the resume went to its server
    assert instance.get_run(run_id).run.status is RunStatus.SUCCESS
    assert len(marker.read_text().split()) == 2  # killed once, then resumed


def test_the_monitor_fails_a_dead_run_of_a_location_it_cannot_reach_or_leaves_it(
    instance: Instance, clients: dict[str, CodeServerClient]
) -> None:
    settings = RunMonitoringSettings(max_resume_attempts=1)
    lost = _dead_run(instance, "marketing")
    other = _dead_run(instance, "launch")
    only_sales = RunLauncher(instance, {"sales": clients["sales"]}, leave_other_locations=True)

    left = monitor_once(instance, settings=settings, launcher=only_sales)

    assert not left.acted  # both belong to locations another monitor serves
    assert instance.get_run(lost).run.status is RunStatus.STARTED

    report = monitor_once(instance, settings=settings, launcher=RunLauncher(instance, clients))

    assert report.failed == [lost]
    message = failure_message(instance, lost)
    assert message.startswith(f"run {lost}: its run worker (pid ")
    assert (
        f"and it cannot be resumed here: run {lost} belongs to code location 'marketing'"
    ) in message
    assert report.resumed == [other]  # through the server of 'launch', which has quick_job
    assert wait_finished(instance, other).run.status is RunStatus.SUCCESS


def _dead_run(instance: Instance, location: str) -> str:
    run = Run(
        run_id=new_run_id(),
        job_name="quick_job",
        status=RunStatus.STARTING,
        tags={LOCATION_TAG: location},
    )
    instance.create_run(run)
    instance.storage.update_run_status(run.run_id, RunStatus.STARTED)
    write_heartbeat(instance.storage, run.run_id, pid=_dead_pid(), now=time.time() - 600)
    return run.run_id


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
