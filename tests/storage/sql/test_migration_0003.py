"""Revision 0003 (duty leases and daemon heartbeats) upgrades a database at revision 0002
that holds data: on SQLite through ``knoll instance migrate``, and on PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from knoll.storage.base import QUEUE_LEASE, DaemonHeartbeat
from knoll.storage.sql import SqlStorage
from knoll.storage.sql.engine import postgres_database, sqlite_database
from knoll.storage.version import HEAD_REVISION, MIGRATIONS_FOLDER, migrate, read_revision
from tests.cli.helpers import knoll
from tests.storage.sql.rev0001_fixture import FIXTURE

FAR = 4_000_000_000.0  # a lease taken at revision 0002 that has not expired


def _upgrade_to(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _write_at_0002(engine: sa.Engine) -> None:
    """What a knoll at revision 0002 leaves behind: the dequeue lease held by a worker."""
    with engine.begin() as conn:
        assert read_revision(conn) == "0002"
        conn.execute(
            sa.text("INSERT INTO leases (name, owner, expires_at) VALUES (:n, :o, :e)"),
            {"n": QUEUE_LEASE, "o": "old-worker", "e": FAR},
        )


def _check_upgraded(storage: SqlStorage, *, runs: int) -> None:
    with storage.engine.connect() as conn:
        assert read_revision(conn) == HEAD_REVISION
    assert storage.count_runs() == runs
    # the lease taken before the upgrade is still held, with times of its own
    lease = storage.get_lease(QUEUE_LEASE)
    assert lease is not None
    assert (lease.owner, lease.expires_at) == ("old-worker", FAR)
    assert lease.acquired_at == lease.renewed_at <= FAR
    assert not storage.acquire_queue_lease("new-worker", 30)
    assert storage.renew_lease(QUEUE_LEASE, "old-worker", 30, now=lease.renewed_at + 1)
    # and the new table takes heartbeats
    beat = DaemonHeartbeat("d1", "schedules", 10.0, errors=("boom",))
    storage.record_daemon_heartbeat(beat)
    assert storage.get_daemon_heartbeats() == [beat]


def test_knoll_instance_migrate_upgrades_a_sqlite_instance_from_0002(tmp_path: Path) -> None:
    path = tmp_path / ".knoll" / "knoll.db"
    path.parent.mkdir()
    shutil.copy(FIXTURE, path)  # two runs and their events, at revision 0001
    database = sqlite_database(path)
    try:
        _upgrade_to(database.engine, "0002")
        _write_at_0002(database.engine)
    finally:
        database.dispose()

    done = knoll("instance", "migrate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"migrated the database from revision 0002 to {HEAD_REVISION}")

    storage = SqlStorage.sqlite(path)
    try:
        _check_upgraded(storage, runs=2)
    finally:
        storage.dispose()


def test_a_postgres_schema_at_0002_is_upgraded(
    postgres_url: str, new_postgres_schema: Callable[[], str]
) -> None:
    schema = new_postgres_schema()
    database = postgres_database(postgres_url, schema=schema)
    try:
        _upgrade_to(database.engine, "0002")
        with database.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO runs (run_id, job_name, status, body, create_timestamp, "
                "update_timestamp) VALUES ('r1', 'job', 'QUEUED', '{}', 1.0, 1.0)"
            )
        _write_at_0002(database.engine)
        assert migrate(database.engine).from_revision == "0002"
    finally:
        database.dispose()
    storage = SqlStorage.postgres(postgres_url, schema=schema)
    try:
        _check_upgraded(storage, runs=1)
    finally:
        storage.dispose()
