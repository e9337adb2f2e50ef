"""Code servers as real processes: snapshots, load errors, reloads, ticks, and stopping."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.server import check_loopback
from knoll.codeloc.workspace import WorkspaceProcesses, load_workspace, start_workspace
from knoll.errors import CodeServerError

PROJECT = Path(__file__).parent / "projects" / "two_locations"
WAIT = 60  # seconds: only to avoid a hang, never an assertion about speed


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the two-location project, so a test can fix the broken file."""
    return Path(shutil.copytree(PROJECT, tmp_path / "project"))


@pytest.fixture
def servers(project: Path) -> Iterator[WorkspaceProcesses]:
    with start_workspace(load_workspace(project / "workspace.yaml"), timeout=WAIT) as processes:
        yield processes


def test_the_healthy_location_serves_its_snapshot_beside_a_broken_one(
    servers: WorkspaceProcesses,
) -> None:
    sales = servers.client("sales").snapshot()
    assert sales.ok
    assert sales.location_name == "sales"
    assert sorted(a["key"] for a in sales.snapshot["assets"]) == [["orders"], ["revenue"]]  # type: ignore[index]
    assert servers.client("sales").health().load_status == "loaded"
    assert servers.client("broken").health().load_status == "error"


def test_a_load_error_is_served_with_its_message_and_traceback(
    servers: WorkspaceProcesses,
) -> None:
    broken = servers.client("broken").snapshot()
    assert not broken.ok
    assert broken.snapshot is None
    assert broken.error is not None
    assert broken.error.error_type == "KeyError"
    assert "code location 'broken'" in broken.error.message
    assert "KeyError: 'usd'" in broken.error.message
    assert "broken_defs.py" in broken.error.traceback
    assert 'FALLBACK = RATES["usd"]' in broken.error.traceback


def test_reload_after_fixing_the_file_serves_the_new_snapshot(
    servers: WorkspaceProcesses, project: Path
) -> None:
    broken, sales = servers.client("broken"), servers.client("sales")
    assert sales.snapshot().ok  # answered once the location has loaded
    before, sales_before = broken.health(), sales.health()
    source = project / "broken" / "broken_defs.py"
    fixed = source.read_text().replace('RATES["usd"]', 'RATES.get("usd", 1.0)  # fixed')
    source.write_text(fixed)

    after = broken.reload(timeout=WAIT)

    assert after.load_status == "loaded"
    assert after.pid == before.pid  # the same process, re-executed
    assert after.generation == before.generation + 1
    snapshot = broken.snapshot()
    assert snapshot.ok
    assert [a["key"] for a in snapshot.snapshot["assets"]] == [["prices"]]  # type: ignore[index]
    assert sales.health() == sales_before  # the other location was not touched


def test_reload_of_a_healthy_location_picks_up_changes(
    servers: WorkspaceProcesses, project: Path
) -> None:
    sales = servers.client("sales")
    first = sales.snapshot()
    source = project / "sales" / "sales_defs.py"
    source.write_text(source.read_text().replace("return [1, 2, 3]", "return [1, 2, 3, 4]  # v2"))
    source.write_text(
        source.read_text().replace(
            "@asset\ndef orders()", '@asset(group_name="shop")\ndef orders()'
        )
    )

    sales.reload(timeout=WAIT)

    second = sales.snapshot()
    assert second.snapshot_id != first.snapshot_id
    groups = {tuple(a["key"]): a["group"] for a in second.snapshot["assets"]}  # type: ignore[index]
    assert groups[("orders",)] == "shop"


def test_an_unchanged_snapshot_is_served_from_the_client_cache(
    servers: WorkspaceProcesses,
) -> None:
    client = servers.client("sales")
    first = client.snapshot()
    assert client.snapshot() is first
    # a second client without a cache gets the same id
    other = CodeServerClient(socket_path=client.socket_path)
    assert other.snapshot().snapshot_id == first.snapshot_id


def test_a_sensor_tick_over_http_advances_its_cursor(servers: WorkspaceProcesses) -> None:
    client = servers.client("sales")
    first = client.evaluate_sensor("new_orders")
    assert first.cursor == "2"
    assert [r.run_key for r in first.run_requests] == ["batch-1", "batch-2"]
    second = client.evaluate_sensor("new_orders", cursor=first.cursor, last_run_key="batch-2")
    assert second.cursor == "4"
    assert [r.run_key for r in second.run_requests] == ["batch-3", "batch-4"]
    assert second.run_requests[0].job_name == "sales_job"


