"""``knoll daemon run`` and ``knoll daemon status``: the instance's duties in one process, each
duty in a loop of its own under its lease (see ``knoll.daemon``)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Mapping
from types import FrameType
from typing import TYPE_CHECKING

import click

from knoll.cli._common import fail, open_instance
from knoll.cli._servers import ServerChoice, server_options

if TYPE_CHECKING:
    from knoll.codeloc.client import CodeServerClient
    from knoll.daemon import Duty
    from knoll.daemon.clock import Clock
    from knoll.instance import Instance
    from knoll.instance.launcher import RunLauncher
    from knoll.storage.base import DaemonHeartbeat

_JOIN_SECONDS = 0.2
_EXIT_NOT_RUNNING = 1


@click.group()
def daemon() -> None:
    """Run the instance's duties in one long-running process: schedules, sensors, declarative
    automation, the run queue, backfills, run monitoring, and when knoll.yaml turns them on,
    run retries, retention and freshness."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the daemon as Ctrl-C does


@daemon.command("run")
@server_options(
    workspace_help="A workspace.yaml: a code server per location, each queued run to its own.",
    location_help="Serve only this location of --workspace; other locations' runs are left alone.",
)
@click.option("--clock-start", type=float, hidden=True, help="Simulated time to start from.")
@click.option("--clock-speed", type=float, default=1.0, hidden=True, help="Simulated speed.")
def daemon_run(servers: ServerChoice, clock_start: float | None, clock_speed: float) -> None:
    """Run the schedules, the sensors, automation (the automation conditions of every
    location, evaluated in its code server), the run queue (as `knoll run queue-worker`
    does), backfills and run monitoring (as `knoll run monitor` does) until Ctrl-C or
    SIGTERM, each in its own loop under its lease in storage: a second daemon against the
    same instance waits for the leases, and takes a duty over within daemon:lease_seconds of
    knoll.yaml once its holder is gone."""
    from knoll.cli._servers import code_servers
    from knoll.daemon import Daemon
    from knoll.daemon.clock import FastClock, SystemClock
    from knoll.instance.launcher import RunLauncher

    instance = open_instance()
    clock: Clock = SystemClock()
    if clock_start is not None or clock_speed != 1.0:
        if not clock_speed > 0:
            fail(f"--clock-speed {clock_speed:g} must be a positive number, for example 60.")
        clock = FastClock(time.time() if clock_start is None else clock_start, clock_speed)
    with contextlib.ExitStack() as stack:
        started = code_servers(stack, servers, every_location=True)
        launcher = RunLauncher(
            instance, started.clients, leave_other_locations=not started.whole_workspace
        )
        lock = threading.Lock()  # the code servers' clients serve one loop at a time
        queue_wake = threading.Event()  # set when a tick queued runs: the queue starts them
        duties = _instigation_duties(instance, started.clients, clock, queue_wake)
        duties += _duties(instance, launcher, lock, queue_wake)
        runner = Daemon(instance, duties, lease_seconds=instance.settings.daemon.lease_seconds)
        signal.signal(signal.SIGTERM, _stop)
        names = ", ".join(f"{duty.name} every {duty.interval:g}s" for duty in duties)
        click.echo(f"knoll daemon {runner.daemon_id} running ({names}); Ctrl-C to stop", err=True)
        runner.start()
        try:
            while not runner.join(_JOIN_SECONDS):
                pass
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits for the loops
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            runner.stop.set()
            runner.join()
        click.echo(f"knoll daemon {runner.daemon_id} stopped", err=True)


def _instigation_duties(
    instance: Instance,
    clients: Mapping[str, CodeServerClient],
    clock: Clock,
    queue_wake: threading.Event,
) -> list[Duty]:
    """The schedules and sensors duties: they ask the code servers to evaluate, and store
    the runs they request in the run queue."""
    from knoll.daemon import Duty
    from knoll.daemon.schedules import SCHEDULES_DUTY, ScheduleDuty
    from knoll.daemon.sensors import SENSORS_DUTY, SensorDuty
    from knoll.instance.launcher import instance_home

    settings = instance.settings.instigation
    home = instance_home(instance)
    schedules = ScheduleDuty(
        instance,
        clients,
        home,
        max_catchup_runs=settings.max_catchup_runs,
        clock=clock,
        on_runs=queue_wake.set,
    )
    sensors = SensorDuty(instance, clients, home, clock=clock, on_runs=queue_wake.set)
    return [
        Duty(SCHEDULES_DUTY, settings.schedule_interval_seconds, schedules.one_pass),
        Duty(SENSORS_DUTY, settings.sensor_interval_seconds, sensors.one_pass),
    ]


