from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from knoll._serdes import deserialize, serialize
from knoll.defs.keys import AssetKey
from knoll.defs.metadata import MetadataValue
from knoll.defs.run_request import RunRequest, SkipReason
from knoll.defs.schedule import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    ScheduleEvaluationResult,
    build_schedule_context,
    schedule,
)
from knoll.errors import CronError, DefinitionError, InvalidInvocationError, UserCodeError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


class Job:
    """Stands in for a job definition: schedules only need its name."""

    def __init__(self, name: str) -> None:
        self.name = name


class Asset:
    def __init__(self, key: str) -> None:
        self.key = AssetKey(key)


ETL = Job("etl")
TICK = datetime(2024, 5, 6, 4, 0, tzinfo=UTC)
INSTANCE = object()  # the context only carries it


def evaluate(definition: ScheduleDefinition, **resources: Any) -> ScheduleEvaluationResult:
    return definition.evaluate_tick(
        build_schedule_context(scheduled_execution_time=TICK, resources=resources)
    )


# -- declaring -------------------------------------------------------------------------------


def test_schedule_definition_for_a_job() -> None:
    definition = ScheduleDefinition(cron_schedule="0 6 * * *", job=ETL)
    assert definition.name == "etl_schedule"
    assert definition.job_name == "etl"
    assert definition.job is ETL
    assert definition.target is None
    assert definition.cron_schedule == "0 6 * * *"
    assert definition.execution_timezone is None
    assert definition.timezone is UTC
    assert definition.default_status is DefaultScheduleStatus.STOPPED


def test_name_defaults_from_job_name_and_job_target() -> None:
    assert ScheduleDefinition(cron_schedule="@daily", job_name="load").name == "load_schedule"
    by_target = ScheduleDefinition(cron_schedule="@daily", target=ETL)
    assert (by_target.name, by_target.job_name, by_target.job) == ("etl_schedule", "etl", ETL)
    assert by_target.target is None


def test_asset_target_gets_an_anonymous_job() -> None:
    target = [Asset("orders"), AssetKey(["raw", "customers"]), "raw/items"]
    definition = ScheduleDefinition("nightly", cron_schedule="@daily", target=target)
    assert definition.target is target
    assert definition.job is None
    assert definition.job_name == "__anonymous_asset_job_nightly"
    assert definition.to_snapshot()["target"] == "orders, raw/customers, raw/items"


def test_asset_target_needs_a_name() -> None:
    with pytest.raises(DefinitionError, match=r"targets assets, so it needs a name"):
        ScheduleDefinition(cron_schedule="@daily", target="*")


def test_asset_target_list_is_checked() -> None:
    with pytest.raises(DefinitionError, match="target of schedule 'x' holds a int"):
        ScheduleDefinition("x", cron_schedule="@daily", target=[1])
    with pytest.raises(DefinitionError, match="target of schedule 'x' is an empty list"):
        ScheduleDefinition("x", cron_schedule="@daily", target=[])


@pytest.mark.parametrize(
    ("kwargs", "got"),
    [
        ({}, "got none"),
        ({"job": ETL, "job_name": "etl"}, "got job, job_name"),
        ({"job_name": "a", "target": "*"}, "got job_name, target"),
    ],
)
def test_exactly_one_target(kwargs: dict[str, Any], got: str) -> None:
    with pytest.raises(
        DefinitionError,
        match=rf"schedule 'nightly' needs exactly one of job=, job_name= or target= \({got}\)",
    ):
        ScheduleDefinition("nightly", cron_schedule="@daily", **kwargs)


def test_target_error_without_a_name_shows_the_cron() -> None:
    with pytest.raises(DefinitionError, match=r"ScheduleDefinition\('@daily'\) needs exactly one"):
        ScheduleDefinition(cron_schedule="@daily")


def test_job_must_have_a_name() -> None:
    with pytest.raises(DefinitionError, match="job of schedule 's' must be a job"):
        ScheduleDefinition("s", cron_schedule="@daily", job="etl")


