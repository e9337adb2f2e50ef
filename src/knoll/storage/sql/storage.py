"""``SqlStorage``: every storage interface on one SQL database, SQLite or PostgreSQL."""

from __future__ import annotations

import os

from sqlalchemy.engine import URL, Engine

from knoll.storage.base import Storage
from knoll.storage.sql.access import SqlAccessStorage
from knoll.storage.sql.automation import SqlAutomationStorage
from knoll.storage.sql.backfills import SqlBackfillStorage
from knoll.storage.sql.daemon import SqlDaemonStorage
from knoll.storage.sql.engine import Database, postgres_database, sqlite_database
from knoll.storage.sql.events import SqlEventLogStorage
from knoll.storage.sql.index import SqlAssetIndex
from knoll.storage.sql.kv import SqlDynamicPartitionsStorage, SqlKeyValueStorage
from knoll.storage.sql.pools import SqlConcurrencyStorage
from knoll.storage.sql.queue import SqlRunQueueStorage
from knoll.storage.sql.retention import SqlRetentionStorage
from knoll.storage.sql.runs import SqlRunStorage
from knoll.storage.sql.schedules import SqlScheduleStorage
from knoll.storage.version import Migration, check_revision
from knoll.storage.version import create as _create
from knoll.storage.version import migrate as _migrate


class SqlStorage(
    SqlRunStorage,
    SqlEventLogStorage,
    SqlAssetIndex,
    SqlScheduleStorage,
    SqlBackfillStorage,
    SqlDynamicPartitionsStorage,
    SqlKeyValueStorage,
    SqlRunQueueStorage,
    SqlDaemonStorage,
    SqlConcurrencyStorage,
    SqlAutomationStorage,
    SqlRetentionStorage,
    SqlAccessStorage,
    Storage,
):
    """Runs, events, the asset index, schedules, backfills, dynamic partitions, key-value
    pairs, the run queue, concurrency pools, duty leases, daemon heartbeats, automation
    evaluations, users, API tokens, sessions and the audit log in one SQL database.

    Build one with ``SqlStorage.sqlite(path)`` or ``SqlStorage.postgres(url)``. A new, empty
    database gets every table; one at an older schema revision raises
    ``DatabaseVersionError`` until ``knoll instance migrate`` (or ``migrate=True``)
    upgrades it.
    """

    def __init__(self, database: Database, *, migrate: bool = False) -> None:
        self._db = database
        self.migration: Migration | None = None
        try:
            with database.read() as conn:  # says plainly when the database cannot be reached
                conn.exec_driver_sql("SELECT 1")
            if migrate:
                self.migration = _migrate(database.engine)
            elif check_revision(database.engine) is None:
                self.migration = _create(database.engine)
        except BaseException:
            database.dispose()
            raise

    @classmethod
    def sqlite(cls, path: str | os.PathLike[str], *, migrate: bool = False) -> SqlStorage:
        """Storage in the SQLite file at ``path`` (created, with its folder, when missing)."""
        return cls(sqlite_database(path), migrate=migrate)

    @classmethod
    def postgres(
        cls,
        url: str | URL,
        *,
        schema: str | None = None,
        pool_size: int = 5,
        migrate: bool = False,
    ) -> SqlStorage:
        """Storage in the PostgreSQL database at ``url`` (``postgresql://user@host/db``);
        ``schema`` keeps knoll's tables in their own schema."""
        return cls(postgres_database(url, schema=schema, pool_size=pool_size), migrate=migrate)

    @property
    def engine(self) -> Engine:
        return self._db.engine

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    def vacuum(self) -> None:
        """Give the space of deleted rows back after pruning.

        SQLite: ``VACUUM`` rewrites the file, so it shrinks. PostgreSQL: ``VACUUM (ANALYZE)``
        of the event log makes the space reusable at once and refreshes the planner's
        statistics (autovacuum would get there too, later); the files keep their size.
        """
        if self._db.dialect == "postgresql":
            with self._db.read() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM (ANALYZE) events")
            return
        raw = self._db.engine.raw_connection()
        try:
            # Outside any transaction (the driver's implicit BEGIN is off): VACUUM needs that.
            driver = raw.driver_connection
            driver.execute("VACUUM")  # type: ignore[union-attr]
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()

    def dispose(self) -> None:
        self._db.dispose()

    def __repr__(self) -> str:
        return f"SqlStorage({self._db.description})"
