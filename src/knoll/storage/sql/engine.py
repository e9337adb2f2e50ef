"""Engines for the two SQL dialects, and the one way the storage reads and writes.

SQLite: WAL (readers never block the writer), a busy timeout, and ``BEGIN IMMEDIATE`` for
every write so that a writer takes the lock when its transaction starts instead of failing
when it upgrades a read lock. A write that still meets "database is locked" is retried with
backoff a bounded number of times, so several processes writing at once never show that
error to a user.

PostgreSQL: psycopg 3 with a connection pool (checked with a ping before use); a deadlock or
serialization failure is retried the same way.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from knoll.errors import StorageError, StorageWriteError
from knoll.storage.version import unreachable

T = TypeVar("T")

Dialect = Literal["sqlite", "postgresql"]

# SQLite waits this long for the lock before it reports "database is locked"...
SQLITE_BUSY_TIMEOUT_SECONDS = 15.0
# ...and a write that still fails is tried again this many times in all, with backoff.
WRITE_ATTEMPTS = 8
_BACKOFF_START = 0.02
_BACKOFF_MAX = 1.0

_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_PG_RETRY_STATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected

_BEGIN_OPTION = "knoll_sqlite_begin"


@dataclass
class Database:
    """An engine, its dialect and a description for messages (no password in it)."""

    engine: Engine
    dialect: Dialect
    description: str

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads; its statements share one snapshot until it closes."""
        with self._connect() as conn:
            yield conn

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one write transaction and commit; retried from the start when the
        database is busy, so ``fn`` must only touch the database (and be safe to rerun)."""
        delay = _BACKOFF_START
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self._connect() as conn:
                    if self.dialect == "sqlite":
                        conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
                    with conn.begin():
                        return fn(conn)
            except sa.exc.DBAPIError as exc:
                if not self._is_retryable(exc):
                    if isinstance(exc, sa.exc.OperationalError):
                        # disk full, read-only, I/O error: one clear error, not a traceback
                        raise StorageWriteError(self.description, _reason(exc)) from exc
                    raise
                if attempt == WRITE_ATTEMPTS:
                    raise StorageError(
                        f"{self.description} stayed busy through {WRITE_ATTEMPTS} attempts "
                        f"to write ({_reason(exc)}). Another process holds a long write "
                        "transaction: let it finish, or use PostgreSQL for many writers."
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, _BACKOFF_MAX)
        raise AssertionError("unreachable")  # the loop returns or raises

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except sa.exc.DBAPIError as exc:
            raise self.connect_error(exc) from exc
        with conn:
            try:
                yield conn
            except sa.exc.DBAPIError as exc:
                if exc.connection_invalidated:  # the server went away mid-statement
                    raise self.connect_error(exc) from exc
                raise

    def connect_error(self, exc: Exception) -> StorageError:
        return unreachable(self.dialect, self.description, exc)

    def _is_retryable(self, exc: sa.exc.DBAPIError) -> bool:
        orig = exc.orig
        if self.dialect == "sqlite":
            code = getattr(orig, "sqlite_errorcode", None)
            if code is not None:
                return (code & 0xFF) in _SQLITE_BUSY_CODES
            text = str(orig).lower()
            return "locked" in text or "busy" in text
        return getattr(orig, "sqlstate", None) in _PG_RETRY_STATES

    def dispose(self) -> None:
        self.engine.dispose()


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    return text or type(orig).__name__


# ---- SQLite ------------------------------------------------------------------------------


def sqlite_database(
    path: str | os.PathLike[str], *, busy_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS
) -> Database:
    """A SQLite database file (created with its folder when missing), in WAL mode."""
    file = Path(path).expanduser().resolve()
    description = f"the SQLite database at {file}"
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the folder {file.parent} for {description}: {exc.strerror}. "
            "Check the path in knoll.yaml (storage.sqlite.path) and the folder's permissions."
        ) from exc
    engine = sa.create_engine(
        URL.create("sqlite", database=str(file)),
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )
    _configure_sqlite(engine, busy_timeout)
    return Database(engine, "sqlite", description)


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is off: we emit BEGIN ourselves (below), so reads
        # are repeatable and writes take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            _use_wal(cursor, busy_timeout)
            # In WAL mode, NORMAL loses no committed transaction when a process crashes;
            # only a power cut can roll back the last ones, and the file stays consistent.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _use_wal(cursor: Any, busy_timeout: float) -> None:
    """Switch the file to WAL (a setting kept in the file, so once per database).

    Switching needs the database to itself, and SQLite reports "locked" at once rather
    than waiting when several processes open a new file together: retry for as long as the
    busy timeout would have waited.
    """
    deadline = time.monotonic() + busy_timeout
    delay = _BACKOFF_START
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as exc:
            text = str(exc).lower()
            if not ("locked" in text or "busy" in text) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, _BACKOFF_MAX)


# ---- PostgreSQL --------------------------------------------------------------------------

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def postgres_database(
    url: str | URL,
    *,
    schema: str | None = None,
    pool_size: int = 5,
    max_overflow: int = 10,
    connect_timeout: int = 10,
) -> Database:
    """A PostgreSQL database through psycopg 3. ``schema`` puts knoll's tables in that schema
    (created when missing) instead of the server's default search path."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername != "postgresql+psycopg":
        raise StorageError(
            f"the PostgreSQL URL {parsed.render_as_string(hide_password=True)!r} names the "
            f"driver {parsed.drivername!r}: write it as postgresql://user@host:port/database."
        )
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    description = f"PostgreSQL at {where}"
    connect_args: dict[str, Any] = {"connect_timeout": connect_timeout}
    if schema is not None:
        if not _SCHEMA_NAME.match(schema):
            raise StorageError(
                f"schema name {schema!r} for {description} is not valid: use letters, digits "
                "and underscores, starting with a letter or underscore (at most 63)."
            )
        connect_args["options"] = f"-c search_path={schema}"
        description += f" (schema {schema})"
    engine = sa.create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args=connect_args,
    )
    database = Database(engine, "postgresql", description)
    if schema is not None:
        # IntegrityError: another process created it at the same moment.
        with contextlib.suppress(sa.exc.IntegrityError):
            database.write(
                lambda conn: conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            )
    return database
