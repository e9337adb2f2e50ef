"""Retention: the daemon's ``retention`` duty prunes what ``retention:`` in knoll.yaml says is
old, every ``retention:interval_seconds``.

One pass (:func:`retention_pass`) does what ``knoll instance prune`` does, without compacting
the database (a VACUUM would hold the SQLite file for the length of a copy): it deletes the
step and log events and the compute logs of runs that finished before ``retention:older_than``
(run rows and the asset history stay). It also deletes ticks older than that, except the last
``retention:ticks_keep_last`` of each schedule and sensor, and daemon heartbeats older than
``retention:heartbeats_older_than`` (those of daemons long gone).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knoll.errors import InvalidInvocationError
from knoll.instance.retention import PruneReport, prune

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = ["RETENTION_DUTY", "RetentionReport", "retention_pass"]

RETENTION_DUTY = "retention"
"""The duty's name, and the name of its lease."""


@dataclass(frozen=True)
class RetentionReport:
    """What one pass deleted."""

    pruned: PruneReport
    ticks_deleted: int
    heartbeats_deleted: int

    def summary(self) -> str:
        """One line for the daemon's output."""
        return (
            f"{self.pruned.summary()}; {self.ticks_deleted} old ticks and "
            f"{self.heartbeats_deleted} old daemon heartbeats deleted"
        )


def retention_pass(instance: Instance, *, now: float | None = None) -> RetentionReport:
    """One pass of the ``retention`` duty over ``instance`` (see the module), at ``now``
    (default: the current time)."""
    settings = instance.settings
    older_than = settings.retention
    if older_than is None:
        where = settings.source or "knoll.yaml"
        raise InvalidInvocationError(
            f"the retention duty needs retention:older_than in {where}: set it, for example "
            "to '30d', or leave retention:interval_seconds out so that the daemon does not prune."
        )
    duty = settings.retention_duty
    when = time.time() if now is None else now
    pruned = prune(instance.storage, instance.compute_logs, older_than, now=when)
    ticks = instance.storage.delete_ticks(
        when - older_than.total_seconds(), keep_last=duty.ticks_keep_last
    )
    beats = instance.storage.delete_daemon_heartbeats(
        when - duty.heartbeats_older_than.total_seconds()
    )
    return RetentionReport(pruned, ticks, beats)
