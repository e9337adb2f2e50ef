"""Sensors that read the instance: @asset_sensor, @run_status_sensor, @run_failure_sensor and
the instance's record readers, on every backend (PostgreSQL when KNOLL_TEST_POSTGRES_URL is
set)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from knoll import (
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    DailyPartitionsDefinition,
    EventLogEntry,
    EventType,
    InvalidInvocationError,
    MultiAssetSensorEvaluationContext,
    RunFailureSensorContext,
    RunRequest,
    RunStatus,
    RunStatusSensorContext,
    SkipReason,
    asset,
    asset_sensor,
    build_multi_asset_sensor_context,
    build_run_status_sensor_context,
    build_sensor_context,
    define_asset_job,
    materialize,
    multi_asset_sensor,
    run_failure_sensor,
    run_status_sensor,
)
from knoll.errors import DefinitionError, UserCodeError
from knoll.instance import Instance

DAYS = DailyPartitionsDefinition(start_date="2024-05-01")


@asset
def raw_orders() -> list[int]:
    return [3, 4]


@asset(partitions_def=DAYS)
def daily_sales() -> int:
    return 7


@asset
def broken_feed() -> None:
    raise ConnectionError("feed host refused the connection")


summary_job = define_asset_job("summary_job", selection="raw_orders")


@asset_sensor(asset_key=AssetKey("raw_orders"), job=summary_job)
def raw_orders_landed(context, asset_event: EventLogEntry):  # type: ignore[no-untyped-def]
    materialization = asset_event.asset_materialization
    assert materialization is not None
    return RunRequest(
        run_key=asset_event.run_id,
        tags={
            "source_run": asset_event.run_id,
            "asset": materialization.asset_key.to_user_string(),
        },
    )


def test_an_asset_sensor_requests_one_run_per_new_materialization(instance: Instance) -> None:
    first = raw_orders_landed.evaluate_tick(build_sensor_context(instance=instance))
    assert first.run_requests == ()
    assert first.skip_message == "No new materialization events found for asset key raw_orders."

    done = materialize([raw_orders], instance=instance)
    tick = raw_orders_landed.evaluate_tick(build_sensor_context(instance=instance))
    (request,) = tick.run_requests
    assert request.run_key == done.run_id
    assert request.job_name == "summary_job"
    assert request.tags["asset"] == "raw_orders"
    latest = instance.get_latest_materialization(AssetKey("raw_orders"))
    assert latest is not None
    assert tick.cursor == str(latest.storage_id)

    again = raw_orders_landed.evaluate_tick(build_sensor_context(instance, cursor=tick.cursor))
    assert again.run_requests == ()
    assert again.cursor == tick.cursor
    # two more materializations since: the sensor sees the latest one, as in Dagster
    materialize([raw_orders], instance=instance)
    newest = materialize([raw_orders], instance=instance)
    later = raw_orders_landed.evaluate_tick(build_sensor_context(instance, cursor=tick.cursor))
    assert [r.run_key for r in later.run_requests] == [newest.run_id]


def test_an_asset_sensor_passes_resources_and_can_be_called_directly(instance: Instance) -> None:
    seen: list[str] = []

    class Notebook:
        def note(self, text: str) -> None:
            seen.append(text)

    @asset_sensor(asset_key="raw_orders", name="note_orders")
    def note_orders(context, asset_event, notebook):  # type: ignore[no-untyped-def]
        notebook.note(f"{asset_event.dagster_event.event_type_value} {asset_event.job_name}")
        return SkipReason("noted")

    materialize([raw_orders], instance=instance)
    context = build_sensor_context(instance=instance, resources={"notebook": Notebook()})
    result = note_orders(context)
    assert isinstance(result, SkipReason)
    assert seen == ["ASSET_MATERIALIZATION __ephemeral_asset_job__"]
    assert note_orders.required_resource_keys == {"notebook"}


def test_an_asset_sensor_without_an_instance_says_how_to_give_one() -> None:
    with pytest.raises(InvalidInvocationError) as info:
        raw_orders_landed.evaluate_tick(build_sensor_context())
    message = str(info.value)
    assert "asset sensor 'raw_orders_landed' (of asset raw_orders)" in message
    assert "build_sensor_context(instance=Instance.ephemeral())" in message


def test_an_asset_sensor_that_sets_its_own_cursor_is_refused(instance: Instance) -> None:
    from knoll import SensorResult

    @asset_sensor(asset_key="raw_orders")
    def keeps_cursor(context, asset_event):  # type: ignore[no-untyped-def]
        return SensorResult(cursor="mine")

    materialize([raw_orders], instance=instance)
    with pytest.raises(UserCodeError, match="keeps its own cursor"):
        keeps_cursor.evaluate_tick(build_sensor_context(instance=instance))


def test_an_asset_sensor_key_must_be_a_key() -> None:
    with pytest.raises(DefinitionError, match="asset sensor 'odd': asset_key must be an AssetKey"):

        @asset_sensor(asset_key=42, name="odd")  # type: ignore[arg-type]
        def odd(context, asset_event):  # type: ignore[no-untyped-def]
            return None


def test_fetch_materializations_pages_by_cursor_both_ways(instance: Instance) -> None:
    for day in ("2024-05-01", "2024-05-02", "2024-05-03"):
        materialize([daily_sales], instance=instance, partition_key=day)
    newest = instance.fetch_materializations(AssetKey("daily_sales"), limit=2)
    assert [r.partition_key for r in newest.records] == ["2024-05-03", "2024-05-02"]
    assert newest.has_more
    rest = instance.fetch_materializations(AssetKey("daily_sales"), limit=2, cursor=newest.cursor)
    assert [r.partition_key for r in rest.records] == ["2024-05-01"]
    assert not rest.has_more

    oldest = instance.fetch_materializations(AssetKey("daily_sales"), limit=2, ascending=True)
    assert [r.partition_key for r in oldest.records] == ["2024-05-01", "2024-05-02"]
    tail = instance.fetch_materializations(
        AssetKey("daily_sales"), limit=5, cursor=oldest.cursor, ascending=True
    )
    assert [r.partition_key for r in tail.records] == ["2024-05-03"]

    only = instance.fetch_materializations(
        AssetRecordsFilter(
            asset_key=AssetKey("daily_sales"),
            asset_partitions=["2024-05-02"],
            after_storage_id=oldest.records[0].storage_id,
        ),
        limit=10,
    )
    assert [r.partition_key for r in only.records] == ["2024-05-02"]
    record = only.records[0]
    assert isinstance(record.event_log_entry.asset_materialization, AssetMaterialization)
    assert record.event_log_entry.dagster_event_type is EventType.ASSET_MATERIALIZATION
    assert record.event_log_entry.storage_id == record.storage_id

    entry = instance.get_latest_materialization_event(AssetKey("daily_sales"))
    assert entry is not None
    assert entry.partition_key == "2024-05-03"
    assert instance.get_latest_materialization_event(AssetKey("nothing_here")) is None
    both = instance.get_latest_materialization_events([AssetKey("daily_sales"), AssetKey("nope")])
    assert both[AssetKey("nope")] is None
    latest_sales = both[AssetKey("daily_sales")]
    assert latest_sales is not None
    assert latest_sales.storage_id == entry.storage_id


def test_fetch_materializations_explains_bad_arguments(instance: Instance) -> None:
    with pytest.raises(InvalidInvocationError, match="limit must be a whole number, 1 or more"):
        instance.fetch_materializations(AssetKey("raw_orders"), limit=0)
    with pytest.raises(InvalidInvocationError, match="cursor 'abc' is not a cursor"):
        instance.fetch_materializations(AssetKey("raw_orders"), limit=1, cursor="abc")
    with pytest.raises(InvalidInvocationError, match="takes an AssetKey or an AssetRecordsFilter"):
        instance.fetch_materializations(42, limit=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInvocationError, match="asset_partitions must be a list"):
        AssetRecordsFilter(asset_key="daily_sales", asset_partitions="2024-05-01")
    with pytest.raises(InvalidInvocationError, match="RUN_SUCCESS"):
        instance.fetch_run_status_changes(EventType.STEP_START, limit=1)


report_job = define_asset_job("report_job", selection="raw_orders")


@run_status_sensor(run_status=RunStatus.SUCCESS, request_job=report_job)
def after_success(context: RunStatusSensorContext):  # type: ignore[no-untyped-def]
    return RunRequest(
        run_key=context.dagster_run.run_id, tags={"after": context.dagster_run.job_name}
    )


def test_a_run_status_sensor_reports_runs_after_its_first_tick(instance: Instance) -> None:
    before = materialize([raw_orders], instance=instance)  # before the first tick: not reported
    first = after_success.evaluate_tick(build_sensor_context(instance=instance))
    assert first.run_requests == ()
    assert first.skip_message == "No new runs reached SUCCESS."
    # the first tick starts at the newest run's last event, without reading the log from 0
    (last,) = instance.events_of_run(before.run_id, [EventType.RUN_SUCCESS])
    assert json.loads(first.cursor or "")["after"] == instance.recent_event_cursor()
    assert int(instance.recent_event_cursor()) > 0
    assert last.run_id == before.run_id

    ok = materialize([raw_orders], instance=instance)
    materialize([broken_feed], instance=instance, raise_on_error=False)
    tick = after_success.evaluate_tick(build_sensor_context(instance, cursor=first.cursor))
    assert [r.run_key for r in tick.run_requests] == [ok.run_id]
    assert tick.run_requests[0].job_name == "report_job"
    assert before.run_id not in [r.run_key for r in tick.run_requests]
    again = after_success.evaluate_tick(build_sensor_context(instance, cursor=tick.cursor))
    assert again.run_requests == ()
    assert json.loads(again.cursor or "")["since"] == json.loads(first.cursor or "")["since"]


def test_a_tick_hands_at_most_five_runs_and_ends_at_the_first_answer(instance: Instance) -> None:
    seen: list[str] = []

    @run_status_sensor(run_status=RunStatus.SUCCESS, request_job=report_job)
    def audit(context: RunStatusSensorContext) -> RunRequest | None:
        seen.append(context.dagster_run.run_id)
        if context.dagster_run.tags.get("page") == "yes":
            return RunRequest(run_key=context.dagster_run.run_id)
        return None

    cursor = audit.evaluate_tick(build_sensor_context(instance=instance)).cursor
    quiet = [materialize([raw_orders], instance=instance).run_id for _ in range(6)]
    paged = materialize([raw_orders], instance=instance, tags={"page": "yes"}).run_id
    later = materialize([raw_orders], instance=instance).run_id

    def tick() -> Any:
        nonlocal cursor
        result = audit.evaluate_tick(build_sensor_context(instance, cursor=cursor))
        cursor = result.cursor
        return result

    first = tick()  # five runs, none answered: no request, the cursor moves past them
    assert (seen, first.run_requests, first.skip_message) == (quiet[:5], (), None)
    second = tick()  # the sixth quiet run, then the paged one ends the tick
    assert seen[5:] == [quiet[5], paged]
    assert [r.run_key for r in second.run_requests] == [paged]
    third = tick()
    assert seen[7:] == [later]
    assert third.run_requests == ()
    assert tick().skip_message == "No new runs reached SUCCESS."


def test_a_run_failure_sensor_sees_the_failure_and_its_steps(instance: Instance) -> None:
    failures: list[tuple[str, str, list[str]]] = []

    @run_failure_sensor
    def page_on_call(context: RunFailureSensorContext) -> None:
        steps = [e.message for e in context.get_step_failure_events()]
        failures.append((context.dagster_run.run_id, context.failure_event.event_type_value, steps))

    @run_failure_sensor(monitored_jobs=[summary_job], name="summary_failures")
    def summary_failures(context: RunFailureSensorContext) -> None:
        failures.append(("summary", context.dagster_run.run_id, []))

    start = page_on_call.evaluate_tick(build_sensor_context(instance=instance))
    other = summary_failures.evaluate_tick(build_sensor_context(instance=instance))
    failed = materialize([broken_feed], instance=instance, raise_on_error=False)
    tick = page_on_call.evaluate_tick(build_sensor_context(instance, cursor=start.cursor))
    assert tick.run_requests == ()
    assert tick.skip_message is None
    ((run_id, kind, steps),) = failures
    assert run_id == failed.run_id
    assert kind == "RUN_FAILURE"
    assert steps
    assert "feed host refused the connection" in steps[0]
    # a sensor that monitors another job does not hear of it
    quiet = summary_failures.evaluate_tick(build_sensor_context(instance, cursor=other.cursor))
    assert quiet.skip_message == "No new runs reached FAILURE."
    assert len(failures) == 1


def test_run_status_sensors_are_called_directly_with_a_built_context(instance: Instance) -> None:
    failed = materialize([broken_feed], instance=instance, raise_on_error=False)
    run = instance.find_run(failed.run_id)
    (event,) = instance.events_of_run(failed.run_id, [EventType.RUN_FAILURE])
    context = build_run_status_sensor_context(
        sensor_name="page_on_call", dagster_event=event, dagster_instance=instance, dagster_run=run
    ).for_run_failure()
    messages: list[str] = []

    @run_failure_sensor
    def page_on_call(context: RunFailureSensorContext) -> None:
        messages.append(context.error_message)

    page_on_call(context)
    assert messages
    assert "broken_feed" in messages[0]
    request = after_success(build_run_status_sensor_context("after_success", event, instance, run))
    assert request.run_key == failed.run_id
    with pytest.raises(InvalidInvocationError, match="build_run_status_sensor_context"):
        after_success()


def test_run_status_sensor_arguments_are_checked() -> None:
    with pytest.raises(DefinitionError, match="run_status must be a RunStatus that a run reaches"):
        run_status_sensor(run_status=RunStatus.QUEUED, name="queued")(lambda context: None)
    with pytest.raises(DefinitionError, match="monitored_jobs of run status sensor 'watch'"):
        run_status_sensor(RunStatus.SUCCESS, name="watch", monitored_jobs=[42])(
            lambda context: None
        )
    with pytest.raises(
        InvalidInvocationError, match=r"reads run status events from context\.instance"
    ):
        after_success.evaluate_tick(build_sensor_context())


@asset
def customers() -> list[str]:
    return ["acme"]


join_job = define_asset_job("join_job", selection="raw_orders")


@multi_asset_sensor(monitored_assets=[AssetKey("raw_orders"), AssetKey("customers")], job=join_job)
def both_landed(context: MultiAssetSensorEvaluationContext):  # type: ignore[no-untyped-def]
    latest = context.latest_materialization_records_by_key()
    if all(latest.values()):
        context.advance_all_cursors()
        return RunRequest(run_key="+".join(r.run_id[:8] for r in latest.values()))
    return SkipReason(f"waiting for {[k.to_user_string() for k, r in latest.items() if r is None]}")


def test_a_multi_asset_sensor_waits_for_every_monitored_asset(instance: Instance) -> None:
    materialize([raw_orders], instance=instance)
    waiting = both_landed.evaluate_tick(build_sensor_context(instance=instance))
    assert waiting.skip_message == "waiting for ['customers']"
    assert waiting.cursor is None  # nothing consumed yet

    materialize([customers], instance=instance)
    ready = both_landed.evaluate_tick(build_sensor_context(instance, cursor=waiting.cursor))
    (request,) = ready.run_requests
    assert request.job_name == "join_job"
    stored = json.loads(ready.cursor or "")
    assert sorted(stored) == ["customers", "raw_orders"]

    # both cursors moved: only a new materialization of each fires again
    materialize([raw_orders], instance=instance)
    later = both_landed.evaluate_tick(build_sensor_context(instance, cursor=ready.cursor))
    assert later.skip_message == "waiting for ['customers']"


def test_a_multi_asset_sensor_reads_records_per_key_and_partition(instance: Instance) -> None:
    for day in ("2024-05-01", "2024-05-02", "2024-05-01"):
        materialize([daily_sales], instance=instance, partition_key=day)
    context = build_multi_asset_sensor_context(
        monitored_assets=[AssetKey("daily_sales")], instance=instance
    )
    records = context.materialization_records_for_key(AssetKey("daily_sales"))
    assert [r.partition_key for r in records] == ["2024-05-01", "2024-05-02", "2024-05-01"]
    assert len(context.materialization_records_for_key("daily_sales", limit=2)) == 2
    by_partition = context.latest_materialization_records_by_partition(AssetKey("daily_sales"))
    assert sorted(by_partition) == ["2024-05-01", "2024-05-02"]
    assert by_partition["2024-05-01"].storage_id == records[2].storage_id

    context.advance_cursor({AssetKey("daily_sales"): records[1]})
    # within a tick, reads start from the cursor the tick began with, as in Dagster
    assert len(context.materialization_records_for_key("daily_sales")) == 3
    next_tick = build_multi_asset_sensor_context(
        monitored_assets=[AssetKey("daily_sales")], instance=instance, cursor=context.cursor
    )
    assert [r.storage_id for r in next_tick.materialization_records_for_key("daily_sales")] == [
        records[2].storage_id
    ]
    with pytest.raises(InvalidInvocationError, match="asset raw_orders is not monitored"):
        context.materialization_records_for_key(AssetKey("raw_orders"))


def test_a_multi_asset_sensor_is_called_directly_and_checks_its_arguments(
    instance: Instance,
) -> None:
    materialize([raw_orders, customers], instance=instance)
    context = build_multi_asset_sensor_context(
        monitored_assets=[AssetKey("raw_orders"), AssetKey("customers")], instance=instance
    )
    assert isinstance(both_landed(context), RunRequest)
    assert context.cursor is not None
    with pytest.raises(DefinitionError, match="monitored_assets of multi-asset sensor 'empty'"):
        multi_asset_sensor(monitored_assets=[], name="empty")(lambda context: None)
    with pytest.raises(InvalidInvocationError, match="is not one this sensor wrote"):
        build_multi_asset_sensor_context([AssetKey("raw_orders")], cursor="17")
    with pytest.raises(InvalidInvocationError, match="reads materializations from context"):
        both_landed.evaluate_tick(build_sensor_context())


@pytest.mark.parametrize(
    ("decorator", "kind"),
    [
        (asset_sensor(asset_key="raw_orders"), "asset_sensor"),
        (multi_asset_sensor(monitored_assets=["raw_orders"]), "multi_asset_sensor"),
        (run_status_sensor(run_status=RunStatus.SUCCESS), "run_status_sensor"),
        (run_failure_sensor(name="paged"), "run_failure_sensor"),
    ],
)
def test_a_sensor_decorator_needs_a_function(decorator: Any, kind: str) -> None:
    with pytest.raises(DefinitionError) as info:
        decorator("not a function")
    assert str(info.value) == f"@{kind} must decorate a function, got str."
