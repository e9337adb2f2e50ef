"""Retention: how long run details are kept, and pruning what is older.

Pruning deletes old runs' step and log events and their compute logs, and keeps the asset
history (materializations, observations, check evaluations) and the run rows themselves.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knoll.errors import InvalidInvocationError
from knoll.execution.run import FINISHED_STATUSES

if TYPE_CHECKING:
    from knoll.instance.compute_logs import ComputeLogManager
    from knoll.storage.base import RunRecord, Storage

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PRUNE_BATCH = 200


def parse_duration(text: str, *, what: str = "duration") -> datetime.timedelta:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"45s"`` or ``"2w"`` as a ``timedelta``."""
    match = _DURATION.match(str(text))
    if match is None:
        raise InvalidInvocationError(
            f"{what} {text!r} is not a duration: write a number and a unit, for example '30d' "
            "(days), '12h' (hours), '90m' (minutes), '45s' (seconds) or '2w' (weeks)."
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise InvalidInvocationError(f"{what} {text!r} must be longer than zero, e.g. '30d'.")
    return datetime.timedelta(seconds=seconds)


def format_duration(delta: datetime.timedelta) -> str:
    """The shortest exact form of a duration, the way ``parse_duration`` reads it (``30d``)."""
    seconds = delta.total_seconds()
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class PruneReport:
    """What ``Instance.prune`` deleted. Run rows and the asset history are always kept."""

    cutoff: float  # runs that finished before this time (seconds since the epoch) were pruned
    runs: int  # runs whose details were deleted
    events_deleted: int
    log_files_deleted: int
    log_bytes_deleted: int
    database_bytes_before: int | None = None  # SQLite only: the file size around the VACUUM
    database_bytes_after: int | None = None

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        """One line for the CLI."""
        when = datetime.datetime.fromtimestamp(self.cutoff, datetime.UTC)
        text = (
            f"pruned {self.runs} run{'s' if self.runs != 1 else ''} finished before "
            f"{when:%Y-%m-%d %H:%M} UTC: {self.events_deleted} events and "
            f"{self.log_files_deleted} log files ({_size(self.log_bytes_deleted)}) deleted; "
            "asset materializations, observations and check results kept"
        )
        if self.database_bytes_before is not None and self.database_bytes_after is not None:
            text += (
                f"; database {_size(self.database_bytes_before)} -> "
                f"{_size(self.database_bytes_after)}"
            )
        return text


def _size(num: int) -> str:
    value = float(num)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def finished_runs_before(storage: Storage, cutoff: float) -> Iterator[RunRecord]:
    """Runs that finished before ``cutoff``, newest first, page by page."""
    from knoll.storage.base import RunsFilter

    filters = RunsFilter(statuses=sorted(FINISHED_STATUSES, key=str), created_before=cutoff)
    cursor: str | None = None
    while True:
        page = storage.get_runs(filters, limit=_PRUNE_BATCH, cursor=cursor)
        for record in page.records:
            ended = record.end_time if record.end_time is not None else record.update_timestamp
            if ended < cutoff:
                yield record
        if page.cursor is None or not page.records:
            return
        cursor = page.cursor


def prune(
    storage: Storage,
    compute_logs: ComputeLogManager,
    older_than: datetime.timedelta,
    *,
    now: float | None = None,
) -> PruneReport:
    """Delete the details of runs that finished more than ``older_than`` ago (no VACUUM)."""
    if older_than.total_seconds() <= 0:
        raise InvalidInvocationError(
            f"prune(older_than={older_than!r}): the age must be longer than zero, e.g. "
            "datetime.timedelta(days=30)."
        )
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    runs = events = files = size = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal events
        if batch:
            events += storage.prune_run_events(batch)
            batch.clear()

    for record in finished_runs_before(storage, cutoff):
        run_id = record.run.run_id
        runs += 1
        batch.append(run_id)
        deleted_files, deleted_bytes = compute_logs.delete(run_id)
        files += deleted_files
        size += deleted_bytes
        if len(batch) >= _PRUNE_BATCH:
            flush()
    flush()
    return PruneReport(cutoff, runs, events, files, size)