def test_names_are_validated() -> None:
    with pytest.raises(DefinitionError, match="schedule name 'my schedule' is not valid"):
        ScheduleDefinition("my schedule", cron_schedule="@daily", job=ETL)
    with pytest.raises(DefinitionError, match="job name 'a-b' is not valid"):
        ScheduleDefinition(cron_schedule="@daily", job_name="a-b")


def test_bad_cron_string_is_rejected_when_built() -> None:
    with pytest.raises(
        CronError,
        match=r"cron_schedule of schedule 'etl_schedule': invalid cron string '0 25 \* \* \*': "
        r"hour field '25' is out of range 0-23",
    ):
        ScheduleDefinition(cron_schedule="0 25 * * *", job=ETL)


def test_several_cron_strings() -> None:
    definition = ScheduleDefinition(cron_schedule=["45 23 * * 6", "30 9 * * 0"], job=ETL)
    assert definition.cron_schedule == ("45 23 * * 6", "30 9 * * 0")
    times = definition.next_tick_times(datetime(2024, 1, 1, tzinfo=UTC), 3)
    assert times == [
        datetime(2024, 1, 6, 23, 45, tzinfo=UTC),
        datetime(2024, 1, 7, 9, 30, tzinfo=UTC),
        datetime(2024, 1, 13, 23, 45, tzinfo=UTC),
    ]
    assert definition.to_snapshot()["cron_schedule"] == ["45 23 * * 6", "30 9 * * 0"]


def test_bad_timezone_is_rejected_with_suggestions() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"execution_timezone 'Europe/Berln' of schedule 'etl_schedule' is not a known "
        r"timezone: .* Did you mean 'Europe/Berlin'",
    ):
        ScheduleDefinition(cron_schedule="@daily", job=ETL, execution_timezone="Europe/Berln")
    with pytest.raises(DefinitionError, match="Did you mean 'America/New_York'"):
        ScheduleDefinition(cron_schedule="@daily", job=ETL, execution_timezone="AMERICA/NEW_YORK")
    with pytest.raises(DefinitionError, match="is not a known timezone"):
        ScheduleDefinition(cron_schedule="@daily", job=ETL, execution_timezone="../etc/passwd")
    with pytest.raises(DefinitionError, match="must be a timezone name such as 'Europe/Berlin'"):
        ScheduleDefinition(cron_schedule="@daily", job=ETL, execution_timezone=1)  # type: ignore[arg-type]


