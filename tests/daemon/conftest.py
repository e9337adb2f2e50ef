"""Fixtures of the daemon duty tests: instances on SQLite and PostgreSQL (``make_instance``,
from the instance tests), and a real code server for the ``retry_defs`` project whose steps
count their executions in ``steps_dir``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import WorkspaceProcesses, start_workspace, workspace_from_target
from tests.instance.conftest import make_instance

__all__ = ["PROJECT", "WAIT", "client", "make_instance", "server", "steps_dir"]

PROJECT = Path(__file__).parent / "projects" / "retries"
WAIT = 60.0  # seconds: only to avoid a hang, never an assertion about speed


@pytest.fixture
def steps_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "steps"
    folder.mkdir()
    return folder


@pytest.fixture
def server(steps_dir: Path) -> Iterator[WorkspaceProcesses]:
    target = CodeLocationTarget(module_name="retry_defs", working_directory=str(PROJECT))
    env = {**os.environ, "KNOLL_TEST_RETRY_DIR": str(steps_dir)}
    with start_workspace(workspace_from_target(target, "retries"), env=env, timeout=WAIT) as ws:
        yield ws


@pytest.fixture
def client(server: WorkspaceProcesses) -> CodeServerClient:
    return server.client("retries")
