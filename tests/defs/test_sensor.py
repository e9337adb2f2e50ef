from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from knoll._serdes import deserialize, serialize
from knoll.defs.keys import AssetKey
from knoll.defs.partitions import AddDynamicPartitionsRequest
from knoll.defs.run_request import RunRequest, SensorResult, SkipReason
from knoll.defs.sensor import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorEvaluationResult,
    build_sensor_context,
    sensor,
)
from knoll.errors import DefinitionError, InvalidInvocationError, UserCodeError


class Job:
    """Stands in for a job definition: sensors only need its name."""

    def __init__(self, name: str) -> None:
        self.name = name


ETL = Job("etl")
REPORT = Job("report")
ADD_ACME = AddDynamicPartitionsRequest("customers", ["acme"])


# -- declaring -------------------------------------------------------------------------------


def test_bare_decorator() -> None:
    @sensor
    def new_files() -> None:
        """Watches the landing bucket."""

    assert isinstance(new_files, SensorDefinition)
    assert new_files.name == "new_files"
    assert new_files.description == "Watches the landing bucket."
    assert new_files.job_names == ()
    assert new_files.job_name is None
    assert new_files.minimum_interval_seconds == 30
    assert new_files.default_status is DefaultSensorStatus.STOPPED


def test_decorator_with_arguments() -> None:
    @sensor(
        job=ETL,
        name="watch",
        minimum_interval_seconds=60,
        description="d",
        default_status=DefaultSensorStatus.RUNNING,
        tags={"team": "data"},
    )
    def new_files() -> None:
        return None

    assert (new_files.name, new_files.job_name, new_files.jobs) == ("watch", "etl", (ETL,))
    assert new_files.minimum_interval_seconds == 60
    assert new_files.default_status is DefaultSensorStatus.RUNNING
    assert new_files.tags == {"team": "data"}


def test_job_given_positionally() -> None:
    @sensor(ETL)
    def new_files() -> None:
        return None

    assert new_files.job_names == ("etl",)


def test_sensor_definition_directly() -> None:
    def check() -> None:
        return None

    definition = SensorDefinition(evaluation_fn=check, job_name="etl")
    assert (definition.name, definition.job_names) == ("check", ("etl",))
    named = SensorDefinition("watcher", evaluation_fn=check, jobs=[ETL, REPORT])
    assert named.job_names == ("etl", "report")


