"""Runs executed by ``knoll asset materialize`` in its own process, killed or stopped for real:
they never stay STARTED (SIGKILL: the monitor fails them; SIGTERM: they end CANCELED)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.defs.keys import AssetKey
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import PartitionStatus
from tests.cli.helpers import KNOLL, knoll, knoll_env
from tests.instance.conftest import POSTGRES_URL_VAR, drop_schemas, postgres_url_or_skip

WAIT = 60.0  # seconds: only to avoid a hang
SLOW_KEY = ("--partition", "2024-01-05")
SLOW_PARTITION = ("--select", "slow", *SLOW_KEY)

SLOW_PROJECT = textwrap.dedent(
    """
    import os
    import time
    from collections.abc import Iterator
    from pathlib import Path

    from knoll import (
        ConfigurableResource, DailyPartitionsDefinition, Definitions, asset, define_asset_job,
        multiprocess_executor, resource,
    )

    daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")


    @resource
    def warehouse() -> Iterator[str]:
        yield "warehouse"
        Path(os.environ["KNOLL_TEST_TEARDOWN"]).write_text("closed")


    class Ledger(ConfigurableResource):
        def teardown_after_execution(self, context) -> None:
            Path(os.environ["KNOLL_TEST_TEARDOWN"] + ".ledger").write_text("closed")


    @asset(partitions_def=daily, required_resource_keys={"warehouse", "ledger"})
    def slow(context) -> int:
        Path(os.environ["KNOLL_TEST_TEARDOWN"] + ".started").write_text(str(os.getpid()))
        time.sleep(300)  # a test stops it
        return 1


    defs = Definitions(
        assets=[slow],
        resources={"warehouse": warehouse, "ledger": Ledger()},
        jobs=[
            define_asset_job("slow_job", selection=[slow], partitions_def=daily),
            define_asset_job(
                "slow_pool_job",
                selection=[slow],
                partitions_def=daily,
                executor_def=multiprocess_executor,
            ),
        ],
    )
    """
)

# materialize(instance=) in a program of the user's own
SLOW_SCRIPT = textwrap.dedent(
    """
    from knoll import Instance, materialize
    from slow_project import defs, slow

    with Instance.get() as instance:
        materialize(
            [slow], instance=instance, partition_key="2024-01-05", resources=defs.resources
        )
    """
)

ENTRY_POINTS = {
    "asset materialize": ["asset", "materialize", "-f", "slow_project.py", *SLOW_PARTITION],
    "job execute": ["job", "execute", "-f", "slow_project.py", "-j", "slow_job", *SLOW_KEY],
    "materialize(instance=)": ["slow_script.py"],
    "job execute (multiprocess)": [
        "job",
        "execute",
        "-f",
        "slow_project.py",
        "-j",
        "slow_pool_job",
        *SLOW_KEY,
    ],
}

SETTINGS = """run_monitoring:
  heartbeat_interval_seconds: 0.2
  heartbeat_timeout_seconds: 3
  start_timeout_seconds: 1
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "slow_project.py").write_text(SLOW_PROJECT)
    (tmp_path / "slow_script.py").write_text(SLOW_SCRIPT)
    (tmp_path / ".knoll").mkdir()
    (tmp_path / ".knoll" / "knoll.yaml").write_text(SETTINGS)
    return tmp_path


