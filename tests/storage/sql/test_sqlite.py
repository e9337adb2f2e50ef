"""What only the SQLite dialect does: WAL, waiting for the write lock and retrying, ids that
are never reused, VACUUM, and the partition status of 100,000 partitions in one range scan."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from knoll import AssetKey
from knoll.errors import StorageError
from knoll.execution.run import RunStatus
from knoll.storage.base import PartitionStatus
from knoll.storage.sql import SqlStorage, engine
from knoll.storage.sql.engine import sqlite_database
from tests.storage.conformance.builders import log, make_run, materialization, planned


def _pragma(storage: SqlStorage, name: str) -> object:
    with storage._db.read() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_wal_mode_and_busy_timeout(sqlite_storage: SqlStorage) -> None:
    assert _pragma(sqlite_storage, "journal_mode") == "wal"
    assert _pragma(sqlite_storage, "busy_timeout") == int(engine.SQLITE_BUSY_TIMEOUT_SECONDS * 1000)
    assert _pragma(sqlite_storage, "synchronous") == 1  # NORMAL


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's long write transaction, as far as the storage can tell."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO kv (key, value) VALUES ('holder', 'x')")
    return holder


def test_a_writer_waits_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "knoll.db"
    storage = SqlStorage.sqlite(path)
    storage.add_run(make_run(run_id="r1"))
    holder = _hold_write_lock(path)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            storage.store_events([log("r1", "while locked")])
        except BaseException as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(0.3)
    assert writer.is_alive()  # waiting for the lock, not failed
    # WAL: readers are not blocked by the writer holding the lock
    assert storage.get_run("r1") is not None
    assert storage.get_events_for_run("r1").records == []
    holder.execute("COMMIT")
    writer.join(10)
    assert errors == []
    assert [r.event.message for r in storage.get_events_for_run("r1").records] == ["while locked"]
    assert storage.kv_get(["holder"]) == {"holder": "x"}
    holder.close()
    storage.dispose()


def test_locked_writes_are_retried_with_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "knoll.db"
    SqlStorage.sqlite(path).dispose()
    # A busy timeout far shorter than the lock is held: only the retries can get through.
    storage = SqlStorage(sqlite_database(path, busy_timeout=0.01))
    attempts: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        attempts.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    holder = _hold_write_lock(path)
    threading.Timer(0.2, lambda: holder.execute("COMMIT")).start()
    storage.add_run(make_run(run_id="r1"))
    assert storage.get_run("r1") is not None
    assert len(attempts) >= 2  # it met "database is locked" and tried again
    holder.close()
    storage.dispose()


def test_a_lock_held_past_every_retry_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "knoll.db"
    SqlStorage.sqlite(path).dispose()
    storage = SqlStorage(sqlite_database(path, busy_timeout=0.01))
    monkeypatch.setattr(engine, "WRITE_ATTEMPTS", 3)
    holder = _hold_write_lock(path)
    try:
        with pytest.raises(
            StorageError,
            match=r"the SQLite database at .*knoll\.db stayed busy through 3 attempts to write "
            r"\(database is locked\)\. Another process holds a long write transaction",
        ):
            storage.add_run(make_run(run_id="r1"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert storage.get_run("r1") is None
    storage.add_run(make_run(run_id="r1"))  # and works once the lock is free
    storage.dispose()


def test_ids_are_never_reused_after_the_newest_rows_are_deleted(
    sqlite_storage: SqlStorage,
) -> None:
    storage = sqlite_storage
    storage.add_run(make_run(run_id="old"))
    storage.add_run(make_run(run_id="newest"))
    storage.store_events([log("old"), log("newest"), log("newest")])
    seen = storage.tail_events()
    newest_run = storage.get_run("newest")
    assert newest_run is not None
    storage.delete_run("newest")
    storage.add_run(make_run(run_id="next"))
    storage.store_events([log("next")])
    # A reader whose cursor passed the deleted events still sees the new one.
    page = storage.tail_events(after=seen.cursor)
    assert [r.event.run_id for r in page.records] == ["next"]
    next_run = storage.get_run("next")
    assert next_run is not None
    assert next_run.storage_id > newest_run.storage_id


def test_vacuum_gives_pruned_space_back(sqlite_storage: SqlStorage) -> None:
    storage = sqlite_storage
    storage.add_run(make_run(run_id="r1", status=RunStatus.STARTED))
    big = "x" * 2000
    for _ in range(5):
        storage.store_events([log("r1", big) for _ in range(200)])
    storage.store_events([materialization("r1", "orders")])
    path = Path(str(storage.engine.url.database))
    storage.vacuum()
    before = path.stat().st_size
    assert storage.prune_run_events(["r1"]) == 1000
    storage.vacuum()
    after = path.stat().st_size
    assert after < before / 4
    assert [r.event.event_type.value for r in storage.tail_events().records] == [
        "ASSET_MATERIALIZATION"
    ]


def test_partition_status_of_100_000_partitions_is_one_range_scan(
    sqlite_storage: SqlStorage,
) -> None:
    storage = sqlite_storage
    storage.add_run(make_run(run_id="r1", status=RunStatus.STARTED))
    keys = [f"p{i:06d}" for i in range(100_000)]
    for start in range(0, len(keys), 5_000):
        batch = keys[start : start + 5_000]
        storage.store_events([materialization("r1", "big", partition=k) for k in batch])
    storage.store_events([planned("r1", "big", partition="p000007")])
    storage.store_events([materialization("r1", "other", partition="p000001")])

    started = time.perf_counter()
    status = storage.get_partition_status(AssetKey("big"))
    elapsed = time.perf_counter() - started
    print(f"\nget_partition_status of 100,000 partitions on SQLite: {elapsed * 1000:.1f} ms")

    assert len(status) == 100_000
    assert status["p000007"] is PartitionStatus.IN_PROGRESS
    assert status["p099999"] is PartitionStatus.MATERIALIZED
    with storage._db.read() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT partition, status FROM asset_partitions "
            "WHERE asset_key = 'big'"
        ).all()
    (step,) = plan
    assert "SEARCH asset_partitions USING PRIMARY KEY (asset_key=?)" in step[-1]


def test_an_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match=r"cannot create the folder .*file for the SQLite"):
        SqlStorage.sqlite(blocker / "knoll.db")
    (tmp_path / "folder.db").mkdir()
    with pytest.raises(
        StorageError,
        match=r"cannot open the SQLite database at .*folder\.db: unable to open database file\. "
        r"Check that the folder exists",
    ):
        SqlStorage.sqlite(tmp_path / "folder.db")
