"""Cancelling runs: queued ones at once, running ones by stopping their worker for real."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.errors import RunStatusError, StorageError
from knoll.execution.events import EventType
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance
from knoll.instance.launcher import LaunchRequest
from tests.codeloc.test_run_launch import (  # the same real code server and instance
    WAIT,
    client,
    event_types,
    import_log,
    instance,
    quick_request,
    server,
    wait_finished,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")
__all__ = ["client", "import_log", "instance", "server"]  # fixtures used by name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_slow_run(instance: Instance, client: CodeServerClient, marker: Path) -> tuple[str, int]:
    record = instance.launch_run(LaunchRequest(job_name="slow_job"), client, heartbeat_interval=0.2)
    deadline = time.monotonic() + WAIT
    while not marker.exists():
        assert time.monotonic() < deadline, "the slow step did not start"
        time.sleep(0.02)
    return record.run.run_id, int(marker.read_text())


def test_cancel_stops_a_running_step_and_ends_the_run_canceled(
    instance: Instance, client: CodeServerClient, tmp_path: Path
) -> None:
    run_id, worker_pid = _start_slow_run(instance, client, tmp_path / "slow.pid")
    # a pool slot held by the running step is freed by the cancel
    assert instance.storage.claim_slot("warehouse", run_id, "slow", 600.0)

    final = instance.cancel_run(run_id, grace_seconds=WAIT)

    assert final.run.status is RunStatus.CANCELED
    assert not _alive(worker_pid)
    types = event_types(instance, run_id)
    assert EventType.RUN_CANCELED in types
    assert EventType.STEP_SUCCESS not in types
    assert EventType.RUN_SUCCESS not in types
    assert instance.storage.get_pool_slots("warehouse") == []
    # the worker said so itself: the canceller did not have to
    canceled = [r.event for r in instance.get_events(run_id).records][-1]
    assert canceled.event_type is EventType.RUN_CANCELED
    assert "worker did not record" not in canceled.message


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(
    instance: Instance, client: CodeServerClient, tmp_path: Path
) -> None:
    import signal

    run_id, worker_pid = _start_slow_run(instance, client, tmp_path / "slow.pid")
    # stand in for a worker stuck in C code: stop it, so SIGTERM cannot be handled
    os.kill(worker_pid, signal.SIGSTOP)

    final = instance.cancel_run(run_id, grace_seconds=0.5)

    assert final.run.status is RunStatus.CANCELED
    assert not _alive(worker_pid)
    last = [r.event for r in instance.get_events(run_id).records][-1]
    assert last.event_type is EventType.RUN_CANCELED
    assert "its worker did not record the cancellation" in last.message


def test_cancel_of_a_queued_run_cancels_it_at_once(
    instance: Instance, client: CodeServerClient
) -> None:
    record = instance.launch_run(quick_request(), client, queue=True)

    final = instance.cancel_run(record.run.run_id)

    assert final.run.status is RunStatus.CANCELED
    assert event_types(instance, record.run.run_id) == [EventType.RUN_CANCELED]


def test_a_worker_started_after_its_run_was_canceled_runs_nothing(
    instance: Instance, client: CodeServerClient
) -> None:
    record = instance.launch_run(quick_request(), client, queue=True)
    run_id = record.run.run_id
    instance.storage.claim_queued_run(run_id)  # STARTING, as a dequeuer leaves it
    instance.cancel_run(run_id)  # no worker yet: canceled by the canceller

    worker_pid = client.start_run(run_id, str(instance.home), 0.2)

    deadline = time.monotonic() + WAIT
    while _alive(worker_pid):  # the worker looks at the run and exits
        assert time.monotonic() < deadline, "the worker did not exit"
        time.sleep(0.02)
    assert instance.get_run(run_id).run.status is RunStatus.CANCELED
    assert EventType.RUN_START not in event_types(instance, run_id)


def test_cancel_of_a_finished_run_says_there_is_nothing_to_cancel(
    instance: Instance, client: CodeServerClient
) -> None:
    record = instance.launch_run(quick_request(), client)
    wait_finished(instance, record.run.run_id)

    with pytest.raises(RunStatusError, match=r"has already finished \(SUCCESS\).*knoll run show"):
        instance.cancel_run(record.run.run_id)


def test_cancel_of_an_unknown_run_names_it(tmp_path: Path) -> None:
    with Instance.get(tmp_path / "home") as fresh:
        fresh.create_run(Run("0123abcd-0000-4000-8000-000000000000", "job"))
        with pytest.raises(StorageError, match="no run 'nope'"):
            fresh.cancel_run("nope")
