"""The SQL storage on both dialects, beyond the conformance suites: a run writing straight
into it, partition keys that defeat the fast path, a lost connection, vacuum."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from knoll import AssetKey, materialize_to_memory
from knoll.errors import StorageError
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import PartitionStatus
from knoll.storage.sql import SqlStorage
from tests.storage.conformance.builders import (
    REGION_ASSETS,
    make_run,
    materialization,
    planned,
)


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest) -> SqlStorage:
    found: SqlStorage = request.getfixturevalue(f"{request.param}_storage")
    return found


def test_a_run_writes_its_events_straight_into_the_storage(storage: SqlStorage) -> None:
    result = materialize_to_memory(
        REGION_ASSETS,
        partition_key="south",
        instance=Instance.ephemeral(storage),
        raise_on_error=False,
    )
    stored = storage.get_events_for_run(result.run_id).records
    assert [r.event for r in stored] == list(result.all_events)
    assert storage.get_partition_status(AssetKey("sales_report")) == {
        "south": PartitionStatus.MATERIALIZED
    }


def test_partition_keys_holding_the_separator_or_nothing(storage: SqlStorage) -> None:
    storage.add_run(make_run(run_id="r1", status=RunStatus.STARTED))
    odd = ["a\x1fb", "", "c"]
    storage.store_events([materialization("r1", "odd", partition=k) for k in odd])
    storage.store_events([planned("r1", "odd", partition="c")])
    assert storage.get_partition_status(AssetKey("odd")) == {
        "a\x1fb": PartitionStatus.MATERIALIZED,
        "": PartitionStatus.MATERIALIZED,
        "c": PartitionStatus.IN_PROGRESS,
    }
    storage.store_events([materialization("r1", "plain", partition="")])
    assert storage.get_partition_status(AssetKey("plain")) == {"": PartitionStatus.MATERIALIZED}


def test_vacuum_runs_on_both_dialects(storage: SqlStorage) -> None:
    storage.add_run(make_run(run_id="r1", status=RunStatus.STARTED))
    storage.store_events([materialization("r1", "orders")])
    storage.vacuum()
    assert [r.event.event_type for r in storage.tail_events().records] == [
        EventType.ASSET_MATERIALIZATION
    ]


def test_a_connection_lost_mid_read_is_a_clear_error(postgres_storage: SqlStorage) -> None:
    storage = postgres_storage
    lost = pytest.raises(StorageError, match=r"cannot connect to PostgreSQL at .*: .*Check that")
    with lost, storage._db.read() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with storage.engine.connect() as killer:
            killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.exec_driver_sql("SELECT 1")
    # the pool replaces the lost connection
    storage.add_run(make_run(run_id="after"))
    assert storage.get_run("after") is not None
