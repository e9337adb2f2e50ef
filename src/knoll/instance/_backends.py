"""Opening the storage an instance's settings name, and the schema chores around it.

Imported only when storage is first used: the SQL backends pull in SQLAlchemy, which
``import knoll`` must not.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from knoll.errors import DatabaseVersionError, StorageError
from knoll.instance.config import (
    InMemoryStorageSettings,
    InstanceSettings,
    PostgresStorageSettings,
    SqliteStorageSettings,
)

if TYPE_CHECKING:
    from knoll.storage.base import Storage
    from knoll.storage.sql.engine import Database


def _origin(settings: InstanceSettings) -> str:
    storage = settings.storage
    key = (
        storage.key_path if isinstance(storage, PostgresStorageSettings) else "storage:sqlite:path"
    )
    if settings.source is None:
        return "(the default storage: no knoll.yaml)"
    return f"(set in {settings.source} at path {key})"


def open_storage(settings: InstanceSettings) -> Storage:
    """The storage backend the settings name, checked against the code's schema revision."""
    storage = settings.storage
    if isinstance(storage, InMemoryStorageSettings):
        from knoll.storage.memory import InMemoryStorage

        return InMemoryStorage()
    from knoll.storage.sql import SqlStorage

    try:
        if isinstance(storage, SqliteStorageSettings):
            return SqlStorage.sqlite(storage.path)
        return SqlStorage.postgres(storage.url, schema=storage.schema)
    except DatabaseVersionError:
        raise  # it already says what to run
    except StorageError as exc:
        raise StorageError(f"{exc} {_origin(settings)}") from exc


def _database(settings: InstanceSettings) -> Database | None:
    from knoll.storage.sql.engine import postgres_database, sqlite_database

    storage = settings.storage
    if isinstance(storage, SqliteStorageSettings):
        return sqlite_database(storage.path)
    if isinstance(storage, PostgresStorageSettings):
        return postgres_database(storage.url, schema=storage.schema)
    return None


def migrate(settings: InstanceSettings) -> tuple[str | None, str]:
    """Upgrade the settings' database to the code's revision: ``(before, after)``."""
    from knoll.storage.version import HEAD_REVISION
    from knoll.storage.version import migrate as upgrade

    database = _database(settings)
    if database is None:
        return HEAD_REVISION, HEAD_REVISION  # memory always has the code's schema
    try:
        done = upgrade(database.engine)
    except DatabaseVersionError:
        raise
    except StorageError as exc:
        raise StorageError(f"{exc} {_origin(settings)}") from exc
    finally:
        database.dispose()
    return done.from_revision, done.to_revision


def schema_status(settings: InstanceSettings) -> str:
    """The database's schema revision in words, for ``knoll instance info``; never raises
    for a database that is behind or down (that is what the user is looking into)."""
    if isinstance(settings.storage, InMemoryStorageSettings):
        return "n/a (in-memory storage)"
    from knoll.storage.version import HEAD_REVISION, REVISIONS, read_revision

    try:
        database = _database(settings)
    except StorageError as exc:
        return f"unknown: {exc}"
    if database is None:  # pragma: no cover - every other kind returned above
        return "n/a"
    try:
        with database.read() as conn:
            current = read_revision(conn)
    except StorageError as exc:  # DatabaseVersionError included: it says what is wrong
        return f"unknown: {exc}"
    finally:
        database.dispose()
    if current is None:
        return f"none yet (tables are created at revision {HEAD_REVISION} on first use)"
    if current == HEAD_REVISION:
        return f"{current} (up to date)"
    if current not in REVISIONS:
        return f"{current}, newer than this knoll (it expects {HEAD_REVISION}): upgrade knoll"
    return f"{current}, code expects {HEAD_REVISION}: run `knoll instance migrate`"


def database_size(settings: InstanceSettings) -> int | None:
    """Bytes on disk of a SQLite database (with its write-ahead log); None for others."""
    storage = settings.storage
    if not isinstance(storage, SqliteStorageSettings):
        return None
    total = 0
    for suffix in ("", "-wal"):
        with suppress(FileNotFoundError):
            total += storage.path.with_name(storage.path.name + suffix).stat().st_size
    return total


def vacuum(storage: Storage) -> None:
    """Give the space of deleted rows back (VACUUM on SQLite, VACUUM ANALYZE on PostgreSQL)."""
    compact = getattr(storage, "vacuum", None)
    if callable(compact):
        compact()