def test_target_job_or_assets() -> None:
    def check() -> None:
        return None

    by_job = SensorDefinition("s", evaluation_fn=check, target=REPORT)
    assert (by_job.job_names, by_job.target) == (("report",), None)
    by_assets = SensorDefinition("s", evaluation_fn=check, target=[AssetKey("orders")])
    assert by_assets.job_names == ("__anonymous_asset_job_s",)
    assert by_assets.to_snapshot()["target"] == "orders"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"job": ETL, "jobs": [REPORT]}, "sensor 's' got job and jobs: give only one of"),
        ({"jobs": []}, "jobs of sensor 's' must be a non-empty list of jobs"),
        ({"jobs": [ETL, ETL]}, "sensor 's' lists job 'etl' twice in jobs="),
        ({"jobs": [ETL, "report"]}, r"sensor 's' targets a str \('report'\) as a job"),
        ({"job_name": 3}, "job_name of sensor 's' must be a string"),
        ({"target": [1]}, "target of sensor 's' holds a int"),
        ({"minimum_interval_seconds": 0}, "minimum_interval_seconds of sensor 's' must be"),
        ({"minimum_interval_seconds": 1.5}, "must be a whole number of seconds, 1 or more"),
        ({"default_status": "RUNNING"}, "default_status of sensor 's' must be DefaultSensorStatus"),
        ({"tags": {"a": 1}}, "tag 'a' of sensor 's' has the int"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    def check() -> None:
        return None

    with pytest.raises(DefinitionError, match=message):
        SensorDefinition("s", evaluation_fn=check, **kwargs)


def test_name_is_validated() -> None:
    with pytest.raises(DefinitionError, match="sensor name 'new-files' is not valid"):
        SensorDefinition("new-files", evaluation_fn=lambda: None)


def test_job_and_job_name_are_set_only_for_a_single_job() -> None:
    several = SensorDefinition("s", evaluation_fn=lambda: None, jobs=[ETL, REPORT])
    assert (several.job_name, several.job, several.jobs) == (None, None, (ETL, REPORT))
    one = SensorDefinition("s", evaluation_fn=lambda: None, job=ETL)
    assert (one.job_name, one.job) == ("etl", ETL)
    by_name = SensorDefinition("s", evaluation_fn=lambda: None, job_name="etl")
    assert (by_name.job_name, by_name.job) == ("etl", None)


# -- evaluating ------------------------------------------------------------------------------


def test_run_requests_get_job_and_tags() -> None:
    @sensor(job=ETL, tags={"team": "data"})
    def new_files() -> list[RunRequest]:
        return [RunRequest(run_key="f1", tags={"file": "f1"}), RunRequest(run_key="f2")]

    result = new_files.evaluate_tick(build_sensor_context())
    assert [r.run_key for r in result.run_requests] == ["f1", "f2"]
    assert result.run_requests[0].tags == {
        "team": "data",
        "file": "f1",
        "knoll/sensor_name": "new_files",
    }
    assert {r.job_name for r in result.run_requests} == {"etl"}
    assert (result.skip_message, result.cursor, result.dynamic_partitions_requests) == (
        None,
        None,
        (),
    )


def test_generator_and_single_request() -> None:
    @sensor(job=ETL)
    def generated() -> Iterator[RunRequest]:
        yield RunRequest(run_key="a")
        yield RunRequest(run_key="b")

    assert len(generated.evaluate_tick(build_sensor_context()).run_requests) == 2

    @sensor(job=ETL)
    def single() -> RunRequest:
        return RunRequest(run_key="a")

    assert single.evaluate_tick(build_sensor_context()).run_requests[0].run_key == "a"


def test_nothing_returned_is_a_quiet_tick() -> None:
    @sensor(job=ETL)
    def quiet() -> None:
        return None

    assert quiet.evaluate_tick(build_sensor_context(cursor="5")) == SensorEvaluationResult(
        run_requests=(), skip_message=None, cursor="5"
    )


def test_skip_reason() -> None:
    @sensor(job=ETL)
    def idle() -> SkipReason:
        return SkipReason("no new files")

    assert idle.evaluate_tick(build_sensor_context()).skip_message == "no new files"


def test_cursor_updated_through_the_context() -> None:
    @sensor(job=ETL)
    def new_files(context: SensorEvaluationContext) -> Iterator[RunRequest]:
        last = int(context.cursor or 0)
        for n in range(last + 1, last + 3):
            yield RunRequest(run_key=str(n))
        context.update_cursor(str(last + 2))

    first = new_files.evaluate_tick(build_sensor_context())
    assert (first.cursor, [r.run_key for r in first.run_requests]) == ("2", ["1", "2"])
    second = new_files.evaluate_tick(build_sensor_context(cursor=first.cursor))
    assert (second.cursor, [r.run_key for r in second.run_requests]) == ("4", ["3", "4"])


def test_cursor_from_sensor_result() -> None:
    @sensor(job=ETL)
    def new_files(context: SensorEvaluationContext) -> SensorResult:
        return SensorResult(
            run_requests=[RunRequest(run_key="x")],
            cursor="10",
            dynamic_partitions_requests=[ADD_ACME],
        )

    result = new_files.evaluate_tick(build_sensor_context(cursor="9"))
    assert result.cursor == "10"
    assert result.dynamic_partitions_requests == (ADD_ACME,)
    assert deserialize(serialize(result), SensorEvaluationResult) == result
    assert result.run_requests[0].job_name == "etl"


def test_sensor_result_without_cursor_keeps_the_context_cursor() -> None:
    @sensor(job=ETL)
    def new_files(context: SensorEvaluationContext) -> SensorResult:
        context.update_cursor("updated")
        return SensorResult(skip_reason="nothing")

    result = new_files.evaluate_tick(build_sensor_context(cursor="old"))
    assert (result.cursor, result.skip_message) == ("updated", "nothing")


def test_setting_the_cursor_both_ways_is_an_error() -> None:
    @sensor(job=ETL)
    def new_files(context: SensorEvaluationContext) -> SensorResult:
        context.update_cursor("a")
        return SensorResult(cursor="b")

    with pytest.raises(
        DefinitionError,
        match=r"sensor 'new_files' both called context.update_cursor\(...\) and returned "
        r"SensorResult\(cursor=...\)",
    ):
        new_files.evaluate_tick(build_sensor_context())


def test_an_update_before_the_tick_does_not_count_as_setting_it_twice() -> None:
    @sensor(job=ETL)
    def new_files() -> SensorResult:
        return SensorResult(cursor="b")

    context = build_sensor_context()
    context.update_cursor("a")
    assert new_files.evaluate_tick(context).cursor == "b"


def test_cursor_must_be_a_string() -> None:
    context = build_sensor_context()
    with pytest.raises(InvalidInvocationError, match="a sensor cursor must be a string or None"):
        context.update_cursor(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInvocationError, match="a sensor cursor must be a string"):
        build_sensor_context(cursor=5)  # type: ignore[arg-type]


def test_several_jobs_need_a_job_name_per_request() -> None:
    @sensor(jobs=[ETL, REPORT])
    def both() -> list[RunRequest]:
        return [RunRequest(job_name="etl"), RunRequest(job_name="report")]

    assert [r.job_name for r in both.evaluate_tick(build_sensor_context()).run_requests] == [
        "etl",
        "report",
    ]

    @sensor(jobs=[ETL, REPORT])
    def unnamed() -> RunRequest:
        return RunRequest()

    with pytest.raises(
        DefinitionError,
        match=r"sensor 'unnamed' targets several jobs \(etl, report\): set job_name=",
    ):
        unnamed.evaluate_tick(build_sensor_context())

    @sensor(jobs=[ETL, REPORT])
    def typo() -> RunRequest:
        return RunRequest(job_name="reprot")

    with pytest.raises(DefinitionError, match=r"for job 'reprot'.* Did you mean 'report'\?"):
        typo.evaluate_tick(build_sensor_context())


def test_run_request_from_a_sensor_without_target_is_an_error() -> None:
    @sensor
    def untargeted() -> RunRequest:
        return RunRequest()

    with pytest.raises(
        DefinitionError, match="sensor 'untargeted' returned a RunRequest but targets no job"
    ):
        untargeted.evaluate_tick(build_sensor_context())


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ({"ops": {}}, r"returned a dict \(\{'ops': \{\}\}\): return a RunRequest, a SkipReason, a"),
        ("run", r"returned a str \('run'\)"),
        ([RunRequest(), 3], r"returned a list holding a int \(3\)"),
        ([SensorResult()], "returned a SensorResult inside a list or generator"),
        ([RunRequest(), SkipReason()], "returned both RunRequests and a SkipReason"),
    ],
)
def test_wrong_returns(returned: object, message: str) -> None:
    @sensor(job=ETL)
    def bad() -> object:
        return returned

    with pytest.raises(DefinitionError, match=message):
        bad.evaluate_tick(build_sensor_context())


