"""A storage that fails its writes mid-run (disk full): the run stops at once, says where and
why in one error, keeps every event stored before, and ends FAILURE as soon as storage takes
writes again (at the end of the run, or by the run monitor)."""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from knoll import (
    AssetExecutionContext,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    define_asset_job,
    materialize,
)
from knoll.defs.job import JobDefinition
from knoll.defs.keys import AssetKey
from knoll.errors import StorageWriteError
from knoll.execution.events import EventType, RunEvent
from knoll.execution.executor import execute_in_process
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance
from knoll.instance.config import load_settings
from knoll.instance.monitor import monitor_once
from knoll.storage.base import PartitionStatus
from knoll.storage.sql import SqlStorage
from tests.instance.conftest import drop_schemas, postgres_url_or_skip

SETTINGS = """run_monitoring:
  heartbeat_interval_seconds: 0.1
  heartbeat_timeout_seconds: 0.5
"""
FULL = "database or disk is full"

daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")


@asset(partitions_def=daily)
def quiet(context: AssetExecutionContext) -> int:
    context.log.info("one line")
    return 1


logged: list[int] = []  # the lines ``noisy`` got to log


@asset(partitions_def=daily, deps=[quiet])
def noisy(context: AssetExecutionContext) -> int:
    for line in range(2000):
        context.log.info("line %d", line)
        logged.append(line)
        time.sleep(0.002)
    return 2


class FailingStorage(SqlStorage):
    """Real SQL storage whose writes fail, as on a full disk, once ``fail_after`` events are
    stored, until ``failures`` event writes have been refused (None: until ``heal()``)."""

    fail_after = 10**9
    failures: int | None = None
    refused = 0
    stored = 0

    def _full(self) -> bool:
        if self.failures is not None and self.refused >= self.failures:
            return False
        return self.stored >= self.fail_after

    def _refuse(self, *, count: bool = True) -> None:
        self.refused += count
        raise StorageWriteError(self._db.description, f"{FULL} (injected)")

    def store_events(self, events: Sequence[RunEvent]) -> None:
        if self._full():
            self._refuse()
        super().store_events(events)
        self.stored += len(events)

    def kv_set(self, pairs: Any) -> None:
        if self._full():
            self._refuse(count=False)  # heartbeats: only refused event writes heal the disk
        super().kv_set(pairs)

    def heal(self) -> None:
        self.failures = self.refused


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FailingStorage]:
    if request.param == "sqlite":
        opened = FailingStorage.sqlite(tmp_path / "knoll.db")
        yield opened  # type: ignore[misc]
        opened.dispose()
        return
    url = postgres_url_or_skip()
    schema = f"knoll_fail_{os.getpid()}_{secrets.token_hex(4)}"
    opened = FailingStorage.postgres(url, schema=schema)
    yield opened  # type: ignore[misc]
    opened.dispose()
    drop_schemas(url, [schema])


@pytest.fixture
def instance(storage: FailingStorage, tmp_path: Path) -> Iterator[Instance]:
    (tmp_path / "knoll.yaml").write_text(SETTINGS)
    with Instance(load_settings(tmp_path), home=tmp_path, storage=storage) as opened:
        yield opened


def _run_events(instance: Instance) -> tuple[str, list[RunEvent]]:
    run_id = instance.get_runs().records[0].run.run_id
    stored = instance.get_events(run_id).records
    return run_id, [record.event for record in stored]


class Collector:
    """A sink after the recorder: what the terminal would have printed."""

    def __init__(self) -> None:
        self.events: list[RunEvent] = []

    def write_events(self, events: Sequence[RunEvent]) -> None:
        self.events.extend(events)


