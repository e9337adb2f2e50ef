"""What the command line says about the instance's loops (queue worker, run monitor): whether
one runs, from their heartbeats (see ``knoll.instance.loop_heartbeats``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knoll.instance import Instance


def queued_line(instance: Instance, queue_worker_command: str) -> str:
    """What ``knoll run launch --queue`` says once the run is queued: which queue worker will
    start it, or that none runs and the command that starts one."""
    from knoll.daemon import QUEUE_DUTY, is_fresh
    from knoll.instance.loop_heartbeats import Loop, live_loop_heartbeat

    daemons = [
        b for b in instance.storage.get_daemon_heartbeats() if b.duty == QUEUE_DUTY and is_fresh(b)
    ]
    if daemons:
        daemon = max(daemons, key=lambda b: b.timestamp)
        return (
            f"queued: the daemon {daemon.daemon_id} (pid {daemon.info.get('pid', '?')} on "
            f"{daemon.info.get('host', '?')}) will start it as the run_queue limits of knoll.yaml "
            "allow"
        )
    beat = live_loop_heartbeat(instance.storage, Loop.QUEUE_WORKER)
    if beat is None:
        return f"queued; no queue worker is running: start one with `{queue_worker_command}`"
    return (
        f"queued: the queue worker ({beat.describe()}) will start it as the run_queue limits "
        "of knoll.yaml allow"
    )


def loop_lines(instance: Instance) -> dict[str, str]:
    """For ``knoll instance info``: whether a run monitor and a queue worker run (unknown
    when the database cannot be read)."""
    from knoll.errors import KnollError
    from knoll.instance.loop_heartbeats import Loop, live_loop_heartbeat

    lines: dict[str, str] = {}
    for loop in (Loop.MONITOR, Loop.QUEUE_WORKER):
        try:
            beat = live_loop_heartbeat(instance.storage, loop)
        except KnollError as exc:
            # info still shows where things are when the database is behind, ahead or down
            lines[loop.value] = f"unknown: its heartbeat cannot be read ({exc})"
            continue
        lines[loop.value] = (
            f"running ({beat.describe()})"
            if beat is not None
            else f"not running (start one: {loop.command})"
        )
    return lines
