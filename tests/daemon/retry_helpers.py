"""What the run retry tests share: launching a run and waiting for its end, draining the run
queue, counting step executions."""

from __future__ import annotations

import time
from pathlib import Path

from knoll.instance import Instance
from knoll.instance.launcher import LaunchRequest, RunLauncher
from knoll.instance.queue import dequeue
from knoll.storage.base import RunRecord
from tests.daemon.conftest import WAIT


def executions(steps_dir: Path, name: str) -> int:
    """How many times step ``name`` ran."""
    path = steps_dir / f"{name}.runs"
    return len(path.read_text().split()) if path.exists() else 0


def finished(instance: Instance, run_id: str) -> RunRecord:
    """The record of ``run_id`` once it has ended."""
    deadline = time.monotonic() + WAIT
    while True:
        record = instance.get_run(run_id)
        if record.run.is_finished:
            return record
        assert time.monotonic() < deadline, f"run {run_id} did not finish"
        time.sleep(0.05)


def run_job(instance: Instance, launcher: RunLauncher, job_name: str) -> RunRecord:
    """Launch a run of ``job_name`` and wait for its end."""
    record = launcher.launch_run(LaunchRequest(job_name=job_name))
    return finished(instance, record.run.run_id)


def drain(instance: Instance, launcher: RunLauncher) -> list[RunRecord]:
    """Start the queued runs and wait for their ends."""
    started = dequeue(instance, launcher.launch_queued_run)
    return [finished(instance, run_id) for run_id in started]
