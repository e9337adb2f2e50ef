"""Several processes writing at once, for real: nothing lost, nothing seen twice, no errors.

1. PostgreSQL: 8 processes each append 5,000 events (batches of 100) to their own run while
   this process tails the event log by cursor: it sees all 40,000 exactly once, each run's
   events in order.
2. SQLite: 8 processes materialize runs into one new file at once: no "database is locked",
   every run and event is there and the asset index adds up.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from knoll import AssetKey
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.storage.base import PartitionStatus, RunsFilter
from knoll.storage.sql import SqlStorage
from tests.storage.sql import workers

WRITERS = 8
EVENTS_PER_WRITER = 5_000
BATCH = 100


def _start(
    target: Callable[..., None], args_for: Callable[[int], tuple[Any, ...]]
) -> list[BaseProcess]:
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = [
        context.Process(target=target, args=args_for(i), name=f"writer-{i}") for i in range(WRITERS)
    ]
    for process in processes:
        process.start()
    return processes


def _join(processes: list[BaseProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    alive = [p.name for p in processes if p.is_alive()]
    for process in processes:
        if process.is_alive():
            process.kill()
    assert alive == []
    assert [p.exitcode for p in processes] == [0] * len(processes)


def test_a_tailing_reader_sees_every_event_of_8_postgres_writers_exactly_once(
    postgres_url: str, new_postgres_schema: Callable[[], str]
) -> None:
    schema = new_postgres_schema()
    reader = SqlStorage.postgres(postgres_url, schema=schema)  # creates the tables
    barrier = multiprocessing.get_context("spawn").Barrier(WRITERS + 1)
    run_ids = [f"run-{i}" for i in range(WRITERS)]
    processes = _start(
        workers.write_numbered_events,
        lambda i: (postgres_url, schema, run_ids[i], EVENTS_PER_WRITER, BATCH, barrier),
    )
    try:
        barrier.wait(120)  # every writer is connected: they start together
        seen: list[tuple[int, str, int]] = []
        cursor = 0
        polls_during_writes = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            writing = any(p.is_alive() for p in processes)
            page = reader.tail_events(after=cursor, limit=2_000)
            seen.extend((r.storage_id, r.event.run_id, int(r.event.message)) for r in page.records)
            cursor = page.cursor
            polls_during_writes += writing
            if not writing and not page.records:
                break  # every writer has exited and everything committed has been read
            if not page.has_more:
                time.sleep(0.005)
        _join(processes, 60)
        # nothing arrives after the last expected event either
        assert reader.tail_events(after=cursor).records == []
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        reader.dispose()

    assert polls_during_writes > 1  # the reader really tailed while the writers wrote
    assert len(seen) == WRITERS * EVENTS_PER_WRITER
    ids = [storage_id for storage_id, _, _ in seen]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert Counter(run_id for _, run_id, _ in seen) == dict.fromkeys(run_ids, EVENTS_PER_WRITER)
    for run_id in run_ids:
        positions = [n for _, r, n in seen if r == run_id]
        assert positions == list(range(EVENTS_PER_WRITER)), run_id


ROUNDS = 3


def test_8_processes_materializing_into_one_sqlite_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "knoll.db"  # does not exist yet: the writers create it
    barrier = multiprocessing.get_context("spawn").Barrier(WRITERS)
    processes = _start(workers.materialize_into_sqlite, lambda i: (str(path), i, ROUNDS, barrier))
    _join(processes, 300)

    storage = SqlStorage.sqlite(path)
    try:
        region_runs = WRITERS * ROUNDS
        plain_runs = WRITERS * ROUNDS
        log_runs = WRITERS
        assert storage.count_runs() == region_runs + plain_runs + log_runs
        west = sum(
            1
            for worker in range(WRITERS)
            for i in range(ROUNDS)
            if workers.REGIONS[(worker + i) % 3] == "west"
        )
        assert storage.count_runs(RunsFilter(statuses=[RunStatus.FAILURE])) == west
        finished = storage.count_runs(RunsFilter(statuses=[RunStatus.SUCCESS, RunStatus.FAILURE]))
        assert finished == region_runs + plain_runs

        # every run's events are all there, in order, ending with the run's end
        for record in storage.get_runs(limit=1_000).records:
            page = storage.get_events_for_run(record.run.run_id)
            ids = [r.storage_id for r in page.records]
            assert ids == sorted(ids)
            if record.run.run_id.startswith("logs-"):
                assert [r.event.message for r in page.records] == [str(i) for i in range(500)]
            else:
                last = page.records[-1].event.event_type
                assert last in (EventType.RUN_SUCCESS, EventType.RUN_FAILURE)
        all_events = storage.tail_events(limit=1_000_000).records
        assert len({r.storage_id for r in all_events}) == len(all_events)

        # the asset index adds up
        (orders,) = storage.get_asset_records([AssetKey("orders")])
        assert orders.materialization_count == plain_runs
        (sales,) = storage.get_asset_records([AssetKey("sales")])
        assert sales.materialization_count == region_runs - west
        assert storage.get_partition_status(AssetKey("sales")) == {
            "north": PartitionStatus.MATERIALIZED,
            "south": PartitionStatus.MATERIALIZED,
            "west": PartitionStatus.FAILED,
        }
    finally:
        storage.dispose()