@pytest.fixture
def postgres_project(project: Path) -> Iterator[Path]:
    """``project`` with its instance's storage in a PostgreSQL schema of its own."""
    url = postgres_url_or_skip()
    schema = f"knoll_inproc_{os.getpid()}_{secrets.token_hex(4)}"
    storage = f"storage:\n  postgres:\n    url: {{env: {POSTGRES_URL_VAR}}}\n    schema: {schema}\n"
    (project / ".knoll" / "knoll.yaml").write_text(storage + SETTINGS)
    yield project
    drop_schemas(url, [schema])


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def _start(
    project: Path, entry: str = "asset materialize", *, own_group: bool = False
) -> subprocess.Popen[str]:
    env = {"KNOLL_TEST_TEARDOWN": str(project / "teardown.txt"), "PYTHONPATH": str(project)}
    args = ENTRY_POINTS[entry]
    command = [sys.executable, *args] if args[0].endswith(".py") else [*KNOLL, *args]
    return subprocess.Popen(
        command,
        cwd=project,
        env=knoll_env(project, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_group,
    )


def _wait_for_step_start(
    project: Path, instance: Instance, process: subprocess.Popen[str], *, in_events: bool = True
) -> str:
    """The run id, once its step has started: its STEP_START event is stored and the asset
    has written its file. A step of the multiprocess executor sends its events only when it
    ends: ``in_events=False`` waits for the file alone."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        runs = instance.get_runs().records
        if runs and (project / "teardown.txt.started").exists():
            run_id = runs[0].run.run_id
            if not in_events or instance.events_of_run(run_id, [EventType.STEP_START]):
                return run_id
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the step did not start")


def _partition(instance: Instance) -> PartitionStatus:
    return instance.get_partition_status(AssetKey("slow"))["2024-01-05"]


@pytest.mark.parametrize("entry", [e for e in ENTRY_POINTS if "multiprocess" not in e])
def test_the_monitor_fails_a_killed_in_process_run_and_its_partition(
    project: Path, entry: str
) -> None:
    _killed_run_is_failed(project, entry)


def test_the_monitor_fails_a_killed_in_process_run_on_postgres(postgres_project: Path) -> None:
    _killed_run_is_failed(postgres_project, "asset materialize")


def _killed_run_is_failed(project: Path, entry: str) -> None:
    with Instance.get(project / ".knoll") as instance:
        _kill_and_monitor(project, instance, entry)


def _kill_and_monitor(project: Path, instance: Instance, entry: str) -> None:
    """SIGKILL the run's process once its step started; the monitor then fails the run."""
    process = _start(project, entry)
    run_id = _wait_for_step_start(project, instance, process)
    process.kill()  # SIGKILL: no chance to record anything
    process.communicate(timeout=WAIT)
    assert instance.get_run(run_id).run.status is RunStatus.STARTED
    assert _partition(instance) is PartitionStatus.IN_PROGRESS

    monitored = knoll("run", "monitor", "--once", cwd=project)

    assert monitored.returncode == 0, monitored.stderr
    assert f"run {run_id} FAILURE" in monitored.stdout
    assert instance.get_run(run_id).run.status is RunStatus.FAILURE
    assert _partition(instance) is PartitionStatus.FAILED
    failure = instance.events_of_run(run_id, [EventType.RUN_FAILURE])[-1].message
    assert f"the process that executed it (pid {process.pid} on " in failure
    assert "its last heartbeat was at " in failure
    assert " UTC, " in failure
    assert "and that process is gone. It was killed, ran out of memory, crashed" in failure
    assert f"knoll run reexecute {run_id} --from-failure" in failure
    shown = knoll("asset", "show", "slow", "-f", "slow_project.py", cwd=project)
    assert "0 in progress" in shown.stdout, shown.stdout + shown.stderr
    assert "failed: 2024-01-05" in shown.stdout


def test_the_monitor_leaves_a_live_in_process_run_alone(project: Path, instance: Instance) -> None:
    process = _start(project)
    try:
        run_id = _wait_for_step_start(project, instance, process)
        time.sleep(1.5)  # longer than start_timeout_seconds: a run without heartbeats looks dead

        monitored = knoll("run", "monitor", "--once", cwd=project)

        assert monitored.returncode == 0, monitored.stderr
        assert run_id not in monitored.stdout
        assert instance.get_run(run_id).run.status is RunStatus.STARTED
        beat = instance.get_run_heartbeats([run_id])[run_id]
        assert beat.pid == process.pid
        assert beat.in_process
    finally:
        process.kill()
        process.communicate(timeout=WAIT)


def test_an_ephemeral_instance_records_no_heartbeat() -> None:
    with Instance.ephemeral() as ephemeral:
        assert ephemeral.run_heartbeat_interval is None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_cancels_the_run_and_tears_resources_down(
    project: Path, instance: Instance, signum: signal.Signals
) -> None:
    process = _start(project)
    run_id = _wait_for_step_start(project, instance, process)

    os.kill(process.pid, signum)
    _, err = process.communicate(timeout=WAIT)

    assert process.returncode == 128 + signum, err
    assert f"run {run_id} CANCELED: stopped by " in err
    assert signum.name in err
    assert "Traceback" not in err
    run = instance.get_run(run_id).run
    assert run.status is RunStatus.CANCELED
    canceled = instance.events_of_run(run_id, [EventType.RUN_CANCELED])[-1].message
    assert "interrupted" in canceled
    assert (project / "teardown.txt").read_text() == "closed"
    assert (project / "teardown.txt.ledger").read_text() == "closed"
    assert _partition(instance) is PartitionStatus.FAILED


def test_cancelling_an_in_process_run_stops_it_through_its_heartbeat(
    project: Path, instance: Instance
) -> None:
    process = _start(project)
    run_id = _wait_for_step_start(project, instance, process)

    record = instance.cancel_run(run_id, grace_seconds=WAIT)

    assert record.run.status is RunStatus.CANCELED
    _, err = process.communicate(timeout=WAIT)
    assert process.returncode == 130, err  # stopped by its heartbeat, never signalled
    assert f"run {run_id} CANCELED: stopped by `knoll run cancel` or Ctrl-C" in err
    assert (project / "teardown.txt").read_text() == "closed"
    canceled = instance.events_of_run(run_id, [EventType.RUN_CANCELED])
    assert len(canceled) == 1
    assert "interrupted" in canceled[0].message


def test_sigterm_to_the_process_group_cancels_a_multiprocess_run(
    project: Path, instance: Instance
) -> None:
    """``timeout`` and ``docker stop`` signal the whole group: step workers stop quietly and
    the run's own process records the cancellation."""
    process = _start(project, "job execute (multiprocess)", own_group=True)
    run_id = _wait_for_step_start(project, instance, process, in_events=False)

    os.killpg(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=WAIT)

    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert f"run {run_id} CANCELED: stopped by SIGTERM" in err
    assert instance.get_run(run_id).run.status is RunStatus.CANCELED
