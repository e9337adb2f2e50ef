"""Every storage conformance suite, against PostgreSQL (skipped when KNOLL_TEST_POSTGRES_URL
is unset)."""

from __future__ import annotations

import pytest

from knoll.storage.base import Storage
from knoll.storage.sql import SqlStorage
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


class PostgresStorage:
    @pytest.fixture
    def storage(self, postgres_storage: SqlStorage) -> Storage:
        return postgres_storage


class TestPostgresRunStorage(PostgresStorage, RunStorageSuite):
    pass


class TestPostgresEventLogStorage(PostgresStorage, EventLogStorageSuite):
    pass


class TestPostgresAssetIndex(PostgresStorage, AssetIndexSuite):
    pass


class TestPostgresScheduleStorage(PostgresStorage, ScheduleStorageSuite):
    pass


class TestPostgresBackfillStorage(PostgresStorage, BackfillStorageSuite):
    pass


class TestPostgresDynamicPartitionsStorage(PostgresStorage, DynamicPartitionsStorageSuite):
    pass


class TestPostgresKeyValueStorage(PostgresStorage, KeyValueStorageSuite):
    pass


class TestPostgresRunQueueStorage(PostgresStorage, RunQueueStorageSuite):
    pass


class TestPostgresDaemonStorage(PostgresStorage, DaemonStorageSuite):
    pass


class TestPostgresConcurrencyStorage(PostgresStorage, ConcurrencyStorageSuite):
    pass


class TestPostgresAutomationStorage(PostgresStorage, AutomationStorageSuite):
    pass


class TestPostgresRetentionStorage(PostgresStorage, RetentionStorageSuite):
    pass


class TestPostgresUserStorage(PostgresStorage, UserStorageSuite):
    pass


class TestPostgresTokenStorage(PostgresStorage, TokenStorageSuite):
    pass


class TestPostgresSessionStorage(PostgresStorage, SessionStorageSuite):
    pass


class TestPostgresLoginAttemptStorage(PostgresStorage, LoginAttemptStorageSuite):
    pass


class TestPostgresAuditStorage(PostgresStorage, AuditStorageSuite):
    pass
