"""Every storage conformance suite, against SQLite."""

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


class SqliteStorage:
    @pytest.fixture
    def storage(self, sqlite_storage: SqlStorage) -> Storage:
        return sqlite_storage


class TestSqliteRunStorage(SqliteStorage, RunStorageSuite):
    pass


class TestSqliteEventLogStorage(SqliteStorage, EventLogStorageSuite):
    pass


class TestSqliteAssetIndex(SqliteStorage, AssetIndexSuite):
    pass


class TestSqliteScheduleStorage(SqliteStorage, ScheduleStorageSuite):
    pass


class TestSqliteBackfillStorage(SqliteStorage, BackfillStorageSuite):
    pass


class TestSqliteDynamicPartitionsStorage(SqliteStorage, DynamicPartitionsStorageSuite):
    pass


class TestSqliteKeyValueStorage(SqliteStorage, KeyValueStorageSuite):
    pass


class TestSqliteRunQueueStorage(SqliteStorage, RunQueueStorageSuite):
    pass


class TestSqliteDaemonStorage(SqliteStorage, DaemonStorageSuite):
    pass


class TestSqliteConcurrencyStorage(SqliteStorage, ConcurrencyStorageSuite):
    pass


class TestSqliteAutomationStorage(SqliteStorage, AutomationStorageSuite):
    pass


class TestSqliteRetentionStorage(SqliteStorage, RetentionStorageSuite):
    pass


class TestSqliteUserStorage(SqliteStorage, UserStorageSuite):
    pass


class TestSqliteTokenStorage(SqliteStorage, TokenStorageSuite):
    pass


class TestSqliteSessionStorage(SqliteStorage, SessionStorageSuite):
    pass


class TestSqliteLoginAttemptStorage(SqliteStorage, LoginAttemptStorageSuite):
    pass


class TestSqliteAuditStorage(SqliteStorage, AuditStorageSuite):
    pass
