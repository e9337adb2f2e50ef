"""The daemon's automation duty: `knoll daemon run` materializes an eager asset after its
parent is materialized, a tick begun by a daemon that died is finished without duplicating
its runs, and `knoll asset automation KEY` prints what was evaluated."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knoll.codeloc.automation import AUTOMATION_TAG, automation_run_id
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import WorkspaceProcesses, start_workspace, workspace_from_target
from knoll.daemon.automation import automation_pass
from knoll.daemon.clock import SystemClock
from knoll.defs.keys import AssetKey
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import RunsFilter
from tests.cli.helpers import knoll, knoll_env
from tests.daemon.processes import kill_daemon, start_daemon, wait_for

WAIT = 60.0  # seconds: only to avoid a hang

PROJECT = textwrap.dedent(
    """
    from knoll import AutomationCondition, Definitions, StaticPartitionsDefinition, asset

    regions = StaticPartitionsDefinition(["eu", "us"])

    @asset
    def raw() -> int:
        return 1

    @asset(automation_condition=AutomationCondition.eager())
    def clean(raw: int) -> int:
        return raw + 1

    @asset(partitions_def=regions)
    def sales() -> int:
        return 1

    @asset(partitions_def=regions, automation_condition=AutomationCondition.eager())
    def regional(sales: int) -> int:
        return sales

    defs = Definitions(assets=[raw, clean, sales, regional])
    """
)

SETTINGS = """run_queue:
  dequeue_interval_seconds: 0.2
run_monitoring:
  poll_interval_seconds: 0.5
daemon:
  lease_seconds: 4
automation:
  interval_seconds: 0.3
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shop.py").write_text(PROJECT)
    (tmp_path / ".knoll").mkdir()
    (tmp_path / ".knoll" / "knoll.yaml").write_text(SETTINGS)
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


@pytest.fixture
def server(project: Path) -> Iterator[WorkspaceProcesses]:
    target = CodeLocationTarget("shop", working_directory=str(project))
    env = knoll_env(project)
    with start_workspace(workspace_from_target(target), env=env, timeout=WAIT) as processes:
        yield processes


def _start(project: Path) -> subprocess.Popen[str]:
    return start_daemon(project, ["-m", "shop"])


def _kill(process: subprocess.Popen[str]) -> tuple[str, str]:
    return kill_daemon(process, WAIT)


