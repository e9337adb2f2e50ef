"""Fixtures for the SQL storage tests: SQLite files in a temporary folder, and PostgreSQL
schemas of their own on the server named by ``KNOLL_TEST_POSTGRES_URL`` (tests that need it
skip when the variable is unset)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from knoll.storage.sql import SqlStorage
from knoll.storage.sql.engine import postgres_database
from knoll.storage.sql.schema import ALL_TABLES

POSTGRES_URL_VAR = "KNOLL_TEST_POSTGRES_URL"


@pytest.fixture
def sqlite_storage(tmp_path: Path) -> Iterator[SqlStorage]:
    storage = SqlStorage.sqlite(tmp_path / "knoll.db")
    yield storage
    storage.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set: no PostgreSQL server to test against")
    return url


@pytest.fixture(scope="session")
def new_postgres_schema(postgres_url: str) -> Iterator[Callable[[], str]]:
    """Makes schema names that no other test (or test process) uses; drops them at the end."""
    made: list[str] = []

    def make() -> str:
        name = f"knoll_test_{os.getpid()}_{secrets.token_hex(4)}"
        made.append(name)
        return name

    yield make
    database = postgres_database(postgres_url)
    try:
        with database.engine.begin() as conn:
            for name in made:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def _module_postgres_storage(
    postgres_url: str, new_postgres_schema: Callable[[], str]
) -> Iterator[SqlStorage]:
    storage = SqlStorage.postgres(postgres_url, schema=new_postgres_schema())
    yield storage
    storage.dispose()


@pytest.fixture
def postgres_storage(_module_postgres_storage: SqlStorage) -> SqlStorage:
    """An empty PostgreSQL storage: one schema per test module, emptied before each test."""
    names = ", ".join(f'"{table.name}"' for table in ALL_TABLES)
    with _module_postgres_storage.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY"))
    return _module_postgres_storage
