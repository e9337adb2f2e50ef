"""``knoll run launch`` and ``knoll run cancel`` against real code servers and run workers."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.cli.helpers import knoll

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

LAUNCH_DEFS = Path(__file__).parents[1] / "codeloc" / "projects" / "launch" / "launch_defs.py"
WAIT = 60.0  # seconds: only to avoid a hang


@pytest.fixture
def launch_project(tmp_path: Path) -> Path:
    shutil.copy(LAUNCH_DEFS, tmp_path / "launch_defs.py")
    return tmp_path


def _run_id(stdout: str, verb: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(f"{verb} run "):
            return line.split()[2]
    raise AssertionError(f"no '{verb} run' line in {stdout!r}")


def test_launch_runs_the_job_in_a_worker_and_shows_its_steps(launch_project: Path) -> None:
    done = knoll("run", "launch", "-m", "launch_defs", "--job", "quick_job", cwd=launch_project)

    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout, "launched")
    assert "STEP_SUCCESS" in done.stdout
    assert "numbers" in done.stdout
    assert "total" in done.stdout
    assert f"run {run_id} SUCCESS" in done.stdout
    shown = knoll("run", "show", run_id, cwd=launch_project)
    assert "SUCCESS" in shown.stdout


def test_launch_takes_config_tags_and_a_selection(launch_project: Path) -> None:
    (launch_project / "run.yaml").write_text("ops:\n  numbers:\n    config:\n      count: 7\n")
    done = knoll(
        "run", "launch", "-f", "launch_defs.py", "--select", "numbers",
        "--config", "run.yaml", "--tag", "team=data", cwd=launch_project,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout, "launched")
    assert "total" not in done.stdout
    listed = knoll("run", "list", "--tag", "team=data", cwd=launch_project)
    assert run_id in listed.stdout


def test_a_bad_request_is_refused_with_the_definitions_error(launch_project: Path) -> None:
    done = knoll("run", "launch", "-m", "launch_defs", "--job", "quik_job", cwd=launch_project)

    assert done.returncode == 2
    assert "no job named 'quik_job'" in done.stderr
    assert "quick_job" in done.stderr
    assert "Traceback" not in done.stderr


def test_launch_needs_something_to_run(launch_project: Path) -> None:
    done = knoll("run", "launch", "-m", "launch_defs", cwd=launch_project)

    assert done.returncode == 2
    assert "--job NAME, --select SELECTION, or both" in done.stderr


def test_a_queued_run_can_be_canceled(launch_project: Path) -> None:
    queued = knoll(
        "run", "launch", "-m", "launch_defs", "--job", "quick_job", "--queue", cwd=launch_project
    )
    assert queued.returncode == 0, queued.stderr
    run_id = _run_id(queued.stdout, "queued")

    canceled = knoll("run", "cancel", run_id[:8], cwd=launch_project)

    assert canceled.returncode == 0, canceled.stderr
    assert f"run {run_id} CANCELED" in canceled.stdout
    again = knoll("run", "cancel", run_id, cwd=launch_project)
    assert again.returncode == 2
    assert "has already finished (CANCELED): there is nothing to cancel" in again.stderr


def test_cancel_stops_a_run_launched_without_waiting(launch_project: Path) -> None:
    marker = launch_project / "slow.pid"
    env = {"KNOLL_TEST_SLOW_MARKER": str(marker)}
    launched = knoll(
        "run", "launch", "-m", "launch_defs", "--job", "slow_job", "--no-wait",
        cwd=launch_project, env=env,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    run_id = _run_id(launched.stdout, "launched")
    deadline = time.monotonic() + WAIT
    while not marker.exists():
        assert time.monotonic() < deadline, "the slow step did not start"
        time.sleep(0.02)

    canceled = knoll("run", "cancel", run_id, "--grace", str(WAIT), cwd=launch_project)

    assert canceled.returncode == 0, canceled.stderr
    assert f"run {run_id} CANCELED" in canceled.stdout


def test_cancel_of_an_unknown_run_is_an_error(launch_project: Path) -> None:
    done = knoll("run", "cancel", "nope", cwd=launch_project)

    assert done.returncode == 2
    assert "no run 'nope'" in done.stderr
