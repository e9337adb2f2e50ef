"""`knoll daemon run` with run_retries enabled, as real processes: a failing run is retried and
its retry succeeds, a run worker killed with SIGKILL counts as a failure to retry, and two
daemons at once never make two retries of one run."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from knoll.daemon.retries import RETRIES_EXHAUSTED_TAG, RETRY_NUMBER_TAG, retry_run_id
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import RunRecord, RunsFilter
from tests.cli.helpers import knoll, knoll_env
from tests.daemon.conftest import RETRY_PROJECT as PROJECT
from tests.daemon.conftest import WAIT
from tests.daemon.processes import kill_daemon, start_daemon, wait_for
from tests.daemon.retry_helpers import executions

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

SETTINGS = """run_queue:
  dequeue_interval_seconds: 0.2
run_monitoring:
  poll_interval_seconds: 0.2
  heartbeat_interval_seconds: 0.3
  heartbeat_timeout_seconds: 2
daemon:
  lease_seconds: 4
run_retries:
  enabled: true
  max_retries: 2
"""


@pytest.fixture
def project(tmp_path: Path, steps_dir: Path) -> Path:
    (tmp_path / "retry_defs.py").write_text((PROJECT / "retry_defs.py").read_text())
    (tmp_path / ".knoll").mkdir()
    (tmp_path / ".knoll" / "knoll.yaml").write_text(SETTINGS)
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def _env(project: Path, steps_dir: Path) -> dict[str, str]:
    return knoll_env(project, {"KNOLL_TEST_RETRY_DIR": str(steps_dir)})


def _start(project: Path, steps_dir: Path) -> subprocess.Popen[str]:
    return start_daemon(project, ["-m", "retry_defs"], {"KNOLL_TEST_RETRY_DIR": str(steps_dir)})


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    return kill_daemon(process)


def _wait(what: str, ready: Callable[[], bool], *processes: subprocess.Popen[str]) -> None:
    wait_for(what, ready, *processes)


def _retries_running(instance: Instance) -> bool:
    """A daemon has made its first run_retries pass: failures from now on are retried."""
    return any(beat.duty == "run_retries" for beat in instance.storage.get_daemon_heartbeats())


def _queue(project: Path, steps_dir: Path, job: str) -> str:
    queued = knoll(
        "run",
        "launch",
        "-m",
        "retry_defs",
        "--job",
        job,
        "--queue",
        cwd=project,
        env={"KNOLL_TEST_RETRY_DIR": str(steps_dir)},
    )
    assert queued.returncode == 0, queued.stderr
    [run_id] = [line.split()[2] for line in queued.stdout.splitlines() if line.startswith("queued")]
    return run_id


def _status(instance: Instance, run_id: str) -> RunStatus | None:
    record = instance.storage.get_run(run_id)
    return None if record is None else record.run.status


def _runs_of(instance: Instance, job: str) -> list[RunRecord]:
    return list(instance.get_runs(RunsFilter(job_name=job)).records)


def test_the_daemon_retries_a_failed_run_and_the_retry_succeeds(
    project: Path, instance: Instance, steps_dir: Path
) -> None:
    daemon = _start(project, steps_dir)
    try:
        _wait("the first run_retries pass", lambda: _retries_running(instance), daemon)
        failed = _queue(project, steps_dir, "flaky_job")
        retry = retry_run_id(failed)
        _wait("the retry succeeding", lambda: _status(instance, retry) is RunStatus.SUCCESS, daemon)
        daemon.send_signal(signal.SIGINT)
        out, err = daemon.communicate(timeout=WAIT)
    finally:
        _stop(daemon)

    assert daemon.returncode == 0, err
    assert _status(instance, failed) is RunStatus.FAILURE
    assert f"run {failed} FAILURE: retry queued as run {retry}" in out.splitlines()
    assert f"started run {retry}" in out
    assert [executions(steps_dir, s) for s in ("first", "flaky", "last")] == [1, 2, 1]
    assert len(_runs_of(instance, "flaky_job")) == 2


def test_a_killed_worker_is_a_failure_to_retry_where_a_step_failure_is_not(
    project: Path, instance: Instance, steps_dir: Path
) -> None:
    settings = SETTINGS + "  retry_on_asset_or_op_failure: false\n"
    (project / ".knoll" / "knoll.yaml").write_text(settings)
    daemon = _start(project, steps_dir)
    try:
        _wait("the first run_retries pass", lambda: _retries_running(instance), daemon)
        step_failed = _queue(project, steps_dir, "flaky_job")
        killed = _queue(project, steps_dir, "sleepy_job")
        marker = steps_dir / "sleepy.runs"
        _wait("the sleepy step", lambda: marker.exists() and bool(marker.read_text()), daemon)
        os.kill(int(marker.read_text().split()[0]), signal.SIGKILL)
        retry = retry_run_id(killed)
        _wait("the retry succeeding", lambda: _status(instance, retry) is RunStatus.SUCCESS, daemon)
        _wait("the step failure", lambda: _status(instance, step_failed) is RunStatus.FAILURE)
        daemon.send_signal(signal.SIGINT)
        out, err = daemon.communicate(timeout=WAIT)
    finally:
        _stop(daemon)

    assert daemon.returncode == 0, err
    assert _status(instance, killed) is RunStatus.FAILURE
    failure = instance.get_events(killed).records[-2].event.message  # before the retry's log
    assert "died: its last heartbeat is" in failure
    assert executions(steps_dir, "sleepy") == 2
    assert (
        f"run {step_failed} FAILURE: not retried (a step failed, and "
        "run_retries:retry_on_asset_or_op_failure is false)"
    ) in out.splitlines()
    assert instance.storage.get_run(retry_run_id(step_failed)) is None


def test_two_daemons_make_one_retry_of_each_run_until_none_is_left(
    project: Path, instance: Instance, steps_dir: Path
) -> None:
    first = _start(project, steps_dir)
    second = _start(project, steps_dir)
    try:
        _wait("the first run_retries pass", lambda: _retries_running(instance), first, second)
        root = _queue(project, steps_dir, "broken_job")  # knoll/max_retries=2

        def exhausted() -> bool:
            runs = _runs_of(instance, "broken_job")
            return any(RETRIES_EXHAUSTED_TAG in r.run.tags for r in runs)

        _wait("the retries running out", exhausted, first, second)
        # Ctrl-C: the pass that stored the tag finishes (and says so) before the daemon exits
        for process in (first, second):
            process.send_signal(signal.SIGINT)
        outputs = [process.communicate(timeout=WAIT) for process in (first, second)]
    finally:
        for process in (first, second):
            _stop(process)

    runs = _runs_of(instance, "broken_job")
    assert sorted(r.run.tags.get(RETRY_NUMBER_TAG, "0") for r in runs) == ["0", "1", "2"]
    assert {r.run.root_run_id or r.run.run_id for r in runs} == {root}
    assert executions(steps_dir, "broken") == 3
    said = "".join(out for out, _ in outputs).splitlines()
    assert len([line for line in said if "retry queued as run" in line]) == 2
    assert len([line for line in said if "no retry left" in line]) == 1
