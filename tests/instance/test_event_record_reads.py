"""The instance's record readers beyond materializations: fetch_observations,
fetch_run_status_changes with RunStatusChangeRecordsFilter, and multi-asset sensors over an
AssetSelection, on every backend (PostgreSQL when KNOLL_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import pytest

from knoll import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetRecordsFilter,
    AssetSelection,
    Definitions,
    EventType,
    InvalidInvocationError,
    MultiAssetSensorEvaluationContext,
    RunRequest,
    RunStatusChangeRecordsFilter,
    asset,
    build_multi_asset_sensor_context,
    build_sensor_context,
    define_asset_job,
    materialize,
    multi_asset_sensor,
)
from knoll.errors import DefinitionError
from knoll.instance import Instance


@asset
def warehouse_rows(context: AssetExecutionContext) -> int:
    context.log_event(AssetObservation(asset_key="supplier_feed", metadata={"files": 3}))
    return 12


@asset(group_name="ledger")
def ledger_entries() -> int:
    return 1


@asset
def broken_export() -> None:
    raise OSError("export disk is full")


def test_fetch_observations_pages_newest_first_and_oldest_first(instance: Instance) -> None:
    runs = [materialize([warehouse_rows], instance=instance).run_id for _ in range(3)]
    newest = instance.fetch_observations(AssetKey("supplier_feed"), limit=2)
    assert [r.run_id for r in newest.records] == [runs[2], runs[1]]
    assert newest.has_more
    observation = newest.records[0].event_log_entry.asset_observation
    assert observation is not None
    assert observation.metadata["files"].value == 3
    rest = instance.fetch_observations(AssetKey("supplier_feed"), limit=2, cursor=newest.cursor)
    assert [r.run_id for r in rest.records] == [runs[0]]
    assert not rest.has_more
    oldest = instance.fetch_observations(AssetKey("supplier_feed"), limit=2, ascending=True)
    assert [r.run_id for r in oldest.records] == runs[:2]
    after = AssetRecordsFilter("supplier_feed", after_storage_id=oldest.records[0].storage_id)
    later = instance.fetch_observations(after, limit=5, ascending=True)
    assert [r.run_id for r in later.records] == runs[1:]
    # the materializations of the asset that logged them are not observations
    assert instance.fetch_observations(AssetKey("warehouse_rows"), limit=5).records == []


def test_fetch_observations_explains_bad_arguments(instance: Instance) -> None:
    with pytest.raises(InvalidInvocationError, match="fetch_observations: limit must be"):
        instance.fetch_observations(AssetKey("supplier_feed"), limit=0)
    with pytest.raises(InvalidInvocationError, match="fetch_observations: cursor 'x' is not"):
        instance.fetch_observations(AssetKey("supplier_feed"), limit=1, cursor="x")


def test_fetch_run_status_changes_newest_first_by_default(instance: Instance) -> None:
    runs = [materialize([ledger_entries], instance=instance).run_id for _ in range(3)]
    failed = materialize([broken_export], instance=instance, raise_on_error=False).run_id
    newest = instance.fetch_run_status_changes(EventType.RUN_SUCCESS, limit=2)
    assert [r.run_id for r in newest.records] == [runs[2], runs[1]]
    assert newest.has_more
    rest = instance.fetch_run_status_changes("RUN_SUCCESS", limit=2, cursor=newest.cursor)
    assert [r.run_id for r in rest.records] == [runs[0]]
    assert not rest.has_more
    oldest = instance.fetch_run_status_changes(EventType.RUN_SUCCESS, limit=2, ascending=True)
    assert [r.run_id for r in oldest.records] == runs[:2]
    tail = instance.fetch_run_status_changes(
        EventType.RUN_SUCCESS, limit=2, cursor=oldest.cursor, ascending=True
    )
    assert [r.run_id for r in tail.records] == [runs[2]]
    # nothing new: the cursor stays where it was
    idle = instance.fetch_run_status_changes(
        EventType.RUN_SUCCESS, limit=2, cursor=tail.cursor, ascending=True
    )
    assert (idle.records, idle.cursor, idle.has_more) == ([], tail.cursor, False)
    failures = instance.fetch_run_status_changes(EventType.RUN_FAILURE, limit=5)
    assert [r.run_id for r in failures.records] == [failed]


def test_a_run_status_filter_narrows_by_ids_times_and_jobs(instance: Instance) -> None:
    runs = [materialize([ledger_entries], instance=instance).run_id for _ in range(4)]
    every = instance.fetch_run_status_changes(EventType.RUN_SUCCESS, limit=10, ascending=True)
    ids = [r.storage_id for r in every.records]
    stamps = [r.timestamp for r in every.records]
    between = RunStatusChangeRecordsFilter(
        EventType.RUN_SUCCESS, after_storage_id=ids[0], before_storage_id=ids[3]
    )
    found = instance.fetch_run_status_changes(between, limit=10)
    assert [r.run_id for r in found.records] == [runs[2], runs[1]]
    picked = RunStatusChangeRecordsFilter(EventType.RUN_SUCCESS, storage_ids=[ids[3], ids[0]])
    found = instance.fetch_run_status_changes(picked, limit=10, ascending=True)
    assert [r.run_id for r in found.records] == [runs[0], runs[3]]
    timed = RunStatusChangeRecordsFilter(
        "RUN_SUCCESS", after_timestamp=stamps[1], before_timestamp=stamps[3]
    )
    found = instance.fetch_run_status_changes(timed, limit=10)
    assert [r.run_id for r in found.records] == [runs[2]]
    job = every.records[0].event.job_name
    of_job = RunStatusChangeRecordsFilter(EventType.RUN_SUCCESS, job_names=[job])
    assert len(instance.fetch_run_status_changes(of_job, limit=10).records) == 4
    other = RunStatusChangeRecordsFilter(EventType.RUN_SUCCESS, job_names=["nightly_job"])
    assert instance.fetch_run_status_changes(other, limit=10).records == []
    none = RunStatusChangeRecordsFilter(EventType.RUN_SUCCESS, storage_ids=[])
    assert instance.fetch_run_status_changes(none, limit=10).records == []


def test_run_status_filters_explain_bad_arguments(instance: Instance) -> None:
    with pytest.raises(InvalidInvocationError, match=r"RunStatusChangeRecordsFilter: .*STEP_START"):
        RunStatusChangeRecordsFilter(EventType.STEP_START)
    with pytest.raises(InvalidInvocationError, match=r"\(RUN_SUCCESS\): after_timestamp must"):
        RunStatusChangeRecordsFilter(EventType.RUN_SUCCESS, after_timestamp="noon")  # type: ignore[arg-type]
    with pytest.raises(InvalidInvocationError, match="before_storage_id must be a storage id"):
        RunStatusChangeRecordsFilter(EventType.RUN_SUCCESS, before_storage_id=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInvocationError, match="job_names must be a list of strs"):
        RunStatusChangeRecordsFilter(EventType.RUN_SUCCESS, job_names="nightly_job")
    with pytest.raises(InvalidInvocationError, match="takes a run status EventType or a"):
        instance.fetch_run_status_changes(42, limit=1)  # type: ignore[arg-type]


ledger_report = define_asset_job("ledger_report", selection="warehouse_rows")
ledger_defs = Definitions(assets=[ledger_entries, warehouse_rows], jobs=[ledger_report])


@multi_asset_sensor(monitored_assets=AssetSelection.groups("ledger"), job=ledger_report)
def ledger_moved(context: MultiAssetSensorEvaluationContext) -> RunRequest | None:
    latest = context.latest_materialization_records_by_key()
    record = latest[AssetKey("ledger_entries")]
    if record is None:
        return None
    context.advance_all_cursors()
    return RunRequest(run_key=record.run_id)


def test_a_multi_asset_sensor_over_a_selection_with_its_definitions(instance: Instance) -> None:
    assert ledger_moved.monitored_selection is not None
    assert ledger_moved.monitored_asset_keys == ()
    assert ledger_moved.to_snapshot()["monitored_selection"] == "group:ledger"
    done = materialize([ledger_entries], instance=instance)
    context = build_multi_asset_sensor_context(
        AssetSelection.groups("ledger"), instance=instance, definitions=ledger_defs
    )
    assert context.asset_keys == (AssetKey("ledger_entries"),)
    tick = ledger_moved.evaluate_tick(context)
    assert [r.run_key for r in tick.run_requests] == [done.run_id]
    # the same resolution a code location does at each tick
    located = ledger_moved.context_for(
        build_sensor_context(instance, cursor=tick.cursor), ledger_defs.asset_graph
    )
    assert ledger_moved.evaluate_tick(located).run_requests == ()


def test_a_multi_asset_sensor_selection_needs_its_definitions(instance: Instance) -> None:
    with pytest.raises(InvalidInvocationError) as info:
        ledger_moved.evaluate_tick(build_sensor_context(instance=instance))
    assert "multi-asset sensor 'ledger_moved' monitors AssetSelection(group:ledger)" in str(
        info.value
    )
    assert "definitions=defs" in str(info.value)
    with pytest.raises(InvalidInvocationError, match="pass definitions=defs"):
        build_multi_asset_sensor_context(AssetSelection.groups("ledger"), instance=instance)


def test_a_multi_asset_sensor_selection_that_selects_nothing(instance: Instance) -> None:
    nothing = AssetSelection.groups("ledger") - AssetSelection.assets("ledger_entries")
    with pytest.raises(DefinitionError) as info:
        build_multi_asset_sensor_context(nothing, instance=instance, definitions=ledger_defs)
    assert "selects no asset of its definitions" in str(info.value)
    assert "build_multi_asset_sensor_context" in str(info.value)
