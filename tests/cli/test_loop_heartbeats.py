"""`knoll run queue-worker` and `knoll run monitor` record heartbeats: `knoll run launch
--queue` and `knoll instance info` say whether one runs, with its pid, host and last beat."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.instance import Instance
from knoll.instance.loop_heartbeats import Loop, LoopHeartbeat, live_loop_heartbeat
from tests.cli.helpers import KNOLL, knoll, knoll_env

WAIT = 30.0  # seconds: only to avoid a hang

PROJECT = textwrap.dedent(
    """
    from knoll import Definitions, asset, define_asset_job

    @asset
    def orders() -> int:
        return 1

    defs = Definitions(assets=[orders], jobs=[define_asset_job("orders_job", selection=[orders])])
    """
)

SETTINGS = """run_queue:
  dequeue_interval_seconds: 0.2
run_monitoring:
  poll_interval_seconds: 0.2
"""

LAUNCH_QUEUED = ("run", "launch", "-m", "warehouse", "--job", "orders_job", "--queue")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "warehouse.py").write_text(PROJECT)
    (tmp_path / ".knoll").mkdir()
    (tmp_path / ".knoll" / "knoll.yaml").write_text(SETTINGS)
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def _start(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*KNOLL, "run", *args],
        cwd=project,
        env=knoll_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: killed with the code server it started
    )


def _wait_for_beat(instance: Instance, loop: Loop, process: subprocess.Popen[str]) -> LoopHeartbeat:
    deadline = time.monotonic() + WAIT
    while True:
        beat = live_loop_heartbeat(instance.storage, loop)
        if beat is not None:
            return beat
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate(timeout=WAIT)
            raise AssertionError(f"no heartbeat of the {loop.value}: {output}")
        time.sleep(0.05)


def _queued_hint(project: Path) -> str:
    queued = knoll(*LAUNCH_QUEUED, cwd=project)
    assert queued.returncode == 0, queued.stderr
    [hint] = [line for line in queued.stderr.splitlines() if "queue" in line]
    return hint


def _info(project: Path) -> dict[str, str]:
    shown = knoll("instance", "info", cwd=project)
    assert shown.returncode == 0, shown.stderr
    pairs = (line.split(":", 1) for line in shown.stdout.splitlines())
    return {key.strip(): value.strip() for key, value in pairs}


def test_launch_queue_names_the_running_queue_worker_until_it_is_gone(
    project: Path, instance: Instance
) -> None:
    worker = _start(project, "queue-worker", "-m", "warehouse")
    try:
        beat = _wait_for_beat(instance, Loop.QUEUE_WORKER, worker)
        assert (beat.pid, beat.host) == (worker.pid, socket.gethostname())

        hint = _queued_hint(project)
        assert hint.startswith(
            f"queued: the queue worker (pid {worker.pid} on {socket.gethostname()}, last seen "
        )
        assert hint.endswith("s ago) will start it as the run_queue limits of knoll.yaml allow")
        info = _info(project)
        assert info["queue worker"].startswith(f"running (pid {worker.pid} on ")
        assert info["run monitor"] == "not running (start one: knoll run monitor)"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # no clean exit: its heartbeat stays, goes stale
        worker.communicate(timeout=WAIT)

    deadline = time.monotonic() + WAIT
    while live_loop_heartbeat(instance.storage, Loop.QUEUE_WORKER) is not None:
        assert time.monotonic() < deadline, "the heartbeat never went stale"
        time.sleep(0.1)
    assert _queued_hint(project) == (
        "queued; no queue worker is running: start one with `knoll run queue-worker -m warehouse`"
    )
    assert _info(project)["queue worker"] == "not running (start one: knoll run queue-worker)"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_monitor_removes_its_heartbeat(
    project: Path, instance: Instance, signum: signal.Signals
) -> None:
    monitor = _start(project, "monitor")
    _wait_for_beat(instance, Loop.MONITOR, monitor)
    info = _info(project)
    assert info["run monitor"].startswith(f"running (pid {monitor.pid} on {socket.gethostname()}")
    assert info["run monitor"].endswith("s ago)")

    os.kill(monitor.pid, signum)
    _, err = monitor.communicate(timeout=WAIT)

    assert monitor.returncode == 0, err
    assert "knoll run monitor stopped" in err
    # at once, without waiting for the heartbeat to go stale
    assert _info(project)["run monitor"] == "not running (start one: knoll run monitor)"
