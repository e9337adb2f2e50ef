"""Reading and moving the runs of a backfill in tests."""

from __future__ import annotations

from knoll.daemon.backfill import BACKFILL_TAG
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance
from knoll.storage.base import RunsFilter


def backfill_runs(instance: Instance, backfill_id: str, **filters: object) -> list[Run]:
    """Every run of ``backfill_id``, oldest first."""
    runs: list[Run] = []
    cursor = None
    while True:
        page = instance.storage.get_runs(
            RunsFilter(tags={BACKFILL_TAG: backfill_id}, **filters),  # type: ignore[arg-type]
            limit=5000,
            cursor=cursor,
        )
        runs.extend(record.run for record in page.records)
        if page.cursor is None:
            return runs[::-1]
        cursor = page.cursor


def end_run(instance: Instance, run_id: str, status: RunStatus) -> None:
    """Move a queued run along the state machine to ``status``, as a worker would record it."""
    for step in (RunStatus.STARTING, RunStatus.STARTED, status):
        instance.storage.update_run_status(run_id, step)


def partitions_of(run: Run) -> str:
    """``2024-01-01`` or ``2024-01-01...2024-01-03``."""
    if "knoll/partition" in run.tags:
        return run.tags["knoll/partition"]
    start = run.tags["knoll/asset_partition_range_start"]
    return f"{start}...{run.tags['knoll/asset_partition_range_end']}"


def assets_of(run: Run) -> str:
    return ", ".join(sorted(key.to_user_string() for key in run.asset_selection or ()))
