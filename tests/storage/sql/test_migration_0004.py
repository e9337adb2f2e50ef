"""Revision 0004 (tick keys) upgrades a database at revision 0003 that holds ticks: they keep
their ids and bodies, new ticks get higher ids, and a tick key is claimed once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from knoll.storage.base import InstigatorType, TickStatus
from knoll.storage.sql import SqlStorage
from knoll.storage.sql.engine import postgres_database, sqlite_database
from knoll.storage.version import HEAD_REVISION, MIGRATIONS_FOLDER, migrate, read_revision

_BODY = '{"run_ids":["r1"],"run_keys":[],"skip_reason":null,"error":null,"cursor":"c"}'


def _upgrade_to(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _write_at_0003(engine: sa.Engine) -> tuple[int, int]:
    """Two ticks at revision 0003, the newer one deleted again, so that the highest id ever
    given (which a new tick must not reuse) is above the highest id kept: both ids."""
    with engine.begin() as conn:
        assert read_revision(conn) == "0003"
        ids = [
            conn.execute(
                sa.text(
                    "INSERT INTO ticks (location, name, instigator_type, status, timestamp, "
                    "body) VALUES ('shop', 'hourly', 'SCHEDULE', 'SUCCESS', :t, :b) RETURNING id"
                ),
                {"t": float(n), "b": _BODY},
            ).scalar_one()
            for n in (1, 2)
        ]
        conn.execute(sa.text("DELETE FROM ticks WHERE id = :i"), {"i": ids[1]})
    return ids[0], ids[1]


def _check_upgraded(storage: SqlStorage, kept: int, deleted: int) -> None:
    with storage.engine.connect() as conn:
        assert read_revision(conn) == HEAD_REVISION
    [old] = storage.get_ticks("shop", "hourly")
    assert (old.tick_id, old.status, old.run_ids, old.cursor) == (
        kept,
        TickStatus.SUCCESS,
        ("r1",),
        "c",
    )
    assert (old.tick_key, old.evaluation, old.end_timestamp) == (None, None, None)
    new = storage.claim_tick("shop", "hourly", InstigatorType.SCHEDULE, "k", 9.0)
    assert new.tick_id > deleted
    assert storage.claim_tick("shop", "hourly", InstigatorType.SCHEDULE, "k", 10.0) == new


def test_a_sqlite_database_at_0003_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "knoll.db"
    database = sqlite_database(path)
    try:
        _upgrade_to(database.engine, "0003")
        ids = _write_at_0003(database.engine)
        assert migrate(database.engine).from_revision == "0003"
    finally:
        database.dispose()
    storage = SqlStorage.sqlite(path)
    try:
        _check_upgraded(storage, *ids)
    finally:
        storage.dispose()


def test_a_postgres_schema_at_0003_is_upgraded(
    postgres_url: str, new_postgres_schema: Callable[[], str]
) -> None:
    schema = new_postgres_schema()
    database = postgres_database(postgres_url, schema=schema)
    try:
        _upgrade_to(database.engine, "0003")
        ids = _write_at_0003(database.engine)
        assert migrate(database.engine).from_revision == "0003"
    finally:
        database.dispose()
    storage = SqlStorage.postgres(postgres_url, schema=schema)
    try:
        _check_upgraded(storage, *ids)
    finally:
        storage.dispose()
