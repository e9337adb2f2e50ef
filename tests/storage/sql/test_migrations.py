"""Schema revisions: new databases get every table, old ones are refused until migrated, the
migrations and ``schema.py`` agree, and a database written at revision 0001 still opens."""

from __future__ import annotations

import ast
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from knoll import AssetKey
from knoll.defs.keys import AssetCheckKey
from knoll.errors import DatabaseVersionError, StorageError
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.storage import version
from knoll.storage.base import BackfillStatus, PartitionStatus, RunsFilter, TickStatus
from knoll.storage.sql import SqlStorage
from knoll.storage.sql.engine import Database, postgres_database, sqlite_database
from knoll.storage.sql.schema import metadata
from knoll.storage.version import (
    HEAD_REVISION,
    REVISIONS,
    Migration,
    check_revision,
    create,
    migrate,
    read_revision,
)
from tests.storage.conformance.builders import log, make_run
from tests.storage.sql.rev0001_fixture import BAD_RUN, FIXTURE, GOOD_RUN

VERSIONS = version.MIGRATIONS_FOLDER / "versions"


def _script_directory() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(version.MIGRATIONS_FOLDER))
    return ScriptDirectory.from_config(config)


def _revision(database: Database) -> str | None:
    with database.engine.connect() as conn:
        return read_revision(conn)


def _set_revision(database: Database, revision: str) -> None:
    with database.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


# ---- the revisions agree ---------------------------------------------------------------------


def test_head_revision_is_alembics_head_and_the_history_is_linear() -> None:
    scripts = _script_directory()
    assert scripts.get_heads() == [HEAD_REVISION]
    history = [s.revision for s in scripts.walk_revisions("base", "heads")]
    assert tuple(reversed(history)) == REVISIONS


def test_migration_scripts_import_only_sqlalchemy_and_alembic() -> None:
    for script in sorted(VERSIONS.glob("*.py")):
        tree = ast.parse(script.read_text())
        imported = {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        roots = {name.split(".")[0] for name in imported}
        assert roots <= {"__future__", "sqlalchemy", "alembic"}, (script.name, roots)


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_sqlite_migrations_build_exactly_the_tables_of_schema_py(tmp_path: Path) -> None:
    migrated = sqlite_database(tmp_path / "migrated.db")
    created = sqlite_database(tmp_path / "created.db")
    try:
        migrate(migrated.engine)
        assert _differences(migrated) == []
        # Alembic's comparison does not see SQLite's table options (AUTOINCREMENT, WITHOUT
        # ROWID): compare the DDL SQLite kept for each table and index as well.
        metadata.create_all(created.engine)

        def ddl(database: Database) -> dict[str, str]:
            with database.engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                    "AND name NOT IN ('alembic_version', 'sqlite_sequence')"
                ).all()
            return {name: " ".join(sql.split()) for name, sql in rows}

        assert ddl(migrated) == ddl(created)
        assert "AUTOINCREMENT" in ddl(migrated)["events"]
        assert ddl(migrated)["asset_partitions"].endswith("WITHOUT ROWID")
    finally:
        migrated.dispose()
        created.dispose()


def test_the_comparison_sees_a_difference(tmp_path: Path) -> None:
    """The check above can fail: a table that schema.py gained without a migration shows."""
    database = sqlite_database(tmp_path / "knoll.db")
    try:
        migrate(database.engine)
        sa.Table("new_table", metadata, sa.Column("id", sa.Integer, primary_key=True))
        try:
            assert [d[0] for d in _differences(database)] == ["add_table"]  # type: ignore[index]
        finally:
            metadata.remove(metadata.tables["new_table"])
    finally:
        database.dispose()


def test_postgres_migrations_build_exactly_the_tables_of_schema_py(
    postgres_url: str, new_postgres_schema: Callable[[], str]
) -> None:
    database = postgres_database(postgres_url, schema=new_postgres_schema())
    try:
        migrate(database.engine)
        assert _differences(database) == []
        with database.engine.connect() as conn:
            id_type = conn.exec_driver_sql(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = 'events' AND column_name = 'id'"
            ).scalar_one()
        assert id_type == "bigint"
    finally:
        database.dispose()


# ---- new, current, older and newer databases ----------------------------------------------


