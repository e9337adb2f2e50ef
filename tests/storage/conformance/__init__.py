"""Conformance suites: one base class per storage interface, run against every backend.

A backend's test module subclasses each suite and provides a ``storage`` fixture that yields a
fresh, empty ``knoll.storage.base.Storage`` (and disposes of it afterwards)::

    class TestSqliteRunStorage(RunStorageSuite):
        @pytest.fixture
        def storage(self, tmp_path: Path) -> Iterator[Storage]:
            ...

The suites are the specification of the interfaces in ``knoll.storage.base``: they assume
nothing about storage ids beyond "increasing" and nothing about timing.
"""

from tests.storage.conformance.asset_index import AssetIndexSuite
from tests.storage.conformance.backfills import BackfillStorageSuite
from tests.storage.conformance.dynamic_partitions import DynamicPartitionsStorageSuite
from tests.storage.conformance.events import EventLogStorageSuite
from tests.storage.conformance.kv import KeyValueStorageSuite
from tests.storage.conformance.runs import RunStorageSuite
from tests.storage.conformance.schedules import ScheduleStorageSuite

__all__ = [
    "AssetIndexSuite",
    "BackfillStorageSuite",
    "DynamicPartitionsStorageSuite",
    "EventLogStorageSuite",
    "KeyValueStorageSuite",
    "RunStorageSuite",
    "ScheduleStorageSuite",
]