def _wait(what: str, ready: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    wait_for(what, ready, process, wait=WAIT)


def _evaluated(instance: Instance, at_least: int) -> Callable[[], bool]:
    return lambda: instance.storage.get_automation_cursor("shop").evaluation_id >= at_least


def _automation_runs(instance: Instance) -> list[str]:
    records = instance.storage.get_runs(limit=1000).records
    return sorted(r.run.run_id for r in records if AUTOMATION_TAG in r.run.tags)


def _materialize(project: Path, *args: str) -> None:
    done = knoll("asset", "materialize", "-m", "shop", *args, cwd=project)
    assert done.returncode == 0, done.stderr


def test_the_daemon_materializes_an_eager_asset_after_its_parent(
    project: Path, instance: Instance
) -> None:
    daemon = _start(project)
    try:
        _wait("a first evaluation", _evaluated(instance, 1), daemon)
        assert _automation_runs(instance) == []  # raw is missing: clean waits
        _materialize(project, "--select", "raw")

        def clean_materialized() -> bool:
            runs = instance.storage.get_runs(RunsFilter(asset_key=AssetKey("clean"))).records
            return any(r.run.status is RunStatus.SUCCESS for r in runs)

        _wait("clean materialized by automation", clean_materialized, daemon)
    finally:
        _, err = _kill(daemon)
    [run_id] = _automation_runs(instance)
    run = instance.get_run(run_id).run
    assert run.asset_selection == frozenset({AssetKey("clean")})
    location, evaluation = run.tags[AUTOMATION_TAG].split(":")
    assert (location, run_id) == ("shop", automation_run_id("shop", int(evaluation), 0))
    assert instance.storage.get_latest_materialization(AssetKey("clean")) is not None
    assert "automation every 0.3s" in err

    shown = knoll("asset", "automation", "clean", "--limit", "50", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert f"requested: <unpartitioned> (runs: {run_id})" in shown.stdout
    assert f"evaluation {evaluation} of location 'shop'" in shown.stdout
    assert "true  eager" in shown.stdout
    assert "false [raw] missing" in shown.stdout  # raw was not missing by then


def test_asset_automation_without_evaluations_says_how_to_get_some(project: Path) -> None:
    shown = knoll("asset", "automation", "raw", cwd=project)
    assert shown.returncode != 0
    assert "no automation evaluation of asset 'raw' is recorded" in shown.stderr
    assert "knoll daemon run -m MODULE" in shown.stderr


def _pending_tick_with_one_run_stored(
    instance: Instance, server: WorkspaceProcesses, project: Path
) -> tuple[str, str]:
    """What a daemon that died after storing the first run of its tick leaves behind."""
    client = server.client("shop")
    automation_pass(instance, {"shop": client}, SystemClock(), interval_seconds=30)  # baseline
    _materialize(project, "--select", "sales", "--partition", "eu")
    _materialize(project, "--select", "sales", "--partition", "us")
    cursor = instance.storage.get_automation_cursor("shop")
    tick = client.automation_tick(
        str(instance.home), cursor.evaluation_id + 1, datetime.now(UTC), cursor.state
    )
    assert [run.tags["knoll/partition"] for run in tick.runs] == ["eu", "us"]
    instance.storage.begin_automation_tick(tick)
    instance.submit_run(tick.runs[0])
    return tick.runs[0].run_id, tick.runs[1].run_id


def test_a_pass_finishes_a_pending_tick_without_duplicating_its_runs(
    project: Path, instance: Instance, server: WorkspaceProcesses
) -> None:
    first, second = _pending_tick_with_one_run_stored(instance, server, project)
    assert first == automation_run_id("shop", 2, 0)
    assert second == automation_run_id("shop", 2, 1)
    report = automation_pass(
        instance, {"shop": server.client("shop")}, SystemClock(), interval_seconds=30
    )
    assert report.resumed == ["shop"]
    assert report.queued == {"shop": [second]}
    assert _automation_runs(instance) == sorted([first, second])
    assert instance.storage.get_automation_cursor("shop").pending is None
    # the next pass evaluates anew: both partitions are requested already, nothing more
    again = automation_pass(
        instance, {"shop": server.client("shop")}, SystemClock(), interval_seconds=30
    )
    assert again.evaluations == {"shop": 3}
    assert again.queued == {"shop": []}
    assert _automation_runs(instance) == sorted([first, second])

    shown = knoll("asset", "automation", "regional", "--limit", "2", cwd=project)
    assert shown.returncode == 0, shown.stderr
    evaluation_3, evaluation_2 = shown.stdout.split("\n\n")
    assert "evaluation 3 of location 'shop'" in evaluation_3
    assert "requested: nothing" in evaluation_3
    # evaluation 2 requested both partitions: the since() of eager was reset by that
    assert "false ((newly_missing or any_deps_updated) since handled) (0/2)" in evaluation_3
    assert "true  newly_requested for eu, us (2/2)" in evaluation_3
    assert f"requested: eu, us (runs: {first}, {second})" in evaluation_2
    assert "true  eager for eu, us (2/2)" in evaluation_2


def test_a_restarted_daemon_finishes_the_tick_of_the_one_that_died(
    project: Path, instance: Instance, server: WorkspaceProcesses
) -> None:
    first, second = _pending_tick_with_one_run_stored(instance, server, project)
    daemon = _start(project)
    try:
        _wait("later evaluations", _evaluated(instance, 4), daemon)

        def both_succeeded() -> bool:
            statuses = [instance.get_run(r).run.status for r in (first, second)]
            return all(s is RunStatus.SUCCESS for s in statuses)

        _wait("both runs of the tick done", both_succeeded, daemon)
        _wait("an evaluation after them", _evaluated(instance, _cursor(instance) + 1), daemon)
    finally:
        _kill(daemon)
    assert _automation_runs(instance) == sorted([first, second])
    regional = instance.storage.get_automation_evaluations(AssetKey("regional"), limit=100)
    assert [r.evaluation_id for r in regional if r.run_ids] == [2]


def _cursor(instance: Instance) -> int:
    return instance.storage.get_automation_cursor("shop").evaluation_id
