"""Code that the concurrency tests run in other processes (started with ``spawn``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from knoll.execution.events import EventType, RunEvent
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance
from knoll.storage.sql import SqlStorage
from tests.storage.conformance.builders import PLAIN_ASSETS, REGION_ASSETS

JOB = "writer"
REGIONS = ("north", "south", "west")  # west fails (see the builders' ``sales``)


def numbered_events(run_id: str, start: int, count: int) -> list[RunEvent]:
    """Log events whose messages are their position in the run: 0, 1, 2, ..."""
    return [
        RunEvent(EventType.LOG_MESSAGE, run_id, JOB, 1.0 + i, None, str(i), logging.INFO)
        for i in range(start, start + count)
    ]


def write_numbered_events(
    url: str, schema: str, run_id: str, total: int, batch: int, barrier: Barrier
) -> None:
    """One writer of the PostgreSQL test: its own run, ``total`` events in batches."""
    storage = SqlStorage.postgres(url, schema=schema, pool_size=1)
    try:
        storage.add_run(Run(run_id, JOB, RunStatus.STARTED))
        barrier.wait(60)
        for start in range(0, total, batch):
            storage.store_events(numbered_events(run_id, start, min(batch, total - start)))
    finally:
        storage.dispose()


def materialize_into_sqlite(path: str, worker: int, rounds: int, barrier: Barrier) -> None:
    """One writer of the SQLite test: real runs of partitioned and plain assets, and a run
    of plain log events, all into the same file as the other writers."""
    from knoll import materialize_to_memory

    barrier.wait(60)
    storage = SqlStorage.sqlite(Path(path))  # the first writers create the file together
    try:
        recorder = Instance.ephemeral(storage)
        plain: Sequence[Any] = PLAIN_ASSETS
        regions: Sequence[Any] = REGION_ASSETS
        for i in range(rounds):
            materialize_to_memory(
                regions,
                partition_key=REGIONS[(worker + i) % len(REGIONS)],
                instance=recorder,
                raise_on_error=False,
            )
            materialize_to_memory(plain, instance=recorder)
        run_id = f"logs-{worker}"
        storage.add_run(Run(run_id, JOB, RunStatus.STARTED))
        for start in range(0, 500, 50):
            storage.store_events(numbered_events(run_id, start, 50))
    finally:
        storage.dispose()