def test_user_exception_is_wrapped() -> None:
    @sensor(job=ETL)
    def broken(context: SensorEvaluationContext) -> Iterator[RunRequest]:
        yield RunRequest()
        raise ConnectionError("bucket unreachable")

    with pytest.raises(
        UserCodeError,
        match=r"error in sensor 'broken' evaluation function: ConnectionError: bucket unreachable",
    ) as info:
        broken.evaluate_tick(build_sensor_context())
    assert isinstance(info.value.__cause__, ConnectionError)


def test_resources_by_parameter_name() -> None:
    @sensor(job=ETL)
    def new_files(context: SensorEvaluationContext, bucket: list[str]) -> list[RunRequest]:
        return [RunRequest(run_key=name) for name in bucket]

    assert new_files.required_resource_keys == {"bucket"}
    context = build_sensor_context(resources={"bucket": ["a.csv", "b.csv"]})
    assert [r.run_key for r in new_files.evaluate_tick(context).run_requests] == ["a.csv", "b.csv"]
    with pytest.raises(InvalidInvocationError, match="sensor 'new_files' needs resource 'bucket'"):
        new_files.evaluate_tick(build_sensor_context())


def test_evaluate_tick_needs_a_sensor_context() -> None:
    @sensor
    def quiet() -> None:
        return None

    with pytest.raises(InvalidInvocationError, match="takes a SensorEvaluationContext, got str"):
        quiet.evaluate_tick("context")  # type: ignore[arg-type]


