"""``knoll run monitor`` and ``knoll run queue-worker``: the run monitor and the run queue as
loops of their own, until Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

import click

from knoll.cli._common import fail, open_instance
from knoll.cli._servers import ServerChoice, code_servers, server_options
from knoll.cli.runs import run

if TYPE_CHECKING:
    from knoll.instance import Instance
    from knoll.instance.launcher import RunLauncher
    from knoll.instance.loop_heartbeats import Loop
    from knoll.storage.base import RunRecord


def _interval_options(default_help: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def add(fn: Callable[..., None]) -> Callable[..., None]:
        fn = click.option("--once", is_flag=True, help="Make one pass and exit.")(fn)
        fn = click.option(
            "--interval",
            type=click.FloatRange(min=0, min_open=True),
            help=f"Seconds between two passes (default: {default_help}).",
        )(fn)
        return fn

    return add


@run.command("monitor")
@_interval_options("run_monitoring:poll_interval_seconds of knoll.yaml")
@server_options(
    workspace_help="A workspace.yaml: a code server per location, each run to its own.",
    location_help="Serve only this location of --workspace; other locations' runs are left alone.",
)
def run_monitor(
    interval: float | None,
    once: bool,
    servers: ServerChoice,
) -> None:
    """Watch the runs in progress until Ctrl-C: fail (or resume) runs whose worker died, fail
    runs that never started, cancel runs past their maximum runtime.

    Runs are resumed (run_monitoring:max_resume_attempts in knoll.yaml) only when code
    servers are given with -w, -m/-f or --socket, each through the server of its location;
    without one, a run whose worker died fails.
    """
    from knoll.instance.loop_heartbeats import Loop

    instance = open_instance()
    settings = instance.settings.run_monitoring
    if not settings.enabled:
        fail(
            f"run monitoring is disabled in {instance.settings.source}: set "
            "run_monitoring:enabled to true to watch runs."
        )
    pause = interval if interval is not None else settings.poll_interval_seconds
    with contextlib.ExitStack() as stack:
        launcher = launcher_for(instance, stack, servers) if servers.given else None
        _loop(instance, Loop.MONITOR, lambda: monitor_pass(instance, launcher), pause, once)


def monitor_pass(instance: Instance, launcher: RunLauncher | None) -> None:
    """One pass of the run monitor (``knoll run monitor``, the daemon's ``run_monitor``
    duty), saying what it did."""
    from knoll.instance.monitor import monitor_once

    report = monitor_once(instance, settings=instance.settings.run_monitoring, launcher=launcher)
    for run_id in report.failed:
        click.echo(f"run {run_id} FAILURE (see `knoll run show {run_id}`)")
    for run_id in report.resumed:
        click.echo(f"run {run_id} resumed in a new worker")
    for run_id in report.canceled:
        click.echo(f"run {run_id} CANCELED: it ran past its maximum runtime")


@run.command("queue-worker")
@_interval_options("run_queue:dequeue_interval_seconds of knoll.yaml")
@server_options(
    workspace_help="A workspace.yaml: a code server per location, each run to its own.",
    location_help="Serve only this location of --workspace; other locations' runs are left alone.",
)
def run_queue_worker(
    interval: float | None,
    once: bool,
    servers: ServerChoice,
) -> None:
    """Start queued runs as the run_queue limits of knoll.yaml allow, until Ctrl-C.

    Runs start in workers forked from the code server of their location: with -w FILE, a
    server is started for every location of the workspace and each run goes to the one its
    knoll/location tag names (a run of a location the workspace lacks fails). With
    --location NAME, -m/-f or --socket PATH, only that location's runs are started; the
    others stay queued for another queue worker. Several queue workers may run at once: a
    lease in storage lets only one of them dequeue at a time.
    """
    from knoll.instance.loop_heartbeats import Loop

    instance = open_instance()
    pause = (
        interval if interval is not None else instance.settings.run_queue.dequeue_interval_seconds
    )
    with contextlib.ExitStack() as stack:
        launcher = launcher_for(instance, stack, servers)
        _loop(instance, Loop.QUEUE_WORKER, lambda: queue_pass(instance, launcher), pause, once)


def queue_pass(
    instance: Instance,
    launcher: RunLauncher,
    *,
    owner: str | None = None,
    lease_seconds: float | None = None,
) -> None:
    """One pass of the run queue (``knoll run queue-worker``, the daemon's ``run_queue``
    duty), saying which runs it started. With ``owner`` (a daemon's id) the queue's lease
    stays with it after the pass."""
    from knoll.instance.queue import DEFAULT_LEASE_SECONDS, dequeue

    def launch(record: RunRecord) -> None:
        try:
            launcher.launch_queued_run(record)
        except Exception as exc:
            click.echo(f"run {record.run.run_id} FAILURE: {exc}")
            raise

    started = dequeue(
        instance,
        launch,
        accept=launcher.serves,
        owner=owner,
        lease_seconds=DEFAULT_LEASE_SECONDS if lease_seconds is None else lease_seconds,
        keep_lease=owner is not None,
    )
    for run_id in started:
        click.echo(f"started run {run_id}")


def launcher_for(
    instance: Instance, stack: contextlib.ExitStack, servers: ServerChoice
) -> RunLauncher:
    """A launcher over the code servers of the options: every location of ``-w FILE``, or
    the one location of ``-w FILE --location NAME``, ``-m``/``-f`` or ``--socket``, whose
    launcher leaves the runs of other locations alone."""
    from knoll.instance.launcher import RunLauncher

    started = code_servers(stack, servers, every_location=True)
    return RunLauncher(instance, started.clients, leave_other_locations=not started.whole_workspace)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a loop as Ctrl-C does


def _loop(
    instance: Instance, loop: Loop, one_pass: Callable[[], None], pause: float, once: bool
) -> None:
    """Call ``one_pass`` every ``pause`` seconds until Ctrl-C or SIGTERM (or once). Before
    each pass the loop records its heartbeat, so that others can tell it runs; stopping
    removes it."""
    from knoll.instance.loop_heartbeats import clear_loop_heartbeat, record_loop_heartbeat

    if once:
        one_pass()
        return
    name = loop.value
    signal.signal(signal.SIGTERM, _stop)
    try:
        click.echo(f"knoll {name} running (a pass every {pause:g}s); Ctrl-C to stop", err=True)
        while True:
            started = time.monotonic()
            record_loop_heartbeat(instance.storage, loop, pause)
            one_pass()
            time.sleep(max(0.0, pause - (time.monotonic() - started)))
    except KeyboardInterrupt:
        clear_loop_heartbeat(instance.storage, loop)
        click.echo(f"knoll {name} stopped", err=True)