def _duties(
    instance: Instance, launcher: RunLauncher, lock: threading.Lock, queue_wake: threading.Event
) -> list[Duty]:
    from knoll.cli.run_monitor import monitor_pass, queue_pass
    from knoll.daemon import MONITOR_DUTY, QUEUE_DUTY, Duty

    settings = instance.settings
    lease_seconds = settings.daemon.lease_seconds

    def locked(one_pass: Callable[[str], None]) -> Callable[[str], None]:
        def run_locked(owner: str) -> None:
            with lock:
                one_pass(owner)

        return run_locked

    duties = [
        Duty(
            QUEUE_DUTY,
            settings.run_queue.dequeue_interval_seconds,
            locked(
                lambda owner: queue_pass(
                    instance, launcher, owner=owner, lease_seconds=lease_seconds
                )
            ),
            wake=queue_wake,
        )
    ]
    duties.append(_backfill_duty(instance, launcher, lock))
    if settings.run_monitoring.enabled:
        duties.append(
            Duty(
                MONITOR_DUTY,
                settings.run_monitoring.poll_interval_seconds,
                locked(lambda owner: monitor_pass(instance, launcher)),
            )
        )
    else:
        click.echo(
            f"run monitoring is disabled in {settings.source} (run_monitoring:enabled): the "
            "daemon does not watch runs",
            err=True,
        )
    duties.extend(_automation_duties(instance, launcher, locked))
    duties.extend(_housekeeping_duties(instance, launcher, locked))
    return duties


def _housekeeping_duties(
    instance: Instance,
    launcher: RunLauncher,
    locked: Callable[[Callable[[str], None]], Callable[[str], None]],
) -> list[Duty]:
    """Run retries (``run_retries:enabled``), retention (``retention:interval_seconds``) and
    freshness (``freshness:enabled``)."""
    from knoll.cli.daemon_duties import freshness_pass_echo, retention_pass_echo, retry_pass_echo
    from knoll.daemon import Duty
    from knoll.daemon.freshness import FRESHNESS_DUTY
    from knoll.daemon.retention import RETENTION_DUTY
    from knoll.daemon.retries import RETRY_DUTY

    settings = instance.settings
    duties: list[Duty] = []
    if settings.run_retries.enabled:
        interval = settings.run_queue.dequeue_interval_seconds
        duties.append(
            Duty(RETRY_DUTY, interval, locked(lambda owner: retry_pass_echo(instance, launcher)))
        )
    every = settings.retention_duty.interval_seconds
    if every is not None:
        duties.append(Duty(RETENTION_DUTY, every, lambda owner: retention_pass_echo(instance)))
    if settings.freshness.enabled:
        duties.append(
            Duty(
                FRESHNESS_DUTY,
                settings.freshness.interval_seconds,
                locked(lambda owner: freshness_pass_echo(instance, launcher)),
            )
        )
    return duties


def _backfill_duty(instance: Instance, launcher: RunLauncher, lock: threading.Lock) -> Duty:
    """The ``backfills`` duty: it submits the runs of backfills to the run queue, asking a
    code server (under ``lock``) only for runs whose config depends on their partition."""
    from knoll.daemon import Duty
    from knoll.daemon.backfill import BACKFILL_DUTY, BackfillSubmitter
    from knoll.execution.run import Run
    from knoll.instance.launcher import LOCATION_TAG, LaunchRequest

    lease_seconds = instance.settings.daemon.lease_seconds
    home = None if instance.home is None else str(instance.home)

    def build(request: LaunchRequest, location: str) -> Run:
        with lock:
            client = launcher.client_for(Run("", "", tags={LOCATION_TAG: location}))
            return client.build_run(request, home)

    submitter = BackfillSubmitter(instance, build)

    def one_pass(owner: str) -> None:
        submitter.one_pass(
            keep=lambda: instance.storage.renew_lease(BACKFILL_DUTY, owner, lease_seconds)
        )

    return Duty(BACKFILL_DUTY, instance.settings.backfills.interval_seconds, one_pass)


