"""``knoll run queue-worker`` and ``knoll run monitor`` over a workspace of several code
locations, and ``knoll run logs`` showing a run worker's own output; real processes all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.execution.run import Run, RunStatus, new_run_id
from knoll.instance import Instance
from knoll.instance.heartbeats import write_heartbeat
from knoll.instance.launcher import LOCATION_TAG
from tests.cli.helpers import knoll

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

TESTS = Path(__file__).parents[1]
WAIT = 60.0  # seconds: only to avoid a hang
WORKSPACE = """
load_from:
  - python_module: {module_name: sales_defs, working_directory: sales, location_name: sales}
  - python_module: {module_name: launch_defs, working_directory: launch, location_name: launch}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two locations with different jobs: sales (sales_job) and launch (quick_job)."""
    (tmp_path / "sales").mkdir()
    (tmp_path / "launch").mkdir()
    shutil.copy(TESTS / "codeloc/projects/two_locations/sales/sales_defs.py", tmp_path / "sales")
    shutil.copy(TESTS / "codeloc/projects/launch/launch_defs.py", tmp_path / "launch")
    (tmp_path / "workspace.yaml").write_text(WORKSPACE)
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def queue_with_the_cli(project: Path, location: str, job: str) -> str:
    done = knoll(
        "run", "launch", "-w", "workspace.yaml", "--location", location, "--job", job, "--queue",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return run_id_after(done.stdout, "queued run ")


def run_id_after(stdout: str, prefix: str) -> str:
    """The run id of the line that starts with ``prefix`` (code servers print lines too)."""
    for line in stdout.splitlines():
        if line.startswith(prefix):
            return line.split()[2]
    raise AssertionError(f"no {prefix!r} line in {stdout!r}")


def own_lines(stdout: str) -> list[str]:
    """The command's own lines, without those of the code servers it started."""
    return [line for line in stdout.splitlines() if not line.startswith("knoll code server")]


def wait_finished(instance: Instance, run_id: str) -> RunStatus:
    deadline = time.monotonic() + WAIT
    while not instance.get_run(run_id).run.is_finished:
        assert time.monotonic() < deadline, f"run {run_id} did not finish"
        time.sleep(0.05)
    return instance.get_run(run_id).run.status


def test_the_queue_worker_starts_each_run_through_its_locations_code_server(
    project: Path, instance: Instance
) -> None:
    sales = queue_with_the_cli(project, "sales", "sales_job")
    quick = queue_with_the_cli(project, "launch", "quick_job")
    lost = instance.submit_run(
        Run(new_run_id(), "marketing_job", tags={LOCATION_TAG: "marketing"})
    ).run.run_id

    done = knoll("run", "queue-worker", "--once", "-w", "workspace.yaml", cwd=project)

    assert done.returncode == 0, done.stderr
    assert f"started run {sales}" in done.stdout
    assert f"started run {quick}" in done.stdout
    assert (
        f"run {lost} FAILURE: run {lost} belongs to code location 'marketing' (its "
        "knoll/location tag), which is not one of the locations served here: sales, launch."
    ) in done.stdout
    assert instance.get_run(lost).run.status is RunStatus.FAILURE
    assert wait_finished(instance, sales) is RunStatus.SUCCESS
    assert wait_finished(instance, quick) is RunStatus.SUCCESS


