"""The run monitor: run workers killed for real (kill -9) are found dead, then failed or resumed.

Runs are launched through a real code server (the ``monitor`` fixture project) into a SQLite
instance; steps count their executions in files. Waits have generous limits only to avoid a
hang, never as assertions about speed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import WorkspaceProcesses, start_workspace, workspace_from_target
from knoll.errors import InvalidConfigError
from knoll.execution.events import EventType
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance
from knoll.instance.config import RunMonitoringSettings, parse_settings
from knoll.instance.heartbeats import write_heartbeat
from knoll.instance.launcher import LaunchRequest, RunLauncher
from knoll.instance.monitor import MAX_RUNTIME_TAG, RESUME_ATTEMPT_TAG, monitor_once
from tests.instance.monitor_helpers import executions, launch_and_kill, monitor_until_finished

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

PROJECT = Path(__file__).parent / "projects" / "monitor"
WAIT = 60.0  # seconds: only to avoid a hang
FAST = RunMonitoringSettings(poll_interval_seconds=1.0, heartbeat_timeout_seconds=2.0)


@pytest.fixture
def steps_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "steps"
    folder.mkdir()
    return folder


@pytest.fixture
def server(steps_dir: Path) -> Iterator[WorkspaceProcesses]:
    target = CodeLocationTarget(module_name="monitor_defs", working_directory=str(PROJECT))
    env = {**os.environ, "KNOLL_TEST_MONITOR_DIR": str(steps_dir)}
    with start_workspace(workspace_from_target(target, "monitor"), env=env, timeout=WAIT) as ws:
        yield ws


@pytest.fixture
def client(server: WorkspaceProcesses) -> CodeServerClient:
    return server.client("monitor")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    with Instance.get(tmp_path / "home") as opened:
        yield opened


def test_a_killed_worker_fails_its_run_with_an_event_that_says_it_died(
    instance: Instance, client: CodeServerClient, steps_dir: Path
) -> None:
    run_id = launch_and_kill(instance, client, steps_dir, "chain_job")
    worker_pid = int((steps_dir / "middle.runs").read_text().split()[0])

    final = monitor_until_finished(instance, run_id, FAST, launcher=None)

    assert final.run.status is RunStatus.FAILURE
    last = instance.get_events(run_id).records[-1].event
    assert last.event_type is EventType.RUN_FAILURE
    assert f"its run worker (pid {worker_pid} on" in last.message
    assert "died: its last heartbeat is" in last.message
    assert (executions(steps_dir, "first"), executions(steps_dir, "last")) == (1, 0)


def test_a_killed_worker_is_resumed_and_runs_only_the_steps_that_had_not_succeeded(
    instance: Instance, client: CodeServerClient, steps_dir: Path
) -> None:
    from dataclasses import replace

    run_id = launch_and_kill(instance, client, steps_dir, "chain_job")
    launcher = RunLauncher(instance, client, heartbeat_interval=0.2)

    final = monitor_until_finished(instance, run_id, replace(FAST, max_resume_attempts=1), launcher)

    assert final.run.status is RunStatus.SUCCESS
    assert final.run.tags[RESUME_ATTEMPT_TAG] == "1"
    # first succeeded before the kill and did not run again; middle died and ran again
    assert [executions(steps_dir, n) for n in ("first", "middle", "last")] == [1, 2, 1]
    events = [r.event for r in instance.get_events(run_id).records]
    successes = sorted(e.step_key or "" for e in events if e.event_type is EventType.STEP_SUCCESS)
    assert successes == ["first", "last", "middle"]
    assert [e.event_type for e in events].count(EventType.RUN_START) == 1
    resumed = [e.message for e in events if "resuming it in a new worker" in e.message]
    assert len(resumed) == 1
    assert "attempt 1 of 1" in resumed[0]


def test_a_run_is_failed_once_its_resume_attempts_are_used_up(instance: Instance) -> None:
    run = _started_run(instance, tags={RESUME_ATTEMPT_TAG: "1"})
    write_heartbeat(instance.storage, run.run_id, pid=_dead_pid(), now=time.time() - 60)

    report = monitor_once(instance, settings=RunMonitoringSettings(max_resume_attempts=1))

    assert report.failed == [run.run_id]
    assert instance.get_run(run.run_id).run.status is RunStatus.FAILURE
    last = instance.get_events(run.run_id).records[-1].event
    assert "It was resumed 1 time(s) already" in last.message
    assert f"knoll run reexecute {run.run_id} --from-failure" in last.message


def test_a_stale_heartbeat_of_a_worker_still_alive_on_this_host_is_not_a_death(
    instance: Instance,
) -> None:
    run = _started_run(instance)
    write_heartbeat(instance.storage, run.run_id, pid=os.getpid(), now=time.time() - 600)

    report = monitor_once(instance, settings=FAST)

    assert not report.acted
    assert instance.get_run(run.run_id).run.status is RunStatus.STARTED


def test_a_fresh_heartbeat_keeps_the_run_going(instance: Instance) -> None:
    run = _started_run(instance)
    write_heartbeat(instance.storage, run.run_id, pid=_dead_pid())

    assert not monitor_once(instance, settings=FAST).acted


def test_a_run_starting_past_the_start_timeout_fails(instance: Instance) -> None:
    record = instance.create_run(
        Run(run_id="r-starting", job_name="chain_job", status=RunStatus.STARTING)
    )
    settings = RunMonitoringSettings(start_timeout_seconds=30.0)

    assert not monitor_once(instance, settings=settings).acted
    report = monitor_once(instance, settings=settings, now=record.create_timestamp + 31)

    assert report.failed == ["r-starting"]
    assert instance.get_run("r-starting").run.status is RunStatus.FAILURE
    last = instance.get_events("r-starting").records[-1].event
    assert "did not start within 30s" in last.message


def test_a_run_past_its_max_runtime_tag_is_canceled(
    instance: Instance, client: CodeServerClient, steps_dir: Path
) -> None:
    record = instance.launch_run(
        LaunchRequest(job_name="chain_job", tags={MAX_RUNTIME_TAG: "5"}),
        client,
        heartbeat_interval=0.2,
    )
    run_id = record.run.run_id
    deadline = time.monotonic() + WAIT
    while instance.get_run(run_id).run.status is not RunStatus.STARTED:
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.02)
    started = instance.get_run(run_id).start_time
    assert started is not None

    assert not monitor_once(instance, settings=FAST, now=started + 4).acted
    report = monitor_once(instance, settings=FAST, now=started + 6)

    assert report.canceled == [run_id]
    assert instance.get_run(run_id).run.status is RunStatus.CANCELED


def test_a_disabled_monitor_does_nothing(instance: Instance) -> None:
    instance.create_run(Run(run_id="r-off", job_name="chain_job", status=RunStatus.STARTING))

    report = monitor_once(instance, settings=RunMonitoringSettings(enabled=False), now=1e12)

    assert not report.acted
    assert instance.get_run("r-off").run.status is RunStatus.STARTING


def test_run_monitoring_settings_are_read_from_knoll_yaml(tmp_path: Path) -> None:
    text = "run_monitoring:\n  max_resume_attempts: 2\n  max_runtime_seconds: 3600\n"

    settings = parse_settings(text, tmp_path, tmp_path / "knoll.yaml").run_monitoring

    assert settings == RunMonitoringSettings(max_resume_attempts=2, max_runtime_seconds=3600.0)


def test_bad_run_monitoring_settings_name_the_key(tmp_path: Path) -> None:
    text = "run_monitoring:\n  heartbeat_timeout_seconds: 0\n  max_resume_attempts: -1\n"

    with pytest.raises(InvalidConfigError, match="run_monitoring:heartbeat_timeout_seconds: 0"):
        parse_settings(text, tmp_path, tmp_path / "knoll.yaml")
    with pytest.raises(InvalidConfigError, match="max_resume_attempts: -1 is negative"):
        parse_settings(text, tmp_path, tmp_path / "knoll.yaml")


def _started_run(instance: Instance, tags: dict[str, str] | None = None) -> Run:
    run = Run(
        run_id=f"r-{time.monotonic_ns()}",
        job_name="chain_job",
        status=RunStatus.STARTING,
        tags=tags or {},
    )
    instance.create_run(run)
    return instance.storage.update_run_status(run.run_id, RunStatus.STARTED).run


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
