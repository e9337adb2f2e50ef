"""Instances on every backend: in memory, SQLite, and PostgreSQL when
``KNOLL_TEST_POSTGRES_URL`` is set (a schema of its own per test, dropped afterwards).

Each instance lives in a temporary KNOLL_HOME and is configured through its knoll.yaml, the
way users configure theirs.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from knoll.instance import Instance

POSTGRES_URL_VAR = "KNOLL_TEST_POSTGRES_URL"
BACKENDS = ["memory", "sqlite", "postgres"]

MakeInstance = Callable[..., Instance]


def postgres_url_or_skip() -> str:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set: no PostgreSQL server to test against")
    return url


def drop_schemas(url: str, names: list[str]) -> None:
    from knoll.storage.sql.engine import postgres_database

    database = postgres_database(url)
    try:
        with database.engine.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        database.dispose()


@pytest.fixture
def make_instance(tmp_path: Path) -> Iterator[MakeInstance]:
    """``make_instance(backend, extra_yaml="")``: a new instance in a new KNOLL_HOME."""
    made: list[Instance] = []
    schemas: list[str] = []
    url: str | None = None

    def make(backend: str, extra_yaml: str = "") -> Instance:
        nonlocal url
        home = tmp_path / f"home{len(made)}"
        home.mkdir()
        if backend == "memory":
            storage = "storage:\n  in_memory: {}\n"
        elif backend == "sqlite":
            storage = "storage:\n  sqlite:\n    path: knoll.db\n"
        else:
            url = postgres_url_or_skip()
            schema = f"knoll_inst_{os.getpid()}_{secrets.token_hex(4)}"
            schemas.append(schema)
            storage = (
                f"storage:\n  postgres:\n    url: {{env: {POSTGRES_URL_VAR}}}\n"
                f"    schema: {schema}\n"
            )
        (home / "knoll.yaml").write_text(storage + extra_yaml)
        instance = Instance.get(home)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.dispose()
    if url is not None and schemas:
        drop_schemas(url, schemas)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgres":
        postgres_url_or_skip()
    return name


@pytest.fixture
def instance(make_instance: MakeInstance, backend: str) -> Instance:
    """An empty instance on each backend in turn."""
    return make_instance(backend)
