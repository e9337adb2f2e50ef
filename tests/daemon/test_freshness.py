"""The ``freshness`` duty: one pass evaluates the freshness policies a real code server serves
against what SQLite and PostgreSQL recorded, and records each change of state as an event;
`knoll daemon run` makes such passes on its own with freshness:enabled."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import WorkspaceProcesses, start_workspace, workspace_from_target
from knoll.daemon.freshness import freshness_pass
from knoll.defs.freshness import FreshnessState, FreshnessStateChange
from knoll.defs.keys import AssetKey
from knoll.execution.events import EventType
from knoll.instance import Instance
from knoll.instance.launcher import RunLauncher
from knoll.storage.base import EventRecord
from tests.cli.helpers import KNOLL, knoll_env
from tests.daemon.conftest import WAIT
from tests.daemon.retry_helpers import run_job
from tests.instance.conftest import MakeInstance

PROJECT = Path(__file__).parent / "projects" / "freshness"
HOUR = 3600.0


@pytest.fixture
def fresh_server() -> Iterator[WorkspaceProcesses]:
    target = CodeLocationTarget(module_name="fresh_defs", working_directory=str(PROJECT))
    with start_workspace(workspace_from_target(target, "fresh"), timeout=WAIT) as ws:
        yield ws


@pytest.fixture
def fresh_client(fresh_server: WorkspaceProcesses) -> CodeServerClient:
    return fresh_server.client("fresh")


def _changes(instance: Instance, name: str) -> list[EventRecord]:
    return list(
        instance.storage.get_asset_events(
            EventType.FRESHNESS_STATE_CHANGE, AssetKey(name), newest_first=False
        )
    )


def _states(instance: Instance, name: str) -> list[FreshnessState]:
    found = []
    for record in _changes(instance, name):
        data = record.event.data
        assert isinstance(data, FreshnessStateChange)
        found.append(data.state)
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_pass_records_each_change_of_state_once(
    make_instance: MakeInstance, backend: str, fresh_client: CodeServerClient
) -> None:
    instance = make_instance(backend)
    first = freshness_pass(instance, [fresh_client])
    assert {c.asset_key.to_user_string() for c in first.changes} == {
        "orders",
        "report",
        "partner_feed",
    }  # scratch has no policy
    assert {c.state for c in first.changes} == {FreshnessState.UNKNOWN}

    done = run_job(
        instance, RunLauncher(instance, fresh_client, heartbeat_interval=0.5), "everything"
    )
    [materialized] = instance.storage.get_latest_materializations([AssetKey("orders")]).values()
    updated = materialized.event.timestamp
    now = updated + HOUR
    report = freshness_pass(instance, [fresh_client], now=now)
    orders = next(c for c in report.changes if c.asset_key == AssetKey("orders"))
    assert orders == FreshnessStateChange(
        AssetKey("orders"),
        FreshnessState.PASS,
        FreshnessState.UNKNOWN,
        orders.reason,
        updated,
    )
    assert orders.reason.endswith(", 1:00:00 ago: within 12:00:00")
    assert done.run.is_success
    assert freshness_pass(instance, [fresh_client], now=now + 60).changes == []  # unchanged

    later = freshness_pass(instance, [fresh_client], now=updated + 13 * HOUR)
    assert [c.state for c in later.changes if c.asset_key == AssetKey("orders")] == [
        FreshnessState.WARN
    ]
    freshness_pass(instance, [fresh_client], now=updated + 25 * HOUR)
    assert _states(instance, "orders") == [
        FreshnessState.UNKNOWN,
        FreshnessState.PASS,
        FreshnessState.WARN,
        FreshnessState.FAIL,
    ]
    [*_, last] = _changes(instance, "orders")
    assert last.event.run_id == ""  # of no run
    assert last.event.message.startswith("asset 'orders' is FAIL: last updated at ")
    assert _states(instance, "scratch") == []


def test_a_location_that_cannot_be_read_is_reported(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    instance = make_instance("sqlite")
    down = CodeServerClient(socket_path=str(tmp_path / "gone.sock"), timeout=2)
    report = freshness_pass(instance, [down])
    [(where, why)] = report.unreadable
    assert where == down.describe()
    assert why.startswith("CodeServerError: ")
    assert report.changes == []


def test_the_daemon_evaluates_freshness_on_its_interval(tmp_path: Path) -> None:
    (tmp_path / "fresh_defs.py").write_text((PROJECT / "fresh_defs.py").read_text())
    home = tmp_path / ".knoll"
    home.mkdir()
    (home / "knoll.yaml").write_text("freshness:\n  enabled: true\n  interval_seconds: 0.2\n")
    daemon = subprocess.Popen(
        [*KNOLL, "daemon", "run", "-m", "fresh_defs"],
        cwd=tmp_path,
        env=knoll_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        with Instance.get(home) as instance:
            deadline = time.monotonic() + WAIT
            while _states(instance, "partner_feed") != [FreshnessState.UNKNOWN]:
                assert daemon.poll() is None, "the daemon ended"
                assert time.monotonic() < deadline, "the daemon never evaluated freshness"
                time.sleep(0.05)
        daemon.send_signal(signal.SIGINT)
        out, err = daemon.communicate(timeout=WAIT)
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.communicate(timeout=WAIT)
    assert daemon.returncode == 0, err
    assert "freshness every 0.2s" in err
    assert "asset partner_feed UNKNOWN: it has never been updated" in out.splitlines()