def test_other_arguments_are_validated() -> None:
    with pytest.raises(DefinitionError, match="default_status of schedule 'etl_schedule' must be"):
        ScheduleDefinition(cron_schedule="@daily", job=ETL, default_status="RUNNING")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="tag 'n' of schedule 'etl_schedule' has the int"):
        ScheduleDefinition(cron_schedule="@daily", job=ETL, tags={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(DefinitionError, match="run_config of schedule 'etl_schedule' must be"):
        ScheduleDefinition(cron_schedule="@daily", job=ETL, run_config=[1])  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="has both execution_fn and run_config"):
        ScheduleDefinition(
            cron_schedule="@daily", job=ETL, run_config={}, execution_fn=lambda: None
        )


def test_async_functions_are_rejected() -> None:
    with pytest.raises(DefinitionError, match=r"schedule 'later' .* is an async function"):

        @schedule("@daily", job=ETL)
        async def later() -> None:
            return None


def test_decorator_needs_a_cron_string() -> None:
    def nightly() -> None:
        return None

    with pytest.raises(DefinitionError, match=r"@schedule on 'nightly' needs a cron string"):
        schedule(nightly)  # type: ignore[arg-type]


def test_decorator_takes_name_and_description_from_the_function() -> None:
    @schedule("@daily", job=ETL, default_status=DefaultScheduleStatus.RUNNING)
    def nightly_refresh() -> RunRequest:
        """Refresh everything at midnight."""
        return RunRequest()

    assert nightly_refresh.name == "nightly_refresh"
    assert nightly_refresh.description == "Refresh everything at midnight."
    assert nightly_refresh.default_status is DefaultScheduleStatus.RUNNING

    @schedule("@daily", job=ETL, name="renamed", description="given")
    def other() -> None:
        return None

    assert (other.name, other.description) == ("renamed", "given")


# -- evaluating ------------------------------------------------------------------------------


def test_without_a_function_each_tick_requests_one_run() -> None:
    definition = ScheduleDefinition(
        cron_schedule="@daily", job=ETL, run_config={"ops": {}}, tags={"team": "data"}
    )
    result = evaluate(definition)
    assert result.skip_message is None
    assert result.run_requests == (
        RunRequest(
            run_config={"ops": {}},
            job_name="etl",
            tags={"team": "data", "knoll/schedule_name": "etl_schedule"},
        ),
    )


@pytest.mark.parametrize(
    ("returned", "keys"),
    [
        (RunRequest(run_key="a"), ["a"]),
        ([RunRequest(run_key="a"), RunRequest(run_key="b")], ["a", "b"]),
        ((RunRequest(run_key="a"),), ["a"]),
    ],
)
def test_returned_run_requests(returned: object, keys: list[str]) -> None:
    @schedule("@daily", job=ETL)
    def daily() -> object:
        return returned

    result = evaluate(daily)
    assert [r.run_key for r in result.run_requests] == keys
    assert all(r.job_name == "etl" for r in result.run_requests)
    assert result.skip_message is None


def test_generator_of_run_requests() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> Iterator[RunRequest]:
        for region in ("eu", "us"):
            yield RunRequest(run_key=region, partition_key=region)

    result = evaluate(daily)
    assert [r.partition_key for r in result.run_requests] == ["eu", "us"]


def test_run_config_dict_means_one_run_with_that_config() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> dict[str, Any]:
        return {"ops": {"load": {"config": {"day": "2024-05-06"}}}}

    (request,) = evaluate(daily).run_requests
    assert request.run_config == {"ops": {"load": {"config": {"day": "2024-05-06"}}}}
    assert request.run_key is None


def test_skip_reason() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> SkipReason:
        return SkipReason("holiday")

    assert evaluate(daily) == ScheduleEvaluationResult((), "holiday")

    @schedule("@daily", job=ETL)
    def yields_skip() -> Iterator[SkipReason]:
        yield SkipReason("holiday")

    assert evaluate(yields_skip) == ScheduleEvaluationResult((), "holiday")


@pytest.mark.parametrize("returned", [None, []])
def test_nothing_returned_skips_with_a_message(returned: object) -> None:
    @schedule("@daily", job=ETL)
    def daily() -> object:
        return returned

    assert evaluate(daily) == ScheduleEvaluationResult(
        (), "the schedule function returned no run requests"
    )


def test_wrong_return_type_names_the_schedule_and_the_type() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> int:
        return 42

    with pytest.raises(
        DefinitionError,
        match=r"schedule 'daily' evaluation function returned a int \(42\): return a RunRequest",
    ):
        evaluate(daily)

    @schedule("@daily", job=ETL)
    def listed() -> list[object]:
        return [RunRequest(), "oops"]

    with pytest.raises(DefinitionError, match=r"returned a list holding a str \('oops'\)"):
        evaluate(listed)


def test_run_requests_and_skip_reason_together_are_an_error() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> Iterator[object]:
        yield RunRequest()
        yield SkipReason("no")

    with pytest.raises(DefinitionError, match="returned both RunRequests and a SkipReason"):
        evaluate(daily)

    @schedule("@daily", job=ETL)
    def two_skips() -> list[SkipReason]:
        return [SkipReason("a"), SkipReason("b")]

    with pytest.raises(DefinitionError, match="returned 2 SkipReasons; return at most one"):
        evaluate(two_skips)


def test_tags_merge_schedule_then_request_then_system() -> None:
    @schedule("@daily", job=ETL, tags={"team": "data", "tier": "1"})
    def daily() -> RunRequest:
        return RunRequest(tags={"tier": "2", "knoll/schedule_name": "spoofed"})

    (request,) = evaluate(daily).run_requests
    assert request.tags == {"team": "data", "tier": "2", "knoll/schedule_name": "daily"}


def test_run_request_for_another_job_is_an_error() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> RunRequest:
        return RunRequest(job_name="elt")

    with pytest.raises(
        DefinitionError,
        match=r"schedule 'daily' returned a RunRequest for job 'elt', which it does not target "
        r"\(it targets etl\)\. Did you mean 'etl'\?",
    ):
        evaluate(daily)

    @schedule("@daily", job=ETL)
    def same_job() -> RunRequest:
        return RunRequest(job_name="etl")

    assert evaluate(same_job).run_requests[0].job_name == "etl"


def test_user_exception_is_wrapped_with_the_original_as_cause() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> None:
        raise ValueError("warehouse is down")

    with pytest.raises(
        UserCodeError,
        match=r"error in schedule 'daily' evaluation function: ValueError: warehouse is down",
    ) as info:
        evaluate(daily)
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.original is info.value.__cause__


def test_exception_raised_while_generating_is_wrapped() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> Iterator[RunRequest]:
        yield RunRequest()
        raise KeyError("region")

    with pytest.raises(UserCodeError, match="schedule 'daily' evaluation function: KeyError"):
        evaluate(daily)


def test_knoll_errors_raised_by_user_code_are_wrapped_too() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> RunRequest:
        return RunRequest(tags={"n": 1})  # type: ignore[dict-item]

    with pytest.raises(UserCodeError, match="DefinitionError: tag 'n' of RunRequest has the int"):
        evaluate(daily)


def test_context_is_optional_and_resources_come_by_name() -> None:
    seen: dict[str, Any] = {}

    @schedule("@daily", job=ETL)
    def with_resources(context: ScheduleEvaluationContext, warehouse: str, limit: int = 5) -> None:
        seen.update(warehouse=warehouse, limit=limit, same=context.resources.warehouse)

    assert with_resources.required_resource_keys == {"warehouse"}
    evaluate(with_resources, warehouse="duckdb")
    assert seen == {"warehouse": "duckdb", "limit": 5, "same": "duckdb"}
    evaluate(with_resources, warehouse="duckdb", limit=9)
    assert seen["limit"] == 9

    @schedule("@daily", job=ETL)
    def resources_only(warehouse: str) -> RunRequest:
        return RunRequest(run_key=warehouse)

    assert evaluate(resources_only, warehouse="pg").run_requests[0].run_key == "pg"


def test_missing_resource_is_an_error_that_lists_the_available_ones() -> None:
    @schedule("@daily", job=ETL)
    def daily(warehouse: str) -> None:
        return None

    with pytest.raises(
        InvalidInvocationError,
        match=r"schedule 'daily' needs resource 'warehouse', but its context has no such resource "
        r"\(available: warehose\)\. Did you mean 'warehose'\?",
    ):
        evaluate(daily, warehose="x")


def test_context_parameter_may_be_annotated_under_another_name() -> None:
    @schedule("@daily", job=ETL)
    def daily(ctx: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_key=ctx.scheduled_execution_time.isoformat())

    assert daily.required_resource_keys == frozenset()
    assert evaluate(daily).run_requests[0].run_key == "2024-05-06T04:00:00+00:00"


def test_scheduled_time_is_given_in_the_schedule_timezone() -> None:
    @schedule("0 6 * * *", job=ETL, execution_timezone="Europe/Berlin")
    def daily(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_key=context.scheduled_execution_time.isoformat())

    (request,) = evaluate(daily).run_requests
    assert request.run_key == "2024-05-06T06:00:00+02:00"


def test_evaluate_tick_needs_a_schedule_context() -> None:
    definition = ScheduleDefinition(cron_schedule="@daily", job=ETL)
    with pytest.raises(InvalidInvocationError, match="takes a ScheduleEvaluationContext, got dict"):
        definition.evaluate_tick({})  # type: ignore[arg-type]


def test_evaluation_result_round_trips_as_json() -> None:
    @schedule("@daily", job=ETL, tags={"team": "data"})
    def daily() -> list[RunRequest]:
        return [RunRequest(run_key="a", run_config={"x": [1]}), RunRequest(run_key="b")]

    result = evaluate(daily)
    assert deserialize(serialize(result), ScheduleEvaluationResult) == result


# -- contexts and direct calls ---------------------------------------------------------------


def test_build_schedule_context() -> None:
    context = build_schedule_context(INSTANCE, TICK, {"db": "conn"})
    assert context.scheduled_execution_time == TICK
    assert context.resources.db == "conn"
    assert "db" in context.resources
    assert context.instance is INSTANCE
    assert context.log.name == "knoll.schedule"
    now = build_schedule_context().scheduled_execution_time
    assert now.tzinfo is UTC
    assert abs(datetime.now(UTC) - now) < timedelta(minutes=5)


def test_context_takes_the_instance_first_as_dagster_does() -> None:
    with pytest.raises(
        InvalidInvocationError,
        match=r"the instance is a datetime \(2024-01-01T00:00:00\+00:00\); the first parameter"
        r" is the instance\. Pass the time as scheduled_execution_time=",
    ):
        build_schedule_context(datetime(2024, 1, 1, tzinfo=UTC))


def test_context_needs_an_aware_time() -> None:
    with pytest.raises(InvalidInvocationError, match="must be a timezone-aware datetime"):
        build_schedule_context(scheduled_execution_time=datetime(2024, 1, 1))


def test_missing_resource_attribute_suggests_names() -> None:
    context = build_schedule_context(resources={"warehouse": 1})
    with pytest.raises(
        AttributeError, match=r"no resource named 'warehose' \(available: warehouse\)"
    ):
        _ = context.resources.warehose


def test_resources_must_be_a_dict() -> None:
    with pytest.raises(InvalidInvocationError, match="resources must be a dict"):
        build_schedule_context(resources=["db"])  # type: ignore[arg-type]


def test_direct_call_returns_the_raw_result() -> None:
    @schedule("@daily", job=ETL)
    def daily(context: ScheduleEvaluationContext, warehouse: str) -> dict[str, Any]:
        return {"when": context.scheduled_execution_time, "warehouse": warehouse}

    context = build_schedule_context(scheduled_execution_time=TICK, resources={"warehouse": "pg"})
    assert daily(context) == {"when": TICK, "warehouse": "pg"}
    assert daily(context=context) == {"when": TICK, "warehouse": "pg"}
    # Resources given by name win over the context's.
    assert daily(context, warehouse="duckdb")["warehouse"] == "duckdb"


def test_direct_call_without_context_when_none_is_needed() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> Iterator[RunRequest]:
        yield RunRequest(run_key="x")

    raw = daily()
    assert list(raw) == [RunRequest(run_key="x")]  # a generator, as the function returned it

    @schedule("@daily", job=ETL)
    def with_resource(db: str) -> str:
        return db

    assert with_resource(db="pg") == "pg"


def test_direct_call_mistakes() -> None:
    @schedule("@daily", job=ETL)
    def daily(context: ScheduleEvaluationContext, db: str = "x") -> None:
        return None

    with pytest.raises(
        InvalidInvocationError,
        match=r"schedule 'daily' takes a context argument \('context'\) but was called without "
        r"one; call it as daily\(build_schedule_context\(\)\)",
    ):
        daily()
    with pytest.raises(InvalidInvocationError, match="was called with a str where its"):
        daily("context")
    with pytest.raises(InvalidInvocationError, match="was called with 2 positional arguments"):
        daily(build_schedule_context(), "x")
    with pytest.raises(InvalidInvocationError, match="got its context twice"):
        daily(build_schedule_context(), context=build_schedule_context())
    with pytest.raises(
        InvalidInvocationError, match=r"got unexpected argument 'dbb' .* Did you mean 'db'\?"
    ):
        daily(build_schedule_context(), dbb="y")


def test_user_errors_are_not_wrapped_in_direct_calls() -> None:
    @schedule("@daily", job=ETL)
    def daily() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        daily()


def test_direct_call_of_a_schedule_without_function() -> None:
    definition = ScheduleDefinition(cron_schedule="@daily", job=ETL)
    with pytest.raises(InvalidInvocationError, match="has no evaluation function to call"):
        definition(build_schedule_context())


# -- tick times -------------------------------------------------------------------------------


def test_next_tick_times_in_the_schedule_timezone() -> None:
    definition = ScheduleDefinition(
        cron_schedule="30 2 * * *", job=ETL, execution_timezone="America/New_York"
    )
    after = datetime(2024, 3, 9, 12, tzinfo=UTC)
    times = definition.next_tick_times(after, 3)
    assert [t.tzinfo for t in times] == [NEW_YORK] * 3
    # 02:30 does not exist on March 10: the tick is at the end of the gap.
    assert [f"{t:%m-%d %H:%M %Z}" for t in times] == [
        "03-10 03:00 EDT",
        "03-11 02:30 EDT",
        "03-12 02:30 EDT",
    ]
    assert definition.next_tick_times(after, 0) == []
    iterator = definition.iter_tick_times(after)
    assert [next(iterator) for _ in range(3)] == times
    assert definition.previous_tick_time(times[1]) == times[0]


def test_tick_times_need_an_aware_datetime_and_a_sane_limit() -> None:
    definition = ScheduleDefinition(cron_schedule="@daily", job=ETL)
    with pytest.raises(InvalidInvocationError, match="needs a timezone-aware datetime"):
        definition.next_tick_times(datetime(2024, 1, 1), 1)
    with pytest.raises(InvalidInvocationError, match="limit must be a whole number of 0 or more"):
        definition.next_tick_times(datetime(2024, 1, 1, tzinfo=UTC), -1)
    with pytest.raises(InvalidInvocationError, match="previous_tick_time of schedule"):
        definition.previous_tick_time(datetime(2024, 1, 1))


def test_fall_back_fires_once_on_the_second_pass() -> None:
    definition = ScheduleDefinition(
        cron_schedule="30 2 * * *", job=ETL, execution_timezone="Europe/Berlin"
    )
    times = definition.next_tick_times(datetime(2024, 10, 26, 12, tzinfo=UTC), 2)
    assert [t.astimezone(UTC) for t in times] == [
        datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
        datetime(2024, 10, 28, 1, 30, tzinfo=UTC),
    ]


# -- snapshot ---------------------------------------------------------------------------------


def test_snapshot_is_plain_json() -> None:
    @schedule(
        "0 6 * * MON-FRI",
        job=ETL,
        execution_timezone="Europe/Berlin",
        tags={"team": "data"},
        metadata={"owner": "ana", "docs": MetadataValue.url("https://example.com")},
        default_status=DefaultScheduleStatus.RUNNING,
    )
    def weekday_morning(warehouse: str) -> None:
        """Loads every weekday morning."""

    snapshot = weekday_morning.to_snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["name"] == "weekday_morning"
    assert snapshot["cron_schedule"] == "0 6 * * MON-FRI"
    assert snapshot["execution_timezone"] == "Europe/Berlin"
    assert snapshot["job_name"] == "etl"
    assert snapshot["target"] is None
    assert snapshot["description"] == "Loads every weekday morning."
    assert snapshot["default_status"] == "RUNNING"
    assert snapshot["tags"] == {"team": "data"}
    assert snapshot["required_resource_keys"] == ["warehouse"]
    assert set(snapshot["metadata"]) == {"owner", "docs"}
    in_utc = ScheduleDefinition(cron_schedule="@daily", job=ETL).to_snapshot()
    assert in_utc["execution_timezone"] == "UTC"