def test_a_queue_worker_of_one_location_leaves_the_others_runs_queued(
    project: Path, instance: Instance
) -> None:
    sales = queue_with_the_cli(project, "sales", "sales_job")
    quick = queue_with_the_cli(project, "launch", "quick_job")

    done = knoll(
        "run", "queue-worker", "--once", "-w", "workspace.yaml", "--location", "sales",
        cwd=project,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert own_lines(done.stdout) == [f"started run {sales}"]
    assert instance.get_run(quick).run.status is RunStatus.QUEUED
    assert wait_finished(instance, sales) is RunStatus.SUCCESS


def test_launching_a_new_run_from_a_workspace_of_several_locations_needs_one(
    project: Path,
) -> None:
    done = knoll("run", "launch", "-w", "workspace.yaml", "--job", "sales_job", cwd=project)

    assert done.returncode == 2
    assert (
        "error: workspace.yaml has several locations (sales, launch): pick one with --location."
    ) in done.stderr


def test_the_monitor_fails_a_dead_run_of_a_location_the_workspace_lacks(
    project: Path, instance: Instance
) -> None:
    (project / ".knoll").mkdir(exist_ok=True)
    (project / ".knoll" / "knoll.yaml").write_text("run_monitoring:\n  max_resume_attempts: 1\n")
    run = Run(new_run_id(), "job", status=RunStatus.STARTING, tags={LOCATION_TAG: "marketing"})
    instance.create_run(run)
    instance.storage.update_run_status(run.run_id, RunStatus.STARTED)
    write_heartbeat(instance.storage, run.run_id, pid=_dead_pid(), now=time.time() - 600)

    one = knoll(
        "run", "monitor", "--once", "-w", "workspace.yaml", "--location", "sales", cwd=project
    )
    assert one.returncode == 0, one.stderr
    assert instance.get_run(run.run_id).run.status is RunStatus.STARTED  # left to its monitor

    every = knoll("run", "monitor", "--once", "-w", "workspace.yaml", cwd=project)

    assert every.returncode == 0, every.stderr
    assert f"run {run.run_id} FAILURE" in every.stdout
    last = instance.get_events(run.run_id).records[-1].event
    assert (
        f"and it cannot be resumed here: run {run.run_id} belongs to code location 'marketing'"
    ) in last.message


# ---- the run worker's own output -------------------------------------------------------------

NOISY_DEFS = textwrap.dedent(
    """
    import sys
    import threading

    from knoll import Definitions, asset, define_asset_job, resource


    def _crash() -> None:
        raise RuntimeError("the warehouse connection pool crashed")


    @resource
    def warehouse(context) -> str:
        # runs in the run worker, outside any step: its output goes to worker.log
        print("connecting to the warehouse", file=sys.stderr, flush=True)
        thread = threading.Thread(target=_crash, name="pool")
        thread.start()
        thread.join()
        return "warehouse"


    @asset(required_resource_keys={"warehouse"})
    def rows(context) -> int:
        print("counting rows")
        return 3


    defs = Definitions(
        assets=[rows],
        resources={"warehouse": warehouse},
        jobs=[define_asset_job("noisy_job", selection=["rows"])],
    )
    """
)


@pytest.fixture
def noisy_run(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "noisy_defs.py").write_text(NOISY_DEFS)
    done = knoll("run", "launch", "-m", "noisy_defs", "--job", "noisy_job", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path, run_id_after(done.stdout, "launched run ")


def test_run_logs_shows_what_the_run_worker_printed_after_the_steps(
    noisy_run: tuple[Path, str],
) -> None:
    project, run_id = noisy_run
    with Instance.get(project / ".knoll") as instance:
        pid = instance.get_run_heartbeats([run_id])[run_id].pid

    logs = knoll("run", "logs", run_id, cwd=project)

    assert logs.returncode == 0, logs.stderr
    out = logs.stdout
    heading = f"--- output of the run worker (pid {pid}) ---"
    assert heading in out
    assert out.index("--- stdout of step rows ---") < out.index(heading)
    worker = out[out.index(heading) :]
    assert "connecting to the warehouse" in worker
    assert "Exception in thread pool:\nTraceback (most recent call last):" in worker
    assert "RuntimeError: the warehouse connection pool crashed" in worker
    assert "counting rows" not in worker  # kept once, in the step's section
    assert out.count("counting rows") == 1
    assert worker.rstrip().endswith("--- end of output of the run worker ---")

    step = knoll("run", "logs", run_id, "--step", "rows", cwd=project)
    assert "counting rows" in step.stdout
    assert "run worker" not in step.stdout

    only = knoll("run", "logs", run_id, "--worker", cwd=project)
    assert only.returncode == 0, only.stderr
    assert own_lines(only.stdout)[0] == heading
    assert "connecting to the warehouse" in only.stdout
    assert "STEP_SUCCESS" not in only.stdout  # no events


def test_run_logs_worker_of_a_run_that_had_no_worker(tmp_path: Path) -> None:
    with Instance.get(tmp_path / ".knoll") as instance:
        instance.create_run(Run("r-inline", "job", status=RunStatus.STARTING))
        folder = instance.compute_logs.run_dir("r-inline")

    done = knoll("run", "logs", "r-inline", "--worker", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"run r-inline has no run worker output: {folder / 'worker.log'} is empty or missing "
        "(the run was not launched through a code server, or its worker printed nothing)."
    )


def test_run_logs_worker_takes_neither_step_nor_follow(tmp_path: Path) -> None:
    step = knoll("run", "logs", "r1", "--worker", "--step", "a", cwd=tmp_path)
    follow = knoll("run", "logs", "r1", "--worker", "--follow", cwd=tmp_path)

    assert step.returncode == follow.returncode == 2
    assert (
        "error: --worker shows the run worker's output and --step one step's: give one of them."
    ) in step.stderr
    assert (
        "error: --worker prints the run worker's output as it is now: leave out --follow."
    ) in follow.stderr


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
