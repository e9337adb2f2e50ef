"""Shared pieces of the daemon's tests: the ``ticking`` project's code servers, and instance
homes on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knoll.codeloc.workspace import WorkspaceProcesses, load_workspace, start_workspace

PROJECT = Path(__file__).parent / "projects" / "ticking"
WAIT = 60.0  # seconds: only to avoid a hang, never an assertion about speed


def at(text: str) -> float:
    """A UTC time as a timestamp: ``at("2024-05-01 06:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@contextmanager
def ticking_servers(drop: Path, *, broken: bool = False) -> Iterator[WorkspaceProcesses]:
    """The code server of location ``ticking`` (and of ``broken``, whose import fails), with
    its sensors reading files from ``drop``."""
    drop.mkdir(parents=True, exist_ok=True)
    workspace = load_workspace(PROJECT / "workspace.yaml")
    if not broken:
        from knoll.codeloc.workspace import Workspace

        workspace = Workspace((workspace.get("ticking"),), workspace.path)
    env = {**os.environ, "TICKING_DROP": str(drop)}
    with start_workspace(workspace, env=env, timeout=WAIT) as processes:
        yield processes


def make_home(tmp_path: Path, backend: str) -> Iterator[Path]:
    """An instance home on ``sqlite`` or ``postgres`` (a schema of its own, dropped after)."""
    home = tmp_path / ".knoll"
    home.mkdir(exist_ok=True)
    if backend == "sqlite":
        yield home
        return
    url = os.environ.get("KNOLL_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("KNOLL_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    schema = f"knoll_daemon_{os.getpid()}_{secrets.token_hex(4)}"
    (home / "knoll.yaml").write_text(
        f"storage:\n  postgres:\n    url: {{env: KNOLL_TEST_POSTGRES_URL}}\n    schema: {schema}\n"
    )
    yield home
    from knoll.storage.sql.engine import postgres_database

    database = postgres_database(url)
    try:
        with database.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        database.dispose()
