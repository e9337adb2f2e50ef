"""Backfill tests: a real code server for ``backfill_project`` and instances on SQLite and
PostgreSQL (``KNOLL_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target
from knoll.instance import Instance
from tests.instance.conftest import (
    MakeInstance,
    make_instance,  # noqa: F401 (a fixture)
)

PROJECT = Path(__file__).with_name("backfill_project.py")
LOCATION = "warehouse"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeServerClient]:
    """A code server serving ``backfill_project`` as module ``warehouse``."""
    code = tmp_path_factory.mktemp("code")
    shutil.copy(PROJECT, code / "warehouse.py")
    target = CodeLocationTarget(module_name="warehouse", working_directory=str(code))
    with start_workspace(workspace_from_target(target, LOCATION), timeout=60) as processes:
        yield processes.client(LOCATION)


@pytest.fixture(params=["sqlite", "postgres"])
def instance(
    request: pytest.FixtureRequest,
    make_instance: MakeInstance,  # noqa: F811 (the fixture imported above)
) -> Instance:
    return make_instance(request.param)
