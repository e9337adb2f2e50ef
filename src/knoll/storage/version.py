"""Schema revisions of the SQL storage: which one a database is at, and upgrading it.

``check_revision`` reads Alembic's ``alembic_version`` table with a plain query, so opening
a database never imports Alembic; only ``migrate`` (``knoll instance migrate``, or the
creation of a new database) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from knoll.errors import DatabaseVersionError, StorageError

HEAD_REVISION = "0006"
"""The revision this code reads and writes: the head of ``knoll/storage/migrations``."""

REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006")
"""Every revision, oldest first (a test checks it against the migration scripts)."""

MIGRATIONS_FOLDER = Path(__file__).parent / "migrations"

_VERSION_TABLE = "alembic_version"
_BEGIN_OPTION = "knoll_sqlite_begin"  # see knoll.storage.sql.engine
# pg_advisory_xact_lock(key, hashtext(current_schema())): one migration at a time per schema.
_PG_MIGRATION_LOCK = 0x6B6E_6D67  # "knmg"


@dataclass(frozen=True)
class Migration:
    """What ``migrate`` did: the revision before (None for a new database) and after."""

    from_revision: str | None
    to_revision: str

    @property
    def changed(self) -> bool:
        return self.from_revision != self.to_revision


def describe(engine: Engine) -> str:
    """The database in words, without a password: for messages."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database at {url.database}"
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    return f"PostgreSQL at {where}"


def unreachable(dialect: str, description: str, exc: Exception) -> StorageError:
    """The error for a database that cannot be reached, saying what to check."""
    orig = getattr(exc, "orig", None) or exc
    reason = " ".join(str(orig).split()) or type(orig).__name__
    if dialect == "postgresql":
        return StorageError(
            f"cannot connect to {description}: {reason}. Check that the server is running and "
            "the URL in knoll.yaml (storage.postgres.url) is right."
        )
    return StorageError(
        f"cannot open {description}: {reason}. Check that the folder exists and is writable, "
        "and that the file is a SQLite database."
    )


def read_revision(conn: Connection) -> str | None:
    """The revision recorded in the database, or None when it has no knoll tables yet."""
    if not sa.inspect(conn).has_table(_VERSION_TABLE):
        return None
    rows = conn.exec_driver_sql(f"SELECT version_num FROM {_VERSION_TABLE}").scalars().all()
    if len(rows) != 1:
        # Knoll's migrations are one linear history: anything else was written by hand.
        raise DatabaseVersionError(
            f"the {_VERSION_TABLE} table holds {len(rows)} revisions ({', '.join(rows)}); "
            f"knoll expects exactly one. Restore the database from a backup, or delete the "
            "extra rows if you know which revision the tables are at."
        )
    return str(rows[0])


def check_revision(engine: Engine) -> str | None:
    """Raise ``DatabaseVersionError`` unless the database is at ``HEAD_REVISION`` or empty;
    returns the revision (None for a database without knoll's tables)."""
    with engine.connect() as conn:
        current = read_revision(conn)
        if current is None and sa.inspect(conn).has_table("runs"):
            raise DatabaseVersionError(
                f"{describe(engine)} has a runs table but no {_VERSION_TABLE} table, so "
                "knoll cannot tell which revision it is at. Point knoll at an empty database "
                "(or another schema), or restore the database from a backup."
            )
    _check(engine, current)
    return current


def _check(engine: Engine, current: str | None) -> None:
    if current is None or current == HEAD_REVISION:
        return
    if current in REVISIONS:
        raise DatabaseVersionError(
            f"database is at revision {current}, code expects {HEAD_REVISION}: run "
            f"`knoll instance migrate` to upgrade {describe(engine)}."
        )
    raise DatabaseVersionError(
        f"database is at revision {current}, which is newer than this knoll (it expects "
        f"{HEAD_REVISION}): upgrade knoll (pip install -U knoll) to use {describe(engine)}."
    )


def create(engine: Engine) -> Migration:
    """Create every table of a new database at ``HEAD_REVISION``, without Alembic.

    What Alembic's migrations build from nothing is exactly ``schema.py`` (a test compares the
    two), so a new database is created from ``schema.py`` directly and stamped with the head
    revision: importing Alembic costs more than creating the tables. A database that already
    has a revision (another process got there first) is left to ``migrate``.
    """
    from knoll.storage.sql.schema import metadata

    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise unreachable(engine.dialect.name, describe(engine), exc) from exc
    try:
        with conn:
            conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                        {"key": _PG_MIGRATION_LOCK},
                    )
                current = read_revision(conn)
                if current is None:
                    metadata.create_all(conn)
                    conn.exec_driver_sql(
                        f"CREATE TABLE {_VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
                        f"CONSTRAINT {_VERSION_TABLE}_pkc PRIMARY KEY (version_num))"
                    )
                    conn.execute(
                        sa.text(f"INSERT INTO {_VERSION_TABLE} (version_num) VALUES (:v)"),
                        {"v": HEAD_REVISION},
                    )
                    return Migration(None, HEAD_REVISION)
    except sa.exc.DBAPIError as exc:
        reason = " ".join(str(exc.orig).split())
        raise StorageError(
            f"cannot create the tables in {describe(engine)}: {reason}. Nothing was changed; "
            "fix the cause and open the instance again."
        ) from exc
    return migrate(engine)


def migrate(engine: Engine) -> Migration:
    """Upgrade the database to ``HEAD_REVISION`` (creating every table in a new one).

    One process migrates at a time (SQLite's write lock, a PostgreSQL advisory lock); the
    others find the database already at the head. A database newer than this knoll is left
    alone and raises ``DatabaseVersionError``.
    """
    from alembic import command
    from alembic.config import Config

    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise unreachable(engine.dialect.name, describe(engine), exc) from exc
    try:
        with conn:
            conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                        {"key": _PG_MIGRATION_LOCK},
                    )
                current = read_revision(conn)
                if current is not None and current not in REVISIONS:
                    _check(engine, current)
                if current != HEAD_REVISION:
                    config = Config()
                    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
                    config.attributes["connection"] = conn
                    command.upgrade(config, HEAD_REVISION)
    except sa.exc.DBAPIError as exc:
        reason = " ".join(str(exc.orig).split())
        raise StorageError(
            f"cannot migrate {describe(engine)}: {reason}. Nothing was changed; fix the cause "
            "and run `knoll instance migrate` again."
        ) from exc
    return Migration(current, HEAD_REVISION)
