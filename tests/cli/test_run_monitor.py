"""``knoll run monitor`` and ``knoll run queue-worker`` as real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance
from knoll.instance.launcher import LaunchRequest
from tests.cli.helpers import KNOLL, knoll, knoll_env

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

MONITOR_DEFS = Path(__file__).parents[1] / "instance" / "projects" / "monitor" / "monitor_defs.py"
WAIT = 60.0  # seconds: only to avoid a hang


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(MONITOR_DEFS, tmp_path / "monitor_defs.py")
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def test_the_queue_worker_drains_queued_runs_through_a_code_server(
    project: Path, instance: Instance
) -> None:
    target = CodeLocationTarget(module_name="monitor_defs", working_directory=str(project))
    with start_workspace(workspace_from_target(target), timeout=WAIT) as processes:
        client = processes.client("monitor_defs")
        queued = [
            instance.launch_run(LaunchRequest(job_name="quick_job"), client, queue=True).run.run_id
            for _ in range(5)
        ]

    done = knoll("run", "queue-worker", "--once", "-m", "monitor_defs", cwd=project)

    assert done.returncode == 0, done.stderr
    started = [line.split()[2] for line in done.stdout.splitlines() if line.startswith("started")]
    assert sorted(started) == sorted(queued)
    deadline = time.monotonic() + WAIT
    while not all(instance.get_run(r).run.is_finished for r in queued):
        assert time.monotonic() < deadline, "the dequeued runs did not finish"
        time.sleep(0.05)
    assert {instance.get_run(r).run.status for r in queued} == {RunStatus.SUCCESS}
    again = knoll("run", "queue-worker", "--once", "-m", "monitor_defs", cwd=project)
    assert again.returncode == 0, again.stderr
    assert "started run" not in again.stdout


def test_the_monitor_fails_a_run_that_never_started(project: Path, instance: Instance) -> None:
    (project / ".knoll").mkdir(exist_ok=True)
    (project / ".knoll" / "knoll.yaml").write_text(
        "run_monitoring:\n  start_timeout_seconds: 0.1\n"
    )
    instance.create_run(Run(run_id="r-stuck", job_name="quick_job", status=RunStatus.STARTING))
    time.sleep(0.2)  # past the start timeout

    done = knoll("run", "monitor", "--once", cwd=project)

    assert done.returncode == 0, done.stderr
    assert "run r-stuck FAILURE" in done.stdout
    assert instance.get_run("r-stuck").run.status is RunStatus.FAILURE


def test_the_monitor_loops_until_ctrl_c(project: Path) -> None:
    monitor = subprocess.Popen(
        [*KNOLL, "run", "monitor", "--interval", "0.1"],
        cwd=project,
        env=knoll_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert monitor.stderr is not None
        assert "run monitor running" in monitor.stderr.readline()
        monitor.send_signal(signal.SIGINT)
        _, err = monitor.communicate(timeout=WAIT)
    finally:
        if monitor.poll() is None:
            monitor.kill()
            monitor.wait()
    assert monitor.returncode == 0, err
    assert "run monitor stopped" in err


def test_a_disabled_monitor_refuses_to_start(project: Path) -> None:
    (project / ".knoll").mkdir(exist_ok=True)
    (project / ".knoll" / "knoll.yaml").write_text("run_monitoring:\n  enabled: false\n")

    done = knoll("run", "monitor", "--once", cwd=project)

    assert done.returncode == 2
    assert "run monitoring is disabled" in done.stderr