def test_evaluation_result_round_trips_as_json() -> None:
    result = SensorEvaluationResult(
        run_requests=(RunRequest(run_key="a", job_name="etl"),), skip_message=None, cursor="3"
    )
    assert deserialize(serialize(result), SensorEvaluationResult) == result


# -- contexts and direct calls ---------------------------------------------------------------


def test_build_sensor_context() -> None:
    instance = object()  # the context only carries it
    context = build_sensor_context(
        instance,
        "c",
        resources={"bucket": "b"},
        last_tick_completion_time=1700000000.5,
        last_run_key="k",
    )
    assert context.cursor == "c"
    assert context.resources.bucket == "b"
    assert context.instance is instance
    assert context.last_tick_completion_time == 1700000000.5
    assert context.last_run_key == "k"
    assert context.log.name == "knoll.sensor"
    with pytest.raises(InvalidInvocationError, match="last_tick_completion_time must be a POSIX"):
        build_sensor_context(last_tick_completion_time="yesterday")  # type: ignore[arg-type]
    with pytest.raises(InvalidInvocationError, match="last_run_key must be a string or None"):
        build_sensor_context(last_run_key=1)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidInvocationError,
        match=r"the instance is a string \('c'\); the first parameter is the instance\. Pass a"
        r" cursor as cursor=",
    ):
        build_sensor_context("c")


def test_direct_call_returns_the_raw_result() -> None:
    @sensor(job=ETL)
    def new_files(context: SensorEvaluationContext, bucket: str) -> SensorResult:
        context.update_cursor(bucket)
        return SensorResult(skip_reason=f"seen {context.cursor}")

    context = build_sensor_context(resources={"bucket": "b1"})
    assert new_files(context) == SensorResult(skip_reason="seen b1")
    assert context.cursor == "b1"
    assert new_files(context, bucket="b2") == SensorResult(skip_reason="seen b2")
    with pytest.raises(InvalidInvocationError, match="sensor 'new_files' takes a context argument"):
        new_files()
    with pytest.raises(InvalidInvocationError, match="build one with build_sensor_context"):
        new_files(object())


def test_direct_call_without_a_context() -> None:
    @sensor(job=ETL)
    def quiet() -> SkipReason:
        return SkipReason("nothing")

    assert quiet() == SkipReason("nothing")


# -- snapshot ---------------------------------------------------------------------------------


def test_snapshot_is_plain_json() -> None:
    @sensor(jobs=[ETL, REPORT], minimum_interval_seconds=120, metadata={"owner": "ana"})
    def watcher(bucket: str) -> None:
        return None

    snapshot = watcher.to_snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["name"] == "watcher"
    assert snapshot["job_names"] == ["etl", "report"]
    assert snapshot["target"] is None
    assert snapshot["minimum_interval_seconds"] == 120
    assert snapshot["default_status"] == "STOPPED"
    assert snapshot["required_resource_keys"] == ["bucket"]
    assert set(snapshot["metadata"]) == {"owner"}
