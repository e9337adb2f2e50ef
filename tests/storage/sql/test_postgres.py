"""What only the PostgreSQL dialect does: late commits never skipped by a tailing reader,
connection errors that say what to check, schemas of their own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from knoll import AssetKey
from knoll.errors import StorageError
from knoll.execution.run import RunStatus
from knoll.storage.base import EventRecord, PartitionStatus
from knoll.storage.sql import SqlStorage
from knoll.storage.sql.engine import postgres_database
from knoll.storage.sql.events import _event_row, append_events
from knoll.storage.version import migrate
from tests.storage.conformance.builders import log, make_run, materialization


def _wait_for_a_blocked_writer(storage: SqlStorage) -> None:
    """Until another session waits for the event-log lock (an advisory lock)."""
    deadline = time.monotonic() + 10
    with storage.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).scalar_one()
            if waiting:
                return
            conn.rollback()  # a new snapshot of pg_locks next time
            time.sleep(0.01)
    raise AssertionError("the second writer never waited for the event-log lock")


def test_a_late_commit_is_never_skipped_by_a_tailing_reader(
    postgres_storage: SqlStorage,
) -> None:
    storage = postgres_storage
    storage.add_run(make_run(run_id="slow", status=RunStatus.STARTED))
    storage.add_run(make_run(run_id="fast", status=RunStatus.STARTED))
    storage.store_events([log("fast", "before")])
    start = storage.tail_events()
    assert [r.event.message for r in start.records] == ["before"]

    # Writer 1 appends through the storage's own write path and holds its transaction open:
    # its events have ids but are not committed.
    slow_conn = storage.engine.connect()
    slow_tx = slow_conn.begin()
    slow_batch = [log("slow", f"slow {i}") for i in range(3)]
    slow_ids = append_events(
        storage._db, slow_conn, slow_batch, [_event_row(e) for e in slow_batch]
    )

    # Writer 2 commits a batch of its own meanwhile (it would get later ids).
    fast_batch = [log("fast", f"fast {i}") for i in range(3)]
    fast_done = threading.Event()

    def write_fast() -> None:
        storage.store_events(fast_batch)
        fast_done.set()

    fast_writer = threading.Thread(target=write_fast)
    fast_writer.start()
    try:
        _wait_for_a_blocked_writer(storage)
        # The reader sees nothing past the gap while writer 1 is open: no id after it can
        # be visible before it, so the cursor cannot move past it.
        gap = storage.tail_events(after=start.cursor)
        assert gap.records == []
        assert gap.cursor == start.cursor
        assert not fast_done.is_set()
    finally:
        slow_tx.commit()
        slow_conn.close()
        fast_writer.join(10)
    assert fast_done.is_set()

    seen: list[EventRecord] = []
    cursor = start.cursor
    while True:
        page = storage.tail_events(after=cursor, limit=2)
        seen.extend(page.records)
        cursor = page.cursor
        if not page.has_more:
            break
    assert [r.event.message for r in seen] == [
        *(f"slow {i}" for i in range(3)),
        *(f"fast {i}" for i in range(3)),
    ]
    assert [r.storage_id for r in seen[:3]] == slow_ids
    assert storage.tail_events(after=cursor).records == []


def test_without_the_lock_a_late_commit_is_skipped(postgres_storage: SqlStorage) -> None:
    """Why the lock is needed: plain inserts become visible out of id order, and a reader
    that moved its cursor past an uncommitted id never sees that row."""
    storage = postgres_storage
    insert = sa.text(
        "INSERT INTO events (run_id, event_type, timestamp, body) "
        "VALUES (:run, 'LOG_MESSAGE', 0, :body) RETURNING id"
    )
    bodies = {r: _event_row(log(r))["body"] for r in ("early", "late")}
    early_conn = storage.engine.connect()
    early_tx = early_conn.begin()
    early_id = early_conn.execute(insert, {"run": "early", "body": bodies["early"]}).scalar_one()
    with storage.engine.begin() as late_conn:
        late_id = late_conn.execute(insert, {"run": "late", "body": bodies["late"]}).scalar_one()
    assert early_id < late_id
    page = storage.tail_events()
    assert [r.storage_id for r in page.records] == [late_id]
    early_tx.commit()
    early_conn.close()
    assert storage.tail_events(after=page.cursor).records == []  # "early" is lost to it
    assert [r.storage_id for r in storage.tail_events().records] == [early_id, late_id]


def test_a_server_that_is_not_there_is_a_clear_error() -> None:
    with pytest.raises(StorageError) as raised:
        SqlStorage.postgres("postgresql://knoll:secret@127.0.0.1:1/knoll_db")
    message = str(raised.value)
    assert message.startswith("cannot connect to PostgreSQL at 127.0.0.1:1/knoll_db: ")
    assert message.endswith(
        "Check that the server is running and the URL in knoll.yaml (storage.postgres.url) "
        "is right."
    )
    assert "secret" not in message


def test_a_url_for_another_database_is_refused() -> None:
    with pytest.raises(
        StorageError, match=r"names the driver 'mysql': write it as postgresql://user@host"
    ):
        SqlStorage.postgres("mysql://root:pw@localhost/knoll")


def test_a_schema_name_must_be_an_identifier(postgres_url: str) -> None:
    with pytest.raises(StorageError, match=r"schema name 'knoll; drop' .* is not valid"):
        SqlStorage.postgres(postgres_url, schema="knoll; drop")


def test_schemas_keep_instances_apart(
    postgres_url: str, new_postgres_schema: Callable[[], str], postgres_storage: SqlStorage
) -> None:
    other = SqlStorage.postgres(postgres_url, schema=new_postgres_schema())
    try:
        other.add_run(make_run(run_id="elsewhere"))
        assert postgres_storage.get_run("elsewhere") is None
        assert other.get_run("elsewhere") is not None
    finally:
        other.dispose()


def test_partition_status_of_100_000_partitions(postgres_storage: SqlStorage) -> None:
    storage = postgres_storage
    storage.add_run(make_run(run_id="r1", status=RunStatus.STARTED))
    keys = [f"p{i:06d}" for i in range(100_000)]
    for start in range(0, len(keys), 10_000):
        batch = keys[start : start + 10_000]
        storage.store_events([materialization("r1", "big", partition=k) for k in batch])
    started = time.perf_counter()
    status = storage.get_partition_status(AssetKey("big"))
    elapsed = time.perf_counter() - started
    print(f"\nget_partition_status of 100,000 partitions on PostgreSQL: {elapsed * 1000:.1f} ms")
    assert len(status) == 100_000
    assert set(status.values()) == {PartitionStatus.MATERIALIZED}


def test_migrating_a_server_that_is_not_there_is_a_clear_error() -> None:
    database = postgres_database("postgresql://knoll@127.0.0.1:1/knoll_db")
    try:
        with pytest.raises(
            StorageError,
            match=r"^cannot connect to PostgreSQL at 127\.0\.0\.1:1/knoll_db: .*Check that the "
            r"server is running",
        ):
            migrate(database.engine)
    finally:
        database.dispose()