def test_a_schedule_tick_over_http_returns_run_requests(servers: WorkspaceProcesses) -> None:
    result = servers.client("sales").evaluate_schedule(
        "daily_sales", datetime(2024, 5, 1, 6, tzinfo=UTC)
    )
    assert result.skip_message is None
    (request,) = result.run_requests
    assert request.run_key == "2024-05-01"
    assert request.tags["day"] == "2024-05-01"
    assert request.tags["knoll/schedule_name"] == "daily_sales"
    assert request.job_name == "sales_job"


def test_a_tick_whose_code_raises_returns_the_error_and_its_traceback(
    servers: WorkspaceProcesses,
) -> None:
    with pytest.raises(
        CodeServerError, match=r"sensor 'flaky' tick failed.*orders API is down"
    ) as info:
        servers.client("sales").evaluate_sensor("flaky")
    assert info.value.remote_traceback is not None
    assert "sales_defs.py" in info.value.remote_traceback


def test_a_tick_of_an_unknown_sensor_suggests_the_name(servers: WorkspaceProcesses) -> None:
    with pytest.raises(CodeServerError, match=r"HTTP 404.*Did you mean 'new_orders'"):
        servers.client("sales").evaluate_sensor("new_order")


def test_a_tick_on_a_location_that_did_not_load_names_the_load_error(
    servers: WorkspaceProcesses,
) -> None:
    with pytest.raises(
        CodeServerError, match=r"(?s)code location 'broken'.*KeyError.*reload"
    ) as info:
        servers.client("broken").evaluate_schedule("anything")
    assert info.value.remote_traceback is not None
    assert 'RATES["usd"]' in info.value.remote_traceback


def test_a_client_of_a_server_that_is_down_says_so(tmp_path: Path) -> None:
    client = CodeServerClient(socket_path=str(tmp_path / "none.sock"), location_name="sales")
    with pytest.raises(
        CodeServerError,
        match=r"code server for location 'sales' at unix:.*none.sock is not answering",
    ):
        client.health()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(
        CodeServerError, match=f"host '{re.escape(host)}' is not a loopback address"
    ):
        check_loopback(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert check_loopback(host) in (host, "127.0.0.1")


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "knoll.cli.main", "code-server", "start", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_cli_refuses_a_non_loopback_host(project: Path) -> None:
    process = _cli(
        "-m", "sales_defs", "-d", "sales", "--port", "0", "--host", "0.0.0.0", cwd=project
    )
    _, err = process.communicate(timeout=WAIT)
    assert process.returncode == 2
    assert "host '0.0.0.0' is not a loopback address" in err
    assert "--socket PATH" in err


def test_a_server_on_a_port_exits_cleanly_on_sigterm(project: Path) -> None:
    process = _cli("-m", "sales_defs", "-d", "sales", "--port", "0", cwd=project)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert found, line
        client = CodeServerClient(port=int(found.group(1)))
        assert client.health().location_name == "sales_defs"
        assert client.snapshot().ok
        process.send_signal(signal.SIGTERM)
        process.wait(WAIT)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_a_server_on_a_socket_removes_it_when_stopped(project: Path, tmp_path: Path) -> None:
    socket_path = tmp_path / "sales.sock"
    process = _cli(
        "--workspace", "workspace.yaml", "--location", "sales", "--socket", str(socket_path),
        cwd=project,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert "listening on unix:" in process.stdout.readline()
        assert CodeServerClient(socket_path=str(socket_path)).health().location_name == "sales"
        process.send_signal(signal.SIGTERM)
        process.wait(WAIT)
        assert process.returncode == 0
        assert not socket_path.exists()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_the_cli_names_the_locations_of_a_workspace(project: Path) -> None:
    process = _cli(
        "--workspace", "workspace.yaml", "--location", "sale", "--socket", "x.sock", cwd=project
    )
    _, err = process.communicate(timeout=WAIT)
    assert process.returncode == 2
    assert "no code location named 'sale'. Did you mean 'sales'?" in err