def _automation_duties(
    instance: Instance,
    launcher: RunLauncher,
    locked: Callable[[Callable[[str], None]], Callable[[str], None]],
) -> list[Duty]:
    """The ``automation`` duty, unless automation:enabled is false in knoll.yaml."""
    from typing import cast

    from knoll.daemon import Duty
    from knoll.daemon.automation import AUTOMATION_DUTY, AutomationClient, automation_pass
    from knoll.daemon.clock import SystemClock

    settings = instance.settings.automation
    if not settings.enabled:
        click.echo(
            f"automation is disabled in {instance.settings.source} (automation:enabled): the "
            "daemon does not evaluate automation conditions",
            err=True,
        )
        return []
    # the launcher's clients are the code servers' (CodeServerClient), which also tick
    clients = cast("dict[str, AutomationClient]", launcher.clients)
    clock = SystemClock()

    def one_pass(owner: str) -> None:
        report = automation_pass(
            instance, clients, clock, interval_seconds=settings.interval_seconds
        )
        for location, run_ids in report.queued.items():
            for run_id in run_ids:
                click.echo(f"automation of {location} queued run {run_id}")

    return [Duty(AUTOMATION_DUTY, settings.interval_seconds, locked(one_pass))]


@daemon.command("status")
def daemon_status() -> None:
    """Print each duty's lease holder and the latest heartbeat of each daemon that runs it
    (daemon id, pid, host, age, last error). Exits 1 when no daemon's heartbeat is fresh."""
    from knoll.daemon import MONITOR_DUTY, QUEUE_DUTY, is_fresh
    from knoll.daemon.backfill import BACKFILL_DUTY
    from knoll.daemon.schedules import SCHEDULES_DUTY
    from knoll.daemon.sensors import SENSORS_DUTY

    instance = open_instance()
    now = time.time()
    beats = list(instance.storage.get_daemon_heartbeats())
    duties = [SCHEDULES_DUTY, SENSORS_DUTY, QUEUE_DUTY, BACKFILL_DUTY, MONITOR_DUTY]
    duties += sorted({beat.duty for beat in beats} - set(duties))
    for duty in duties:
        click.echo(f"{duty}:")
        lease = instance.get_lease(duty)
        if lease is None or not lease.is_held(now):
            click.echo("  lease: free")
        else:
            click.echo(
                f"  lease: held by {lease.owner} until {lease.expires_at - now:.0f}s from now"
            )
        of_duty = sorted(
            (beat for beat in beats if beat.duty == duty), key=lambda b: b.timestamp, reverse=True
        )
        if not of_duty:
            click.echo("  no daemon heartbeat")
        for beat in of_duty:
            click.echo(f"  {_describe(beat, now)}")
    if not any(is_fresh(beat, now) for beat in beats):
        fail(
            "no daemon is running against this instance (no fresh daemon heartbeat): start one "
            "with `knoll daemon run -m MODULE` (or -f FILE, -w workspace.yaml).",
            _EXIT_NOT_RUNNING,
        )


def _describe(beat: DaemonHeartbeat, now: float) -> str:
    """``daemon ID (pid 12 on HOST): running, holds the lease, 1s ago, last error: none``."""
    from knoll.daemon import is_fresh

    if is_fresh(beat, now):
        state = "running"
    elif beat.info.get("state") == "stopped":
        state = "stopped"
    else:
        state = "gone (its heartbeat is stale)"
    if state == "stopped":
        lease = "released its lease"
    elif beat.info.get("lease") == "held":
        lease = "holds the lease"
    else:
        lease = "waits for the lease"
    error = beat.errors[-1] if beat.errors else "none"
    return (
        f"daemon {beat.daemon_id} (pid {beat.info.get('pid', '?')} on "
        f"{beat.info.get('host', '?')}): {state}, {lease}, {max(0.0, now - beat.timestamp):.0f}s "
        f"ago, last error: {error}"
    )


def daemon_line(instance: Instance) -> str:
    """For ``knoll instance info``: whether a daemon runs (a fresh daemon heartbeat)."""
    from knoll.daemon import is_fresh
    from knoll.errors import KnollError

    now = time.time()
    try:
        beats = instance.storage.get_daemon_heartbeats()
    except KnollError as exc:  # info still shows where things are when the database is down
        return f"unknown: its heartbeats cannot be read ({exc})"
    fresh = [beat for beat in beats if is_fresh(beat, now)]
    if not fresh:
        return "not running (start one: knoll daemon run)"
    beat = max(fresh, key=lambda b: b.timestamp)
    return (
        f"running (daemon {beat.daemon_id}, pid {beat.info.get('pid', '?')} on "
        f"{beat.info.get('host', '?')}, last seen {max(0.0, now - beat.timestamp):.0f}s ago)"
    )
