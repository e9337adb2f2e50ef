"""Fixtures of the daemon's duty tests: instances on SQLite and PostgreSQL
(``KNOLL_TEST_POSTGRES_URL``), a real code server for ``backfill_project``, and one for the
run retry tests' ``retry_defs`` project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import WorkspaceProcesses, start_workspace, workspace_from_target
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


# ---- the run retry tests: a code server for the ``retry_defs`` project, whose steps count
# their executions in ``steps_dir``

RETRY_PROJECT = Path(__file__).parent / "projects" / "retries"
WAIT = 60.0  # seconds: only to avoid a hang, never an assertion about speed


@pytest.fixture
def steps_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "steps"
    folder.mkdir()
    return folder


@pytest.fixture
def retry_server(steps_dir: Path) -> Iterator[WorkspaceProcesses]:
    target = CodeLocationTarget(module_name="retry_defs", working_directory=str(RETRY_PROJECT))
    env = {**os.environ, "KNOLL_TEST_RETRY_DIR": str(steps_dir)}
    with start_workspace(workspace_from_target(target, "retries"), env=env, timeout=WAIT) as ws:
        yield ws
