"""`knoll daemon run` runs the schedules, the sensors, the run queue and run monitoring in one
process, each duty under its lease; `knoll daemon status` and `knoll instance info` say
whether a daemon runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from knoll.daemon import MONITOR_DUTY, QUEUE_DUTY, Daemon, Duty, is_fresh
from knoll.daemon.backfill import BACKFILL_DUTY
from knoll.daemon.schedules import SCHEDULES_DUTY
from knoll.daemon.sensors import SENSORS_DUTY
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import DaemonHeartbeat
from tests.cli.helpers import knoll
from tests.daemon.processes import kill_daemon, start_daemon, wait_for

WAIT = 60.0  # seconds: only to avoid a hang

PROJECT = textwrap.dedent(
    """
    from knoll import Definitions, asset, define_asset_job

    @asset
    def orders() -> int:
        return 1

    defs = Definitions(assets=[orders], jobs=[define_asset_job("orders_job", selection=[orders])])
    """
)

SETTINGS = """run_queue:
  dequeue_interval_seconds: 0.2
run_monitoring:
  poll_interval_seconds: 0.2
daemon:
  lease_seconds: 4
automation:
  enabled: false
"""

DUTIES = (SCHEDULES_DUTY, SENSORS_DUTY, QUEUE_DUTY, BACKFILL_DUTY, MONITOR_DUTY)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "warehouse.py").write_text(PROJECT)
    (tmp_path / ".knoll").mkdir()
    (tmp_path / ".knoll" / "knoll.yaml").write_text(SETTINGS)
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def _start(project: Path) -> subprocess.Popen[str]:
    return start_daemon(project, ["-m", "warehouse"])


def _kill(process: subprocess.Popen[str]) -> tuple[str, str]:
    return kill_daemon(process, WAIT)


def _wait(what: str, ready: Callable[[], bool], *processes: subprocess.Popen[str]) -> None:
    wait_for(what, ready, *processes, wait=WAIT)


def _beats(instance: Instance, process: subprocess.Popen[str]) -> dict[str, DaemonHeartbeat]:
    """The latest heartbeat of each duty of the daemon ``process``."""
    return {
        beat.duty: beat
        for beat in instance.storage.get_daemon_heartbeats()
        if beat.info.get("pid") == str(process.pid)
    }


def _daemon_id(instance: Instance, process: subprocess.Popen[str]) -> str:
    _wait("a heartbeat", lambda: len(_beats(instance, process)) == len(DUTIES), process)
    [daemon_id] = {beat.daemon_id for beat in _beats(instance, process).values()}
    return daemon_id


def _holds_all(instance: Instance, daemon_id: str) -> bool:
    leases = [instance.get_lease(duty) for duty in DUTIES]
    return all(
        lease is not None and lease.owner == daemon_id and lease.is_held() for lease in leases
    )


def _queue_run(project: Path) -> str:
    queued = knoll(
        "run", "launch", "-m", "warehouse", "--job", "orders_job", "--queue", cwd=project
    )
    assert queued.returncode == 0, queued.stderr
    [run_id] = [line.split()[2] for line in queued.stdout.splitlines() if line.startswith("queued")]
    return run_id


def _succeeded(instance: Instance, run_ids: list[str]) -> Callable[[], bool]:
    return lambda: all(instance.get_run(r).run.status is RunStatus.SUCCESS for r in run_ids)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_daemon_runs_the_queue_and_stops_on_a_signal(
    project: Path, instance: Instance, signum: signal.Signals
) -> None:
    daemon = _start(project)
    try:
        daemon_id = _daemon_id(instance, daemon)
        _wait("both leases taken", lambda: _holds_all(instance, daemon_id), daemon)
        queued = knoll(
            "run", "launch", "-m", "warehouse", "--job", "orders_job", "--queue", cwd=project
        )
        assert queued.returncode == 0, queued.stderr
        [run_id] = [
            line.split()[2] for line in queued.stdout.splitlines() if line.startswith("queued")
        ]
        assert (
            f"queued: the daemon {daemon_id} (pid {daemon.pid} on {socket.gethostname()}) will "
            "start it as the run_queue limits of knoll.yaml allow"
        ) in queued.stderr.splitlines()
        _wait("the queued run succeeding", _succeeded(instance, [run_id]), daemon)

        status = knoll("daemon", "status", cwd=project)
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        for duty in DUTIES:
            at = lines.index(f"{duty}:")
            assert lines[at + 1].startswith(f"  lease: held by {daemon_id} until ")
            assert lines[at + 2].startswith(
                f"  daemon {daemon_id} (pid {daemon.pid} on {socket.gethostname()}): running, "
                "holds the lease, "
            )
            assert lines[at + 2].endswith("s ago, last error: none")
        info = knoll("instance", "info", cwd=project)
        assert info.returncode == 0, info.stderr
        [line] = [line for line in info.stdout.splitlines() if line.startswith("daemon:")]
        assert f"running (daemon {daemon_id}, pid {daemon.pid} on " in line

        os.kill(daemon.pid, signum)
        out, err = daemon.communicate(timeout=WAIT)
    finally:
        _kill(daemon)

    assert daemon.returncode == 0, err
    assert f"started run {run_id}" in out
    assert f"knoll daemon {daemon_id} stopped" in err
    assert all(instance.get_lease(duty) is None for duty in DUTIES)  # released
    status = knoll("daemon", "status", cwd=project)
    assert status.returncode == 1
    assert f"  daemon {daemon_id} (pid {daemon.pid} on " in status.stdout
    assert "): stopped, released its lease, " in status.stdout
    assert status.stderr == (
        "error: no daemon is running against this instance (no fresh daemon heartbeat): start "
        "one with `knoll daemon run -m MODULE` (or -f FILE, -w workspace.yaml).\n"
    )
    info = knoll("instance", "info", cwd=project)
    assert "daemon:           not running (start one: knoll daemon run)" in info.stdout


def test_a_second_daemon_waits_and_takes_over_when_the_first_is_killed(
    project: Path, instance: Instance
) -> None:
    first = _start(project)
    second: subprocess.Popen[str] | None = None
    try:
        first_id = _daemon_id(instance, first)
        _wait("the first daemon's leases", lambda: _holds_all(instance, first_id), first)
        second = _start(project)
        second_id = _daemon_id(instance, second)
        assert second_id != first_id

        before = [_queue_run(project) for _ in range(3)]
        _wait("the queued runs succeeding", _succeeded(instance, before), first, second)
        # the second daemon has beaten while the first did the duties: it only waited
        assert _holds_all(instance, first_id)
        waiting = _beats(instance, second)
        assert {duty: beat.info["lease"] for duty, beat in waiting.items()} == dict.fromkeys(
            DUTIES, "waiting"
        )

        first_out, _ = _kill(first)
        _wait("the second daemon taking over", lambda: _holds_all(instance, second_id), second)
        after = _queue_run(project)
        _wait("the run queued after the takeover", _succeeded(instance, [after]), second)
        status = knoll("daemon", "status", cwd=project)
        assert status.returncode == 0, status.stderr
        assert f"  lease: held by {second_id} until " in status.stdout
        assert "): gone (its heartbeat is stale), holds the lease, " in status.stdout

        second.send_signal(signal.SIGINT)
        second_out, err = second.communicate(timeout=WAIT)
        assert second.returncode == 0, err
    finally:
        _kill(first)
        if second is not None:
            _kill(second)

    started = [
        line.split()[2]
        for line in (first_out + second_out).splitlines()
        if line.startswith("started run")
    ]
    assert sorted(started) == sorted([*before, after])  # each run launched exactly once
    assert f"started run {after}" in second_out


def test_a_pass_that_raises_is_recorded_and_the_loop_goes_on(instance: Instance) -> None:
    passes: list[str] = []
    seen: list[tuple[str, ...]] = []  # the errors of the heartbeat before each pass

    def beats() -> list[DaemonHeartbeat]:
        return [b for b in instance.storage.get_daemon_heartbeats() if b.duty == "flaky"]

    def flaky(owner: str) -> None:
        passes.append(owner)
        seen.extend(beat.errors for beat in beats())
        if len(passes) == 1:
            raise RuntimeError("the code server is gone")

    runner = Daemon(instance, [Duty("flaky", 0.05, flaky)], lease_seconds=2)
    runner.start()
    try:
        deadline = time.monotonic() + WAIT
        while len(passes) < 3:
            assert time.monotonic() < deadline, "the loop did not go on after the error"
            time.sleep(0.01)
        lease = instance.get_lease("flaky")
        assert lease is not None
        assert lease.owner == runner.daemon_id
    finally:
        runner.stop.set()
        assert runner.join(WAIT)

    assert set(passes) == {runner.daemon_id}
    # the beat after the first pass carries its error, the one after the second none
    assert seen[:2] == [("RuntimeError: the code server is gone",), ()]
    [last] = beats()
    assert last.info["state"] == "stopped"
    assert not is_fresh(last)
    assert instance.get_lease("flaky") is None


def test_the_same_pass_errors_are_recorded_each_pass_and_logged_once(
    instance: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    from knoll.daemon import PassErrors

    passes: list[int] = []

    def broken(owner: str) -> None:
        passes.append(1)
        raise PassErrors("location 'crm': its code server is not answering")

    runner = Daemon(instance, [Duty("partly", 0.02, broken)], lease_seconds=2)
    with caplog.at_level("ERROR", logger="knoll.daemon"):
        runner.start()
        try:
            deadline = time.monotonic() + WAIT
            while len(passes) < 4:
                assert time.monotonic() < deadline, "the loop did not go on"
                time.sleep(0.01)
        finally:
            runner.stop.set()
            assert runner.join(WAIT)
    logged = [r.getMessage() for r in caplog.records if "partly" in r.getMessage()]
    assert logged == [
        "a pass of partly met errors (it goes on): location 'crm': its code server is not answering"
    ]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback for these


def test_waking_a_duty_starts_its_next_pass_at_once(instance: Instance) -> None:
    import threading

    passes: list[float] = []
    wake = threading.Event()
    runner = Daemon(
        instance, [Duty("sleepy", 3600, lambda owner: passes.append(1), wake=wake)], lease_seconds=2
    )
    runner.start()
    try:
        deadline = time.monotonic() + WAIT
        while not passes:
            assert time.monotonic() < deadline, "no first pass"
            time.sleep(0.01)
        wake.set()  # an hour before its next pass is due
        while len(passes) < 2:
            assert time.monotonic() < deadline, "waking the duty did not start a pass"
            time.sleep(0.01)
        assert not wake.is_set()  # taken by the pass it started
    finally:
        runner.stop.set()
        assert runner.join(WAIT)


def test_a_lease_that_is_not_positive_is_refused(project: Path) -> None:
    (project / ".knoll" / "knoll.yaml").write_text("daemon:\n  lease_seconds: 0\n")

    done = knoll("daemon", "status", cwd=project)

    assert done.returncode == 2
    assert (
        "at path daemon:lease_seconds: 0.0 is not a positive number of seconds. Give, for "
        "example, 30" in done.stderr
    )
