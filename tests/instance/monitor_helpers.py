"""What the run-monitor tests share: launching a run whose ``middle`` step sleeps, killing its
worker, counting step executions, and monitoring a run until it ends."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import WorkspaceProcesses, start_workspace, workspace_from_target
from knoll.instance import Instance
from knoll.instance.config import RunMonitoringSettings
from knoll.instance.launcher import LaunchRequest, RunLauncher
from knoll.instance.monitor import monitor_once
from knoll.storage.base import RunRecord

WAIT = 60.0  # seconds: only to avoid a hang, never an assertion about speed


@contextlib.contextmanager
def serve_project(
    tmp_path: Path, steps_dir: Path, source: str, module: str, location: str, timeout: float
) -> Iterator[WorkspaceProcesses]:
    """A code server for ``source`` (written as ``module``), whose steps count their
    executions in ``steps_dir`` (``KNOLL_TEST_RESUME_DIR``)."""
    code = tmp_path / "code"
    code.mkdir()
    (code / f"{module}.py").write_text(source)
    target = CodeLocationTarget(module_name=module, working_directory=str(code))
    env = {**os.environ, "KNOLL_TEST_RESUME_DIR": str(steps_dir)}
    with start_workspace(workspace_from_target(target, location), env=env, timeout=timeout) as ws:
        yield ws


def executions(steps_dir: Path, name: str) -> int:
    """How many times step ``name`` ran (each execution appends its pid to ``name.runs``)."""
    path = steps_dir / f"{name}.runs"
    return len(path.read_text().split()) if path.exists() else 0


def launch_and_kill(
    instance: Instance, client: CodeServerClient, steps_dir: Path, job_name: str
) -> str:
    """Launch ``job_name``, wait until its ``middle`` step sleeps in the run worker, and kill
    that worker with SIGKILL; return the run's id."""
    record = instance.launch_run(LaunchRequest(job_name=job_name), client, heartbeat_interval=0.2)
    marker = steps_dir / "middle.runs"
    deadline = time.monotonic() + WAIT
    while not marker.exists() or not marker.read_text().strip():
        assert time.monotonic() < deadline, "the middle step did not start"
        time.sleep(0.02)
    worker_pid = int(marker.read_text().split()[0])
    os.kill(worker_pid, signal.SIGKILL)
    return record.run.run_id


def monitor_until_finished(
    instance: Instance, run_id: str, settings: RunMonitoringSettings, launcher: RunLauncher | None
) -> RunRecord:
    """Make monitor passes until the run has ended; its record."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        record = instance.get_run(run_id)
        if record.run.is_finished:
            return record
        monitor_once(instance, settings=settings, launcher=launcher)
        time.sleep(settings.poll_interval_seconds)
    raise AssertionError(f"run {run_id} did not finish within {WAIT}s")
