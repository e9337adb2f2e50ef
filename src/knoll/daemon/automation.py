"""The daemon's ``automation`` duty: evaluate each code location's automation conditions and
queue the runs they request, exactly once.

One pass, per location: read the location's cursor; ask its code server for a tick (the
evaluation happens there, where the definitions are); store the tick's records and keep it
pending (``begin_automation_tick``); submit its QUEUED runs; move the cursor to the tick
(``finish_automation_tick``). The runs' ids are ``derived_run_id(location, "automation",
evaluation id, index)``, so a daemon that died after ``begin`` finds the tick pending on its
next pass, submits the same runs again (those already stored raise
``RunAlreadyStoredError`` and are kept as they are) and finishes it, without evaluating
anew. A location whose tick fails keeps its cursor and is tried again on the next pass; the
pass goes on with the other locations, then raises a ``KnollError`` naming those that failed.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from knoll.errors import KnollError, RunAlreadyStoredError

if TYPE_CHECKING:
    from knoll.daemon.clock import Clock
    from knoll.instance import Instance
    from knoll.storage.base import AutomationTick

__all__ = [
    "AUTOMATION_DUTY",
    "AutomationClient",
    "AutomationPass",
    "automation_pass",
]

AUTOMATION_DUTY = "automation"
"""The automation duty, and the name of its lease."""

_PAUSE_INTERVALS = 4.0  # a tick this many intervals after the previous one is a catch-up

_log = logging.getLogger("knoll.daemon.automation")


class AutomationClient(Protocol):
    """What the duty needs of a code server (``CodeServerClient`` has it)."""

    def automation_tick(
        self,
        instance_home: str,
        evaluation_id: int,
        evaluation_time: datetime.datetime,
        previous_state: str | None = None,
        pause_seconds: float | None = None,
    ) -> AutomationTick: ...


@dataclass
class AutomationPass:
    """What one pass did: per location, the evaluation finished and the runs it queued
    (already stored ones left out), and the locations whose tick failed, with why."""

    evaluations: dict[str, int] = field(default_factory=dict)
    queued: dict[str, list[str]] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def automation_pass(
    instance: Instance,
    clients: Mapping[str, AutomationClient],
    clock: Clock,
    *,
    interval_seconds: float,
) -> AutomationPass:
    """One pass of the duty over every location of ``clients`` (see the module)."""
    report = AutomationPass()
    home = str(instance.home)
    for location, client in clients.items():
        try:
            _one_location(instance, home, location, client, clock, interval_seconds, report)
        except Exception as exc:
            _log.exception("automation of code location %r failed", location)
            report.failed[location] = f"{type(exc).__name__}: {exc}"
    if report.failed:
        shown = "; ".join(f"{name}: {why}" for name, why in report.failed.items())
        # the other locations went on; the pass's heartbeat records this
        raise KnollError(f"automation failed for code location(s) {shown}")
    return report


def _one_location(
    instance: Instance,
    home: str,
    location: str,
    client: AutomationClient,
    clock: Clock,
    interval_seconds: float,
    report: AutomationPass,
) -> None:
    storage = instance.storage
    cursor = storage.get_automation_cursor(location)
    tick = cursor.pending
    if tick is not None:
        report.resumed.append(location)  # begun by a daemon that died before finishing
    else:
        when = datetime.datetime.fromtimestamp(clock.now(), datetime.UTC)
        tick = client.automation_tick(
            home,
            cursor.evaluation_id + 1,
            when,
            cursor.state,
            pause_seconds=_PAUSE_INTERVALS * interval_seconds,
        )
        storage.begin_automation_tick(tick)
    queued = []
    for run in tick.runs:
        try:
            instance.submit_run(run)
        except RunAlreadyStoredError:
            continue  # stored by the pass that died: it is that run
        queued.append(run.run_id)
    storage.finish_automation_tick(location, tick.evaluation_id)
    report.evaluations[location] = tick.evaluation_id
    report.queued[location] = queued
