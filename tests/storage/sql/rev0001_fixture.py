"""Writes ``tests/storage/fixtures/knoll_rev0001.db``: a SQLite database at schema revision 0001.

The file is kept in the repository so that every later knoll proves it can still open (and
migrate) a database written by the first schema. It was written while 0001 was the head:
running this module again only makes the same file while that is still true.

    python -m tests.storage.sql.rev0001_fixture
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

from knoll import AssetKey
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.output import AssetMaterialization
from knoll.execution.events import (
    AssetPlannedData,
    EventData,
    EventType,
    RunEvent,
    SerializableError,
    StepFailureData,
)
from knoll.execution.run import Run, RunStatus
from knoll.storage.base import Backfill, BackfillStatus, InstigatorType, TickStatus
from knoll.storage.sql import SqlStorage
from knoll.storage.version import HEAD_REVISION

FIXTURE = Path(__file__).parent.parent / "fixtures" / "knoll_rev0001.db"

GOOD_RUN = "00000000-0000-4000-8000-000000000001"
BAD_RUN = "00000000-0000-4000-8000-000000000002"
JOB = "regions_job"
T0 = 1_700_000_000.0


def _event(
    kind: EventType, run_id: str, offset: float, step: str | None = None, data: EventData = None
) -> RunEvent:
    return RunEvent(kind, run_id, JOB, T0 + offset, step, f"{kind.value}", logging.INFO, data)


def events() -> list[RunEvent]:
    """Two runs of a partitioned asset ``sales``: north succeeds with a check, south fails."""
    sales = AssetKey("sales")
    plan_north = AssetPlannedData(sales, "north")
    plan_south = AssetPlannedData(sales, "south")
    written = AssetMaterialization(sales, metadata={"rows": 10}, partition="north")
    checked = AssetCheckEvaluation(sales, "positive", passed=True, partition="north")
    boom = StepFailureData(SerializableError("ValueError", "the south feed is down"))
    return [
        _event(EventType.ASSET_MATERIALIZATION_PLANNED, GOOD_RUN, 1, "sales", plan_north),
        _event(EventType.RUN_START, GOOD_RUN, 2),
        _event(EventType.STEP_START, GOOD_RUN, 3, "sales"),
        _event(EventType.ASSET_MATERIALIZATION, GOOD_RUN, 4, "sales", written),
        _event(EventType.ASSET_CHECK_EVALUATION, GOOD_RUN, 5, "sales_positive", checked),
        _event(EventType.STEP_SUCCESS, GOOD_RUN, 6, "sales"),
        _event(EventType.RUN_SUCCESS, GOOD_RUN, 7),
        _event(EventType.ASSET_MATERIALIZATION_PLANNED, BAD_RUN, 11, "sales", plan_south),
        _event(EventType.RUN_START, BAD_RUN, 12),
        _event(EventType.STEP_START, BAD_RUN, 13, "sales"),
        _event(EventType.STEP_FAILURE, BAD_RUN, 14, "sales", boom),
        _event(EventType.RUN_FAILURE, BAD_RUN, 15),
    ]


def write(path: Path) -> None:
    if HEAD_REVISION != "0001":
        raise SystemExit(f"the code is at revision {HEAD_REVISION}: it cannot write a 0001 file")
    path.unlink(missing_ok=True)
    storage = SqlStorage.sqlite(path)
    try:
        for run_id, partition in ((GOOD_RUN, "north"), (BAD_RUN, "south")):
            storage.add_run(
                Run(
                    run_id,
                    JOB,
                    RunStatus.STARTING,
                    tags={"team": "data", "knoll/partition": partition},
                    run_config={"ops": {"sales": {"config": {"limit": 5}}}},
                    asset_selection=frozenset({AssetKey("sales")}),
                )
            )
        storage.store_events(events())
        tick = storage.create_tick("shop", "nightly", InstigatorType.SCHEDULE, T0)
        storage.update_tick(replace(tick, status=TickStatus.SUCCESS, run_ids=(GOOD_RUN,)))
        storage.add_backfill(
            Backfill("bf-1", BackfillStatus.COMPLETED, T0, {"partitions": ["north", "south"]})
        )
        storage.add_dynamic_partitions("customers", ["acme", "globex"])
        storage.kv_set({"daemon/cursor": "42"})
    finally:
        storage.dispose()
    # One self-contained file: no -wal beside it.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("VACUUM")
    conn.close()


if __name__ == "__main__":
    write(FIXTURE)
    print(f"wrote {FIXTURE}")
