"""Pruning old runs: their details go, the asset history stays, the database shrinks."""

from __future__ import annotations

import datetime
import time

import pytest

from knoll import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    asset,
    asset_check,
    materialize,
)
from knoll.errors import InvalidInvocationError
from knoll.execution.events import EventType, RunEvent
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance

from .conftest import MakeInstance

ASSET_HISTORY = {"ASSET_MATERIALIZATION", "ASSET_OBSERVATION", "ASSET_CHECK_EVALUATION"}
JUST_NOW = datetime.timedelta(milliseconds=1)


@asset
def orders(context: AssetExecutionContext) -> int:
    print("computing orders")
    for i in range(20):
        context.log.info(f"progress {i}")
    context.log_event(AssetObservation("orders_source", metadata={"rows": 3}))
    return 3


@asset_check(asset=orders)
def orders_positive(orders: int) -> AssetCheckResult:
    return AssetCheckResult(passed=orders > 0)


def types_of(instance: Instance, run_id: str) -> set[str]:
    return {r.event.event_type.value for r in instance.get_events(run_id).records}


def finished_a_moment_ago() -> None:
    time.sleep(0.02)  # so that the run ended before now - JUST_NOW


def test_prune_keeps_the_asset_history(instance: Instance) -> None:
    result = materialize([orders, orders_positive], instance=instance)
    before_records = instance.get_asset_records([AssetKey("orders")])
    before_materializations = instance.get_materializations(AssetKey("orders"))
    assert instance.compute_logs.has_logs(result.run_id)
    finished_a_moment_ago()

    report = instance.prune(JUST_NOW)

    assert report.runs == 1
    assert report.events_deleted == len(result.all_events) - 3
    assert report.log_files_deleted == 4  # stdout and stderr of two steps
    assert report.log_bytes_deleted == len("computing orders\n")
    assert types_of(instance, result.run_id) == ASSET_HISTORY
    assert instance.get_asset_records([AssetKey("orders")]) == before_records
    assert instance.get_materializations(AssetKey("orders")) == before_materializations
    (record,) = instance.get_asset_records([AssetKey("orders")])
    assert record.check_results["orders_positive"].passed
    # the run itself stays, with its status
    assert instance.get_run(result.run_id).run.status is RunStatus.SUCCESS
    assert not instance.compute_logs.has_logs(result.run_id)
    assert "pruned 1 run finished before" in str(report)
    # pruning again finds nothing more to delete
    again = instance.prune(JUST_NOW)
    assert (again.runs, again.events_deleted, again.log_files_deleted) == (1, 0, 0)


def test_recent_runs_are_kept(instance: Instance) -> None:
    result = materialize([orders], instance=instance)
    report = instance.prune(datetime.timedelta(days=1))
    assert (report.runs, report.events_deleted) == (0, 0)
    assert "LOG_MESSAGE" in types_of(instance, result.run_id)
    assert instance.compute_logs.has_logs(result.run_id)


def test_unfinished_runs_are_kept(instance: Instance) -> None:
    instance.create_run(Run("still-going", "some_job", status=RunStatus.STARTING))
    instance.write_events(
        [
            RunEvent(EventType.RUN_START, "still-going", "some_job", time.time()),
            RunEvent(EventType.LOG_MESSAGE, "still-going", "some_job", time.time(), "s", "hi"),
        ]
    )
    finished_a_moment_ago()
    assert instance.prune(JUST_NOW).runs == 0
    assert types_of(instance, "still-going") == {"RUN_START", "LOG_MESSAGE"}


def test_failed_runs_are_pruned_too(instance: Instance) -> None:
    @asset
    def fails() -> None:
        raise ValueError("bad")

    result = materialize([fails], instance=instance, raise_on_error=False)
    finished_a_moment_ago()
    assert instance.prune(JUST_NOW).runs == 1
    assert types_of(instance, result.run_id) == set()
    assert instance.get_run(result.run_id).run.status is RunStatus.FAILURE


def test_prune_uses_the_retention_setting(make_instance: MakeInstance) -> None:
    instance = make_instance("memory", "retention:\n  older_than: 1d\n")
    materialize([orders], instance=instance)
    report = instance.prune()
    assert report.runs == 0
    assert time.time() - report.cutoff == pytest.approx(86400, abs=60)


def test_prune_needs_an_age(instance: Instance) -> None:
    with pytest.raises(
        InvalidInvocationError,
        match=r"prune\(\) needs an age: pass older_than=datetime\.timedelta\(days=30\), or set "
        r"retention: \{older_than: 30d\} in .*knoll\.yaml",
    ):
        instance.prune()
    with pytest.raises(InvalidInvocationError, match="the age must be longer than zero"):
        instance.prune(datetime.timedelta(0))


def test_the_sqlite_file_shrinks(make_instance: MakeInstance) -> None:
    instance = make_instance("sqlite")

    @asset
    def noisy(context: AssetExecutionContext) -> int:
        for i in range(3000):
            context.log.info(f"line {i} " + "x" * 200)
        return 1

    for _ in range(3):
        materialize([noisy], instance=instance)
    finished_a_moment_ago()
    report = instance.prune(JUST_NOW)
    assert report.runs == 3
    assert report.database_bytes_before is not None
    assert report.database_bytes_after is not None
    assert report.database_bytes_after < report.database_bytes_before / 4
    assert len(instance.get_materializations(AssetKey("noisy"))) == 3
    assert "database" in report.summary()


def test_ephemeral_instances_clean_up_after_themselves() -> None:
    instance = Instance.ephemeral()
    result = materialize([orders], instance=instance)
    folder = instance.compute_logs.base_dir.parent
    assert instance.compute_logs.has_logs(result.run_id)
    assert instance.get_run(result.run_id).run.is_success
    assert instance.home is None
    instance.dispose()
    assert not folder.exists()


def test_migrating_an_ephemeral_instance_keeps_its_runs() -> None:
    with Instance.ephemeral() as instance:
        result = materialize([orders], instance=instance)
        before, after = instance.migrate()
        assert before == after
        assert instance.get_run(result.run_id).run.is_success
