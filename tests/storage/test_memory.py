"""The in-memory backend: every conformance suite, plus what only it offers (an event sink)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from knoll import (
    AssetExecutionContext,
    AssetKey,
    DynamicPartitionsDefinition,
    asset,
    materialize_to_memory,
)
from knoll.errors import InvalidInvocationError, PartitionKeyError
from knoll.execution.events import EventType
from knoll.execution.run import Run
from knoll.instance import Instance
from knoll.storage.base import PartitionStatus, Storage
from knoll.storage.memory import InMemoryStorage
from tests.storage.conformance import (
    AssetIndexSuite,
    BackfillStorageSuite,
    DynamicPartitionsStorageSuite,
    EventLogStorageSuite,
    KeyValueStorageSuite,
    RunStorageSuite,
    ScheduleStorageSuite,
)
from tests.storage.conformance.access import (
    AuditStorageSuite,
    LoginAttemptStorageSuite,
    SessionStorageSuite,
    TokenStorageSuite,
    UserStorageSuite,
)
from tests.storage.conformance.automation import AutomationStorageSuite
from tests.storage.conformance.daemon import DaemonStorageSuite
from tests.storage.conformance.pools import ConcurrencyStorageSuite
from tests.storage.conformance.queue import RunQueueStorageSuite
from tests.storage.conformance.retention import RetentionStorageSuite


class MemoryStorage:
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        storage = InMemoryStorage()
        yield storage
        storage.dispose()


class TestMemoryRunStorage(MemoryStorage, RunStorageSuite):
    pass


class TestMemoryEventLogStorage(MemoryStorage, EventLogStorageSuite):
    pass


class TestMemoryAssetIndex(MemoryStorage, AssetIndexSuite):
    pass


class TestMemoryScheduleStorage(MemoryStorage, ScheduleStorageSuite):
    pass


class TestMemoryBackfillStorage(MemoryStorage, BackfillStorageSuite):
    pass


class TestMemoryDynamicPartitionsStorage(MemoryStorage, DynamicPartitionsStorageSuite):
    pass


class TestMemoryKeyValueStorage(MemoryStorage, KeyValueStorageSuite):
    pass


class TestMemoryRunQueueStorage(MemoryStorage, RunQueueStorageSuite):
    pass


class TestMemoryDaemonStorage(MemoryStorage, DaemonStorageSuite):
    pass


class TestMemoryConcurrencyStorage(MemoryStorage, ConcurrencyStorageSuite):
    pass


class TestMemoryAutomationStorage(MemoryStorage, AutomationStorageSuite):
    pass


class TestMemoryRetentionStorage(MemoryStorage, RetentionStorageSuite):
    pass


class TestMemoryUserStorage(MemoryStorage, UserStorageSuite):
    pass


class TestMemoryTokenStorage(MemoryStorage, TokenStorageSuite):
    pass


class TestMemorySessionStorage(MemoryStorage, SessionStorageSuite):
    pass


class TestMemoryLoginAttemptStorage(MemoryStorage, LoginAttemptStorageSuite):
    pass


class TestMemoryAuditStorage(MemoryStorage, AuditStorageSuite):
    pass


# ---- what only the in-memory backend does --------------------------------------------------

CUSTOMERS = DynamicPartitionsDefinition(name="customers")


@asset(partitions_def=CUSTOMERS)
def invoices(context: AssetExecutionContext) -> str:
    return f"invoices of {context.partition_key}"


def test_a_run_writes_its_events_into_the_storage_it_is_given() -> None:
    storage = InMemoryStorage()
    storage.add_dynamic_partitions("customers", ["acme", "globex"])
    result = materialize_to_memory(
        [invoices], partition_key="globex", instance=Instance.ephemeral(storage)
    )
    stored = storage.get_events_for_run(result.run_id).records
    assert [r.event for r in stored] == result.all_events
    assert stored[-1].event.event_type is EventType.RUN_SUCCESS
    assert storage.get_partition_status(AssetKey("invoices")) == {
        "globex": PartitionStatus.MATERIALIZED
    }


def test_dynamic_partition_keys_come_from_the_storage() -> None:
    storage = InMemoryStorage()
    storage.add_dynamic_partitions("customers", ["acme"])
    with pytest.raises(PartitionKeyError, match="'umbrella'"):
        materialize_to_memory(
            [invoices], partition_key="umbrella", instance=Instance.ephemeral(storage)
        )
    assert storage.tail_events().records == []


def test_keys_must_be_a_list() -> None:
    storage = InMemoryStorage()
    with pytest.raises(InvalidInvocationError, match=r"write \['acme'\]"):
        storage.add_dynamic_partitions("customers", "acme")
    assert list(storage.get_dynamic_partitions("customers")) == []


def test_records_do_not_share_state_with_the_caller() -> None:
    storage = InMemoryStorage()
    tags = {"team": "data"}
    run = Run("r1", "job", tags=tags)
    storage.add_run(run)
    tags["team"] = "changed"
    fetched = storage.get_run("r1")
    assert fetched is not None
    assert fetched.run.tags == {"team": "data"}