def test_the_run_stops_and_is_marked_failure_when_storage_takes_writes_again(
    instance: Instance, storage: FailingStorage
) -> None:
    storage.fail_after = 8  # the first step's events are stored, the second's are not
    storage.failures = 2  # then the disk has room again
    logged.clear()

    with pytest.raises(StorageWriteError) as raised:
        materialize([quiet, noisy], instance=instance, partition_key="2024-01-03")

    message = str(raised.value)
    assert message.startswith(f"could not write to {storage._db.description}: {FULL}")
    assert "stopped and was marked FAILURE" in message
    run_id, stored = _run_events(instance)
    assert instance.get_run(run_id).run.status is RunStatus.FAILURE
    failure = instance.events_of_run(run_id, [EventType.RUN_FAILURE])[-1].message
    assert f"the storage failed a write: could not write to {storage._db.description}" in failure
    # every event stored before the fault is still there, in order
    assert [e.event_type for e in stored[:3]] == [
        EventType.ASSET_MATERIALIZATION_PLANNED,
        EventType.ASSET_MATERIALIZATION_PLANNED,
        EventType.RUN_START,
    ]
    assert not [
        e for e in stored if e.step_key == "noisy" and e.event_type is EventType.STEP_SUCCESS
    ]
    assert 0 < len(logged) < 2000  # the step stopped at its first event after the fault
    assert instance.get_partition_status(AssetKey("noisy"))["2024-01-03"] is PartitionStatus.FAILED


def test_a_run_whose_storage_stays_full_is_failed_by_the_monitor_later(
    instance: Instance, storage: FailingStorage
) -> None:
    storage.fail_after = 8
    sink = Collector()
    logged.clear()

    with pytest.raises(StorageWriteError) as raised:
        execute_in_process(_job(), instance=instance, partition_key="2024-01-03", sinks=[sink])

    assert "stays STARTED until the storage takes writes again" in str(raised.value)
    assert "`knoll run monitor` marks it FAILURE" in str(raised.value)
    run_id, stored = _run_events(instance)
    assert len(stored) == storage.stored  # nothing stored was lost
    assert 0 < len(logged) < 2000
    assert instance.get_run(run_id).run.status is RunStatus.STARTED
    # a sink after the recorder (the terminal's) saw only what storage had taken
    assert sink.events == stored
    assert not [e for e in sink.events if e.event_type is EventType.ASSET_MATERIALIZATION][1:]

    storage.heal()
    time.sleep(0.6)  # the heartbeat is older than the timeout now
    report = monitor_once(instance)

    assert report.failed == [run_id]
    assert instance.get_run(run_id).run.status is RunStatus.FAILURE
    failure = instance.events_of_run(run_id, [EventType.RUN_FAILURE])[-1].message
    assert "stopped when its storage failed a write" in failure
    assert instance.get_partition_status(AssetKey("noisy"))["2024-01-03"] is PartitionStatus.FAILED


def _job() -> JobDefinition:
    defs = Definitions(assets=[quiet, noisy], jobs=[define_asset_job("both", selection="*")])
    return defs.get_job_def("both")


def test_a_full_sqlite_database_raises_one_error_naming_the_file(tmp_path: Path) -> None:
    """A real SQLITE_FULL (the database may not grow past a few pages), not an injected one."""
    storage = SqlStorage.sqlite(tmp_path / "knoll.db")
    limit = {"pages": 10**6}

    def cap(dbapi_connection: sqlite3.Connection, record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {limit['pages']}")

    event.listen(storage.engine, "connect", cap)
    try:
        run = Run(run_id="r" * 8, job_name="j")
        storage.add_run(run)
        with storage.engine.connect() as conn:
            pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
        limit["pages"] = pages + 1
        storage.engine.dispose()  # new connections take the cap
        big = [
            RunEvent(EventType.LOG_MESSAGE, run.run_id, "j", time.time(), message="x" * 2000)
            for _ in range(200)
        ]
        with pytest.raises(StorageWriteError) as raised:
            storage.store_events(big)
        assert str(raised.value) == (
            f"could not write to the SQLite database at {(tmp_path / 'knoll.db').resolve()}: {FULL}"
        )
        assert storage.get_events_for_run(run.run_id).records == []
    finally:
        storage.dispose()