def test_a_new_sqlite_file_is_created_at_the_head(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "knoll.db"
    storage = SqlStorage.sqlite(path)
    try:
        assert storage.migration == Migration(None, HEAD_REVISION)
        assert _revision(storage._db) == HEAD_REVISION
        storage.add_run(make_run(run_id="r1"))
    finally:
        storage.dispose()
    reopened = SqlStorage.sqlite(path)
    try:
        assert reopened.migration is None  # nothing to do
        assert reopened.get_run("r1") is not None
    finally:
        reopened.dispose()


def test_a_new_postgres_schema_is_created_at_the_head(
    postgres_url: str, new_postgres_schema: Callable[[], str]
) -> None:
    schema = new_postgres_schema()
    storage = SqlStorage.postgres(postgres_url, schema=schema)
    try:
        assert storage.migration == Migration(None, HEAD_REVISION)
        storage.add_run(make_run(run_id="r1"))
    finally:
        storage.dispose()
    reopened = SqlStorage.postgres(postgres_url, schema=schema)
    try:
        assert reopened.migration is None
        assert reopened.get_run("r1") is not None
    finally:
        reopened.dispose()


def _pretend_the_code_moved_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if a revision 9000 had been added after the head this database is at."""
    monkeypatch.setattr(version, "HEAD_REVISION", "9000")
    monkeypatch.setattr(version, "REVISIONS", (*REVISIONS, "9000"))


def test_an_older_database_is_refused_until_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SqlStorage.sqlite(tmp_path / "knoll.db").dispose()
    _pretend_the_code_moved_on(monkeypatch)
    expected = (
        f"database is at revision {HEAD_REVISION}, code expects 9000: run `knoll instance "
        f"migrate` to upgrade the SQLite database at {tmp_path / 'knoll.db'}"
    )
    with pytest.raises(DatabaseVersionError, match=re.escape(expected)):
        SqlStorage.sqlite(tmp_path / "knoll.db")


def test_a_newer_database_asks_for_a_newer_knoll(tmp_path: Path) -> None:
    database = sqlite_database(tmp_path / "knoll.db")
    migrate(database.engine)
    _set_revision(database, "9000")
    database.dispose()
    expected = (
        f"database is at revision 9000, which is newer than this knoll (it expects "
        f"{HEAD_REVISION}): upgrade knoll"
    )
    with pytest.raises(DatabaseVersionError, match=re.escape(expected)):
        SqlStorage.sqlite(tmp_path / "knoll.db")
    # and migrating does not touch it either
    with pytest.raises(DatabaseVersionError, match="newer than this knoll"):
        SqlStorage.sqlite(tmp_path / "knoll.db", migrate=True)
    database = sqlite_database(tmp_path / "knoll.db")
    assert _revision(database) == "9000"
    database.dispose()


def test_tables_without_a_revision_are_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY)")
    with pytest.raises(DatabaseVersionError, match="has a runs table but no alembic_version"):
        SqlStorage.sqlite(path)


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    database = sqlite_database(tmp_path / "knoll.db")
    try:
        assert migrate(database.engine) == Migration(None, HEAD_REVISION)
        assert migrate(database.engine) == Migration(HEAD_REVISION, HEAD_REVISION)
        assert not migrate(database.engine).changed
    finally:
        database.dispose()


def test_opening_a_current_database_does_not_import_alembic(tmp_path: Path) -> None:
    SqlStorage.sqlite(tmp_path / "knoll.db").dispose()
    code = (
        "import sys\n"
        "from knoll.storage.sql import SqlStorage\n"
        f"SqlStorage.sqlite({str(tmp_path / 'knoll.db')!r}).dispose()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# ---- a database written at revision 0001 ---------------------------------------------------


def test_a_database_written_at_revision_0001_opens_with_this_code(tmp_path: Path) -> None:
    path = tmp_path / "knoll.db"
    shutil.copy(FIXTURE, path)
    database = sqlite_database(path)
    assert _revision(database) == "0001"
    database.dispose()

    storage = SqlStorage.sqlite(path, migrate=True)
    try:
        assert storage.migration == Migration("0001", HEAD_REVISION)
        good = storage.get_run(GOOD_RUN)
        bad = storage.get_run(BAD_RUN)
        assert good is not None
        assert bad is not None
        assert good.run.status is RunStatus.SUCCESS
        assert bad.run.status is RunStatus.FAILURE
        assert good.run.tags == {"team": "data", "knoll/partition": "north"}
        assert good.run.run_config == {"ops": {"sales": {"config": {"limit": 5}}}}
        tagged = storage.get_runs(RunsFilter(tags={"knoll/partition": "south"}))
        assert [r.run.run_id for r in tagged.records] == [BAD_RUN]
        assert storage.count_runs(RunsFilter(asset_key=AssetKey("sales"))) == 2

        types = [r.event.event_type for r in storage.get_events_for_run(GOOD_RUN).records]
        assert types[0] is EventType.ASSET_MATERIALIZATION_PLANNED
        assert types[-1] is EventType.RUN_SUCCESS
        assert len(storage.tail_events().records) == 12

        (record,) = storage.get_asset_records([AssetKey("sales")])
        assert record.materialization_count == 1
        assert record.last_materialization is not None
        assert record.last_materialization.event.materialization.metadata["rows"].value == 10
        # written before materializations kept a data version
        assert record.last_materialization.event.materialization.data_version is None
        assert storage.get_partition_status(AssetKey("sales")) == {
            "north": PartitionStatus.MATERIALIZED,
            "south": PartitionStatus.FAILED,
        }
        check = storage.get_latest_check_results([AssetCheckKey(AssetKey("sales"), "positive")])
        assert [c.passed for c in check.values()] == [True]

        (tick,) = storage.get_ticks("shop", "nightly")
        assert tick.status is TickStatus.SUCCESS
        assert tick.run_ids == (GOOD_RUN,)
        backfill = storage.get_backfill("bf-1")
        assert backfill is not None
        assert backfill.status is BackfillStatus.COMPLETED
        assert storage.get_dynamic_partitions("customers") == ["acme", "globex"]
        assert storage.kv_get(["daemon/cursor"]) == {"daemon/cursor": "42"}

        # and it takes new writes after the old ones
        storage.add_run(make_run(run_id="new-run"))
        storage.store_events([log("new-run")])
        (new,) = storage.get_events_for_run("new-run").records
        assert new.storage_id > max(r.storage_id for r in storage.tail_events().records[:-1])
    finally:
        storage.dispose()


def test_the_fixture_file_is_left_as_it_was() -> None:
    """The tests copy the fixture before opening it: the kept file stays at 0001."""
    with sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]


def test_a_migration_failure_names_the_database_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "knoll.db"
    with sqlite3.connect(path) as conn:
        # Something in the way of the first migration: a table it is about to create.
        conn.execute("CREATE TABLE events (x INTEGER)")
    database = sqlite_database(path)
    try:
        with pytest.raises(StorageError, match=r"cannot migrate the SQLite database at .*events"):
            migrate(database.engine)
        assert _revision(database) is None
        assert sa.inspect(database.engine).get_table_names() == ["events"]
    finally:
        database.dispose()


def test_revision_0002_adds_the_queue_and_pool_tables_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "knoll.db"
    shutil.copy(FIXTURE, path)
    before = sqlite_database(path)
    tables_before = set(sa.inspect(before.engine).get_table_names())
    before.dispose()
    assert "concurrency_slots" not in tables_before

    storage = SqlStorage.sqlite(path, migrate=True)
    try:
        assert storage.migration == Migration("0001", HEAD_REVISION)
        tables = set(sa.inspect(storage.engine).get_table_names())
        assert tables - tables_before == {
            "leases",
            "concurrency_pools",
            "concurrency_slots",
            "daemon_heartbeats",
            "automation_cursors",
            "automation_evaluations",
            "users",
            "api_tokens",
            "sessions",
            "login_failures",
            "audit_log",
        }
        # the old runs are still there, and the new tables work beside them
        assert storage.count_runs() == 2
        assert storage.count_in_progress_runs() == 0
        storage.add_run(make_run(run_id="queued"))
        assert [r.run.run_id for r in storage.get_queued_runs()] == ["queued"]
        assert storage.acquire_queue_lease("daemon", 30)
        storage.set_pool_limit("warehouse", 1)
        assert storage.claim_slot("warehouse", "queued", "step", 30)
        assert not storage.claim_slot("warehouse", "other", "step", 30)
    finally:
        storage.dispose()


def test_a_new_database_created_without_alembic_matches_the_migrations(tmp_path: Path) -> None:

    created = sqlite_database(tmp_path / "created.db")
    migrated = sqlite_database(tmp_path / "migrated.db")
    try:
        assert create(created.engine) == Migration(None, HEAD_REVISION)
        migrate(migrated.engine)
        assert check_revision(created.engine) == HEAD_REVISION
        with created.engine.connect() as a, migrated.engine.connect() as b:
            query = (
                "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name"
            )

            def shape(conn: sa.Connection) -> list[tuple[str, str]]:
                # the same definitions, whatever whitespace each path wrote them with
                return [(n, "".join((sql or "").split())) for n, sql in conn.exec_driver_sql(query)]

            assert shape(a) == shape(b)
        # a second create finds the tables there and changes nothing
        assert create(created.engine) == Migration(HEAD_REVISION, HEAD_REVISION)
    finally:
        created.dispose()
        migrated.dispose()
