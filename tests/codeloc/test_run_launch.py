"""Launching runs through a real code server: the worker is a fork of the warm server process.

Each test starts a code server subprocess for the ``launch`` fixture project and launches into
a SQLite instance in a temporary KNOLL_HOME. Waits have generous limits only to avoid a hang.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import WorkspaceProcesses, start_workspace, workspace_from_target
from knoll.defs.keys import AssetKey
from knoll.errors import CodeServerError, InvalidInvocationError
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.instance.launcher import LOCATION_TAG, LaunchRequest, RunLauncher
from knoll.storage.base import RunRecord

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

PROJECT = Path(__file__).parent / "projects" / "launch"
WAIT = 60.0  # seconds: only to avoid a hang, never an assertion about speed


@pytest.fixture
def import_log(tmp_path: Path) -> Path:
    return tmp_path / "imports.log"


@pytest.fixture
def server(import_log: Path, tmp_path: Path) -> Iterator[WorkspaceProcesses]:
    target = CodeLocationTarget(module_name="launch_defs", working_directory=str(PROJECT))
    env = {
        **os.environ,
        "KNOLL_TEST_IMPORT_LOG": str(import_log),
        "KNOLL_TEST_SLOW_MARKER": str(tmp_path / "slow.pid"),
    }
    workspace = workspace_from_target(target, "launch")
    with start_workspace(workspace, env=env, timeout=WAIT) as processes:
        yield processes


@pytest.fixture
def client(server: WorkspaceProcesses) -> CodeServerClient:
    return server.client("launch")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    with Instance.get(tmp_path / "home") as opened:
        yield opened


def wait_finished(instance: Instance, run_id: str) -> RunRecord:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        record = instance.get_run(run_id)
        if record.run.is_finished:
            return record
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish within {WAIT}s")


def event_types(instance: Instance, run_id: str) -> list[EventType]:
    return [r.event.event_type for r in instance.get_events(run_id).records]


def quick_request(count: int = 4) -> LaunchRequest:
    return LaunchRequest(
        job_name="quick_job", run_config={"ops": {"numbers": {"config": {"count": count}}}}
    )


def test_a_launched_run_completes_with_its_events(
    instance: Instance, client: CodeServerClient
) -> None:
    record = instance.launch_run(quick_request(), client, heartbeat_interval=0.2)

    assert record.run.status is RunStatus.STARTING
    assert record.run.tags[LOCATION_TAG] == "launch"
    final = wait_finished(instance, record.run.run_id)
    assert final.run.status is RunStatus.SUCCESS
    types = event_types(instance, record.run.run_id)
    assert types[-1] is EventType.RUN_SUCCESS
    assert types.count(EventType.STEP_SUCCESS) == 2
    materialized = instance.get_latest_materialization(AssetKey("total"))
    assert materialized is not None
    assert materialized.event.run_id == record.run.run_id


def test_the_worker_is_a_fork_of_the_server_that_does_not_import_the_code_again(
    instance: Instance, client: CodeServerClient, import_log: Path
) -> None:
    server_pid = client.health().pid
    run_ids = [instance.launch_run(quick_request(), client).run.run_id for _ in range(3)]
    for run_id in run_ids:
        assert wait_finished(instance, run_id).run.status is RunStatus.SUCCESS

    beats = instance.get_run_heartbeats(run_ids)
    worker_pids = {beats[run_id].pid for run_id in run_ids}
    assert len(worker_pids) == 3  # one process per run
    assert server_pid not in worker_pids
    assert import_log.read_text().split() == [str(server_pid)]  # imported once, by the server


def test_the_worker_is_a_child_of_the_server_in_a_session_of_its_own(
    instance: Instance, client: CodeServerClient, tmp_path: Path
) -> None:
    server_pid = client.health().pid
    record = instance.launch_run(LaunchRequest(job_name="slow_job"), client, heartbeat_interval=0.2)
    run_id = record.run.run_id
    marker = tmp_path / "slow.pid"
    _wait_for(marker.exists, "the slow step to start")
    step_pid = int(marker.read_text())  # in-process executor: the step runs in the worker
    try:
        assert _parent_pid(step_pid) == server_pid
        assert os.getpgid(step_pid) == step_pid  # it leads its own process group
        assert instance.get_run(run_id).run.status is RunStatus.STARTED
        beat = instance.get_run_heartbeats([run_id])[run_id]
        assert beat.pid == step_pid
        first = beat.timestamp
        _wait_for(
            lambda: instance.get_run_heartbeats([run_id])[run_id].timestamp > first,
            "a second heartbeat",
        )
    finally:
        instance.cancel_run(run_id, grace_seconds=WAIT)


def test_a_queued_launch_is_stored_but_not_started(
    instance: Instance, client: CodeServerClient
) -> None:
    record = instance.launch_run(quick_request(), client, queue=True)

    assert instance.get_run(record.run.run_id).run.status is RunStatus.QUEUED
    assert event_types(instance, record.run.run_id) == []
    assert instance.get_run_heartbeats([record.run.run_id]) == {}


def test_the_queue_can_start_a_queued_run_with_the_launcher(
    instance: Instance, client: CodeServerClient
) -> None:
    from knoll.instance.queue import dequeue

    record = instance.launch_run(quick_request(), client, queue=True)
    launcher = RunLauncher(instance, client)

    started = dequeue(instance, launcher.launch_queued_run)

    assert started == [record.run.run_id]
    assert wait_finished(instance, record.run.run_id).run.status is RunStatus.SUCCESS


def test_a_request_that_does_not_fit_the_definitions_is_refused_before_it_is_stored(
    instance: Instance, client: CodeServerClient
) -> None:
    bad_config = LaunchRequest(
        job_name="quick_job", run_config={"ops": {"numbers": {"config": {"count": "many"}}}}
    )
    with pytest.raises(CodeServerError, match="cannot launch job 'quick_job' of location 'launch'"):
        instance.launch_run(bad_config, client)
    with pytest.raises(CodeServerError, match=r"no job named 'quik_job'.*quick_job"):
        instance.launch_run(LaunchRequest(job_name="quik_job"), client)
    with pytest.raises(CodeServerError, match="cannot launch assets 'nope'"):
        instance.launch_run(LaunchRequest(asset_selection="nope"), client)
    assert instance.count_runs() == 0


def test_an_asset_selection_runs_only_the_selected_assets(
    instance: Instance, client: CodeServerClient
) -> None:
    request = LaunchRequest(
        asset_selection="numbers", run_config={"ops": {"numbers": {"config": {"count": 2}}}}
    )
    record = instance.launch_run(request, client)

    assert wait_finished(instance, record.run.run_id).run.status is RunStatus.SUCCESS
    assert event_types(instance, record.run.run_id).count(EventType.STEP_SUCCESS) == 1


def test_an_ephemeral_instance_cannot_receive_launched_runs(client: CodeServerClient) -> None:
    with (
        Instance.ephemeral() as ephemeral,
        pytest.raises(InvalidInvocationError, match="keeps its runs in this process's memory"),
    ):
        ephemeral.launch_run(quick_request(), client)


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def _parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_a_launched_worker_beats_at_the_interval_of_knoll_yaml(
    tmp_path: Path, client: CodeServerClient
) -> None:
    home = tmp_path / "configured"
    home.mkdir()
    (home / "knoll.yaml").write_text("run_monitoring:\n  heartbeat_interval_seconds: 0.3\n")
    with Instance.get(home) as configured:
        record = configured.launch_run(quick_request(), client)
        run_id = record.run.run_id
        assert wait_finished(configured, run_id).run.status is RunStatus.SUCCESS
        assert configured.get_run_heartbeats([run_id])[run_id].interval == 0.3


WAITING_DEFS = """
import os
import time
from pathlib import Path

