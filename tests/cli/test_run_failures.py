"""Why a run ended, as the commands say it: `knoll run show` gives the failure of a run that
failed outside any step, `knoll run launch --queue` says how the run will start and
`knoll run cancel --last` cancels the newest unfinished run. Real code servers and workers."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

from knoll.execution.events import EventType
from knoll.instance import Instance
from tests.cli.helpers import knoll

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="run workers are forked")

WAIT = 60.0  # seconds: only to avoid a hang

WAREHOUSE = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from knoll import ConfigurableResource, Definitions, EnvVar, asset, define_asset_job


    class Warehouse(ConfigurableResource):
        token: str


    @asset
    def orders(warehouse: Warehouse) -> int:
        return len(warehouse.token)


    class Vault(ConfigurableResource):
        def setup_for_execution(self, context: object) -> None:
            raise ConnectionError("vault at vault:8200 refused the connection")


    @asset
    def secrets(vault: Vault) -> int:
        return 1


    @asset
    def slow() -> int:
        Path(os.environ["KNOLL_TEST_SLOW_MARKER"]).write_text(str(os.getpid()))
        time.sleep(300)
        return 1


    defs = Definitions(
        assets=[orders, secrets, slow],
        resources={
            "warehouse": Warehouse(token=EnvVar("KNOLL_TEST_WAREHOUSE_TOKEN")),
            "vault": Vault(),
        },
        jobs=[
            define_asset_job("orders_job", selection=["orders"]),
            define_asset_job("secrets_job", selection=["secrets"]),
            define_asset_job("slow_job", selection=["slow"]),
        ],
    )
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "warehouse.py").write_text(WAREHOUSE)
    return tmp_path


def _run_id(stdout: str, verb: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(f"{verb} run "):
            return line.split()[2]
    raise AssertionError(f"no '{verb} run' line in {stdout!r}")


def _field(shown: str, name: str) -> str:
    for line in shown.splitlines():
        if line.startswith(f"  {name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no '{name}:' line in {shown!r}")


def test_show_gives_the_failure_of_an_unset_env_var(project: Path) -> None:
    assert "KNOLL_TEST_WAREHOUSE_TOKEN" not in os.environ
    launched = knoll("run", "launch", "-m", "warehouse", "--job", "orders_job", cwd=project)
    assert launched.returncode == 1, launched.stderr

    shown = knoll("run", "show", "--last", cwd=project)

    assert shown.returncode == 0, shown.stderr
    reason = _field(shown.stdout, "reason")
    assert "Environment variable 'KNOLL_TEST_WAREHOUSE_TOKEN'" in reason
    assert "resource 'warehouse', field 'token' is not set" in reason
    assert "Set KNOLL_TEST_WAREHOUSE_TOKEN in the environment" in reason
    assert _field(shown.stdout, "error") == "EnvVarNotSetError"
    assert "orders  NOT RUN" in shown.stdout


def test_show_gives_the_failure_of_a_resource_that_cannot_be_set_up(project: Path) -> None:
    launched = knoll("run", "launch", "-m", "warehouse", "--job", "secrets_job", cwd=project)
    assert launched.returncode == 1, launched.stderr

    shown = knoll("run", "show", "--last", cwd=project)

    assert shown.returncode == 0, shown.stderr
    assert _field(shown.stdout, "reason") == (
        "run of job 'secrets_job' failed: error while initializing resource 'vault': "
        "ConnectionError: vault at vault:8200 refused the connection"
    )
    assert _field(shown.stdout, "error") == "ConnectionError"  # the user's, not knoll's wrapper


def test_show_gives_the_import_error_of_a_location_that_no_longer_loads(project: Path) -> None:
    (project / "workspace.yaml").write_text("load_from:\n  - python_file: warehouse.py\n")
    queued = knoll(
        "run", "launch", "-w", "workspace.yaml", "--job", "orders_job", "--queue", cwd=project
    )  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    run_id = _run_id(queued.stdout, "queued")
    with (project / "warehouse.py").open("a") as code:
        code.write("\nraise RuntimeError('the config server is down')\n")
    worked = knoll("run", "queue-worker", "--once", "-w", "workspace.yaml", cwd=project)
    assert worked.returncode == 0, worked.stderr

    shown = knoll("run", "show", run_id, cwd=project)

    assert _field(shown.stdout, "status") == "FAILURE"
    reason = _field(shown.stdout, "reason")
    assert reason.startswith(f"run {run_id} could not be started: ")
    assert "error while importing file" in reason
    assert "RuntimeError: the config server is down" in reason


def test_show_gives_the_failure_of_a_worker_killed_then_failed_by_the_monitor(
    project: Path,
) -> None:
    (project / ".knoll").mkdir()
    (project / ".knoll" / "knoll.yaml").write_text(
        "run_monitoring:\n  heartbeat_interval_seconds: 0.2\n  heartbeat_timeout_seconds: 1\n"
    )
    marker = project / "slow.pid"
    env = {"KNOLL_TEST_SLOW_MARKER": str(marker)}
    launched = knoll(
        "run", "launch", "-m", "warehouse", "--job", "slow_job", "--no-wait",
        cwd=project, env=env,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    run_id = _run_id(launched.stdout, "launched")
    deadline = time.monotonic() + WAIT
    with Instance.get(project / ".knoll") as instance:
        # the step has started and its STEP_START is stored (events are written in batches)
        while not (marker.exists() and marker.read_text()) or not instance.events_of_run(
            run_id, [EventType.STEP_START]
        ):
            assert time.monotonic() < deadline, "the slow step did not start"
            time.sleep(0.02)
        beat = instance.get_run_heartbeats([run_id])[run_id]
    os.kill(beat.pid, signal.SIGKILL)
    deadline = time.monotonic() + WAIT
    while True:  # the worker's parent reaps it; then its heartbeat runs out
        monitored = knoll("run", "monitor", "--once", cwd=project)
        assert monitored.returncode == 0, monitored.stderr
        if f"run {run_id} FAILURE" in monitored.stdout:
            break
        assert time.monotonic() < deadline, "the monitor did not fail the run"
        time.sleep(0.5)

    shown = knoll("run", "show", run_id, cwd=project)

    assert shown.returncode == 0, shown.stderr
    assert _field(shown.stdout, "status") == "FAILURE"
    reason = _field(shown.stdout, "reason")
    assert f"its run worker (pid {beat.pid} on {beat.host}) died" in reason
    assert f"knoll run reexecute {run_id} --from-failure" in reason
    assert "slow  INTERRUPTED" in shown.stdout


def test_launch_queue_says_how_the_run_will_start(project: Path) -> None:
    queued = knoll(
        "run", "launch", "-m", "warehouse", "--job", "orders_job", "--queue", cwd=project
    )  # fmt: skip

    assert queued.returncode == 0, queued.stderr
    run_id = _run_id(queued.stdout, "queued")
    assert queued.stdout.splitlines()[-1] == f"queued run {run_id}"
    [hint] = [line for line in queued.stderr.splitlines() if "queue worker" in line]
    assert hint == (
        "queued; no queue worker is running: start one with `knoll run queue-worker -m warehouse`"
    )
    shown = knoll("run", "show", run_id, cwd=project)
    assert _field(shown.stdout, "status") == "QUEUED"


def test_cancel_last_cancels_the_newest_unfinished_run(project: Path) -> None:
    older = knoll(
        "run", "launch", "-m", "warehouse", "--job", "orders_job", "--queue", cwd=project
    )  # fmt: skip
    newer = knoll(
        "run", "launch", "-m", "warehouse", "--job", "orders_job", "--queue", cwd=project
    )  # fmt: skip
    older_id, newer_id = _run_id(older.stdout, "queued"), _run_id(newer.stdout, "queued")
    finished = knoll("run", "launch", "-m", "warehouse", "--job", "orders_job", cwd=project)
    assert finished.returncode == 1  # the newest run, already FAILURE: not the one to cancel

    first = knoll("run", "cancel", "--last", cwd=project)
    second = knoll("run", "cancel", "--last", cwd=project)
    none_left = knoll("run", "cancel", "--last", cwd=project)

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"run {newer_id} CANCELED"
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"run {older_id} CANCELED"
    assert none_left.returncode == 2
    [message] = none_left.stderr.splitlines()
    assert message.startswith("error: no run to cancel in ")
    assert "none is queued or in progress. `knoll run list` shows the runs there are." in message
    shown = knoll("run", "show", newer_id, cwd=project)
    assert _field(shown.stdout, "reason") == f"run {newer_id} was canceled while queued"


def test_cancel_needs_a_run_id_or_last(project: Path) -> None:
    neither = knoll("run", "cancel", cwd=project)
    both = knoll("run", "cancel", "abcd", "--last", cwd=project)

    for done in (neither, both):
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            "error: give a run id, or --last for the newest run that has not finished."
        ]
