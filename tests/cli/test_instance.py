"""`knoll instance info | migrate | prune`, and how a broken instance is reported."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import knoll, run_ids

POSTGRES_URL = os.environ.get("KNOLL_TEST_POSTGRES_URL")


def test_info_names_where_everything_is(tmp_path: Path) -> None:
    done = knoll("instance", "info", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    home = tmp_path / ".knoll"
    info = dict(line.split(":  ", 1) for line in done.stdout.splitlines())
    assert {k: v.strip() for k, v in info.items()} == {
        "home": str(home),
        "settings": f"{home / 'knoll.yaml'} (not there: defaults)",
        "storage": "sqlite",
        "location": str(home / "knoll.db"),
        "schema revision": info["schema revision"].strip(),
        "compute logs": str(home / "logs"),
        "outputs": str(home / "storage"),
        "retention": "keep everything (set retention: {older_than: 30d} to prune)",
        "run monitor": "not running (start one: knoll run monitor)",
        "queue worker": "not running (start one: knoll run queue-worker)",
        "daemon": "not running (start one: knoll daemon run)",
    }


def test_migrate_creates_then_keeps_the_schema(tmp_path: Path) -> None:
    first = knoll("instance", "migrate", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("migrated the database from revision (empty) to ")
    again = knoll("instance", "migrate", cwd=tmp_path)
    assert again.stdout.startswith("the database is up to date (revision ")
    info = knoll("instance", "info", cwd=tmp_path).stdout
    assert "(up to date)" in info


def test_prune_keeps_the_asset_history(project: Path) -> None:
    knoll("asset", "materialize", "-m", "project", "--select", "raw", cwd=project)
    [run_id] = run_ids(project)
    logs = project / ".knoll" / "logs" / run_id
    assert (logs / "raw.out").read_text() == "fetched 3 rows\n"
    recent = knoll("instance", "prune", cwd=project)  # default: older than 30 days
    assert recent.returncode == 0, recent.stderr
    assert recent.stdout.startswith("pruned 0 runs finished before ")
    time.sleep(1.1)  # so that the run finished more than a second ago
    done = knoll("instance", "prune", "--older-than", "1s", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pruned 1 run finished before ")
    assert "asset materializations, observations and check results kept" in done.stdout
    assert not logs.exists()
    shown = knoll("asset", "show", "raw", cwd=project)
    assert f"  run:           {run_id}" in shown.stdout.splitlines()
    events = knoll("run", "logs", run_id, cwd=project).stdout
    assert "ASSET_MATERIALIZATION " in events
    assert "STEP_START" not in events
    assert "this run's other events and its logs were pruned" in events


def test_prune_rejects_a_bad_age(tmp_path: Path) -> None:
    done = knoll("instance", "prune", "--older-than", "30 days", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --older-than '30 days' is not a duration:")


def test_a_malformed_knoll_yaml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    settings = tmp_path / ".knoll" / "knoll.yaml"
    settings.parent.mkdir()
    settings.write_text("storage:\n  sqlit:\n    path: x.db\n")
    for command in (["run", "list"], ["instance", "info"], ["asset", "list"]):
        done = knoll(*command, cwd=tmp_path)
        assert done.returncode == 2, command
        first, second = done.stderr.splitlines()[:2]
        assert first == f"error: Invalid config for instance settings {settings}: 1 error"
        assert second == "  - at path storage: unknown field 'sqlit'. Did you mean 'sqlite'?"
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            b"storage: [\n",
            "line 2, column 1: not valid YAML: expected the node content, but found "
            "'<stream end>'. Fix the YAML syntax there.",
        ),
        (
            b"storage:\n  sqlite:\n    path: a.db\nretention: {}\nstorage: {}\n",
            "line 5, column 1: the key 'storage' is given twice in one mapping, at line 1 and "
            "at line 5. Keep one of them.",
        ),
        (
            b"storage:\n  sqlite:\n    path: caf\xe9.db\n",
            "the file is not UTF-8: byte 0xe9 at byte position 32 (line 3, column 14) cannot "
            "be decoded. Save the file as UTF-8.",
        ),
    ],
    ids=["syntax", "duplicate key", "not UTF-8"],
)
def test_a_knoll_yaml_that_cannot_be_read_is_one_line_naming_the_file_and_place(
    tmp_path: Path, text: bytes, message: str
) -> None:
    settings = tmp_path / ".knoll" / "knoll.yaml"
    settings.parent.mkdir()
    settings.write_bytes(text)
    for command in (["run", "list"], ["instance", "info"], ["asset", "list"]):
        done = knoll(*command, cwd=tmp_path)
        assert done.returncode == 2, command
        assert done.stderr.splitlines() == [f"error: instance settings {settings}: {message}"]


def test_a_database_from_a_newer_knoll_is_an_error_not_a_traceback(project: Path) -> None:
    knoll("asset", "materialize", "-m", "project", "--select", "raw", cwd=project)
    with sqlite3.connect(project / ".knoll" / "knoll.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    done = knoll("run", "list", cwd=project)
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: database is at revision 9999, which is newer than this knoll"
    )
    assert "Traceback" not in done.stderr
    info = knoll("instance", "info", cwd=project)
    assert info.returncode == 0  # info still says where things are, and what is wrong
    assert "schema revision:  9999, newer than this knoll" in info.stdout
    assert "run monitor:      unknown: its heartbeat cannot be read (database is at revision " in (
        info.stdout
    )
    assert "daemon:           unknown: its heartbeats cannot be read (database is at revision " in (
        info.stdout
    )


def test_a_postgres_server_that_is_down(tmp_path: Path) -> None:
    settings = tmp_path / ".knoll" / "knoll.yaml"
    settings.parent.mkdir()
    settings.write_text("storage:\n  postgres:\n    url: postgresql://postgres@127.0.0.1:1/x\n")
    done = knoll("run", "list", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1/x: ")
    assert "Check that the server is running" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("KNOLL_TEST_POSTGRES_URL is not set")
    import psycopg

    schema = f"knoll_cli_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_commands_on_postgres(project: Path, postgres_schema: str) -> None:
    settings = project / ".knoll" / "knoll.yaml"
    settings.parent.mkdir()
    settings.write_text(
        f"storage:\n  postgres:\n    url: {{env: KNOLL_TEST_POSTGRES_URL}}\n"
        f"    schema: {postgres_schema}\n"
    )
    done = knoll("asset", "materialize", "-m", "project", "--select", "raw,total", cwd=project)
    assert done.returncode == 0, done.stderr
    [run_id] = run_ids(project)
    shown = knoll("run", "show", run_id[:8], cwd=project)
    assert "  status:    SUCCESS" in shown.stdout.splitlines()
    info = knoll("instance", "info", cwd=project).stdout
    assert "storage:          postgres" in info
    assert f"(schema {postgres_schema})" in info
    assert not (project / ".knoll" / "knoll.db").exists()