from knoll import Definitions, asset, define_asset_job


@asset
def waits() -> int:
    go = Path(os.environ["KNOLL_TEST_GO_FILE"])
    while not go.exists():
        time.sleep(0.02)
    return 1


defs = Definitions(assets=[waits], jobs=[define_asset_job("wait_job", selection=["waits"])])
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_that_end_after_reloads_of_their_server_are_reaped(
    tmp_path: Path, instance: Instance
) -> None:
    (tmp_path / "waiting_defs.py").write_text(WAITING_DEFS)
    go = tmp_path / "go"
    target = CodeLocationTarget(module_name="waiting_defs", working_directory=str(tmp_path))
    env = {**os.environ, "KNOLL_TEST_GO_FILE": str(go)}
    with start_workspace(workspace_from_target(target), env=env, timeout=WAIT) as processes:
        client = processes.client("waiting_defs")
        server_pid = client.health().pid
        record = instance.launch_run(LaunchRequest(job_name="wait_job"), client)
        run_id = record.run.run_id
        _wait_for(lambda: run_id in instance.get_run_heartbeats([run_id]), "the worker to beat")
        worker = instance.get_run_heartbeats([run_id])[run_id].pid

        for _ in range(2):  # the pids are handed on from one program to the next
            assert client.reload(timeout=WAIT).load_status == "loaded"
        assert client.health().pid == server_pid  # re-executed, not restarted
        assert _parent_pid(worker) == server_pid  # the worker is still the server's child
        go.write_text("")

        assert wait_finished(instance, run_id).run.status is RunStatus.SUCCESS
        # reaped once it exits: no zombie left behind under the server
        _wait_for(lambda: not _child_of(worker, server_pid), "the worker to be reaped")


def _child_of(pid: int, parent: int) -> bool:
    """Whether ``pid`` is a process (running, or a zombie nobody reaped) whose parent is
    ``parent``."""
    try:
        return _parent_pid(pid) == parent
    except FileNotFoundError:
        return False
