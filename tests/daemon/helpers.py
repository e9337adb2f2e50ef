"""Shared pieces of the daemon's tests: the ``ticking`` project's code servers, instance
homes on SQLite or PostgreSQL, and reading and moving the runs of a backfill."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from knoll.codeloc.workspace import WorkspaceProcesses, load_workspace, start_workspace
from knoll.daemon.backfill import BACKFILL_TAG
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance
from knoll.storage.base import RunsFilter
from tests.instance.conftest import drop_schemas, postgres_url_or_skip

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
    url = postgres_url_or_skip()
    schema = f"knoll_daemon_{os.getpid()}_{secrets.token_hex(4)}"
    (home / "knoll.yaml").write_text(
        f"storage:\n  postgres:\n    url: {{env: KNOLL_TEST_POSTGRES_URL}}\n    schema: {schema}\n"
    )
    yield home
    drop_schemas(url, [schema])


def backfill_runs(instance: Instance, backfill_id: str, **filters: object) -> list[Run]:
    """Every run of ``backfill_id``, oldest first."""
    runs: list[Run] = []
    cursor = None
    while True:
        page = instance.storage.get_runs(
            RunsFilter(tags={BACKFILL_TAG: backfill_id}, **filters),  # type: ignore[arg-type]
            limit=5000,
            cursor=cursor,
        )
        runs.extend(record.run for record in page.records)
        if page.cursor is None:
            return runs[::-1]
        cursor = page.cursor


def end_run(instance: Instance, run_id: str, status: RunStatus) -> None:
    """Move a queued run along the state machine to ``status``, as a worker would record it."""
    for step in (RunStatus.STARTING, RunStatus.STARTED, status):
        instance.storage.update_run_status(run_id, step)


def partitions_of(run: Run) -> str:
    """``2024-01-01`` or ``2024-01-01...2024-01-03``."""
    if "knoll/partition" in run.tags:
        return run.tags["knoll/partition"]
    start = run.tags["knoll/asset_partition_range_start"]
    return f"{start}...{run.tags['knoll/asset_partition_range_end']}"


def assets_of(run: Run) -> str:
    return ", ".join(sorted(key.to_user_string() for key in run.asset_selection or ()))
