"""Run events: their order, their payloads, and their versioned JSON form."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from knoll import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    DailyPartitionsDefinition,
    EventType,
    ExecuteInProcessResult,
    ExpectationResult,
    Failure,
    OpExecutionContext,
    Out,
    Output,
    PartitionKeyRange,
    RetryPolicy,
    RunEvent,
    SerializationError,
    asset,
    asset_check,
    job,
    materialize_to_memory,
    op,
)
from knoll._serdes import deserialize, serialize
from knoll.execution.events import (
    IOData,
    RunFailureData,
    SerializableError,
    StepFailureData,
    StepOutputData,
    StepRetryData,
    StepSkippedData,
)
from knoll.execution.executor import execute_in_process


@asset
def first() -> int:
    return 1


@asset
def second(first: int) -> int:
    return first + 1


def types_of(events: Sequence[RunEvent]) -> list[str]:
    return [e.event_type.value for e in events]


def test_lifecycle_order_of_a_two_step_run() -> None:
    result = materialize_to_memory([first, second])

    assert [(e.event_type.value, e.step_key) for e in result.all_events] == [
        ("ASSET_MATERIALIZATION_PLANNED", "first"),
        ("ASSET_MATERIALIZATION_PLANNED", "second"),
        ("RUN_START", None),
        ("STEP_START", "first"),
        ("STEP_OUTPUT", "first"),
        ("HANDLED_OUTPUT", "first"),
        ("ASSET_MATERIALIZATION", "first"),
        ("STEP_SUCCESS", "first"),
        ("STEP_START", "second"),
        ("LOADED_INPUT", "second"),
        ("STEP_OUTPUT", "second"),
        ("HANDLED_OUTPUT", "second"),
        ("ASSET_MATERIALIZATION", "second"),
        ("STEP_SUCCESS", "second"),
        ("RUN_SUCCESS", None),
    ]
    assert {e.run_id for e in result.all_events} == {result.run_id}
    assert {e.job_name for e in result.all_events} == {result.job_name}
    stamps = [e.timestamp for e in result.all_events]
    assert stamps == sorted(stamps)


def test_lifecycle_order_of_a_failed_run() -> None:
    @asset
    def broken(first: int) -> int:
        raise RuntimeError("broken")

    @asset
    def after(broken: int) -> int:
        return broken

    result = materialize_to_memory([first, broken, after], raise_on_error=False)

    assert types_of(result.all_events)[-5:] == [
        "STEP_START",
        "LOADED_INPUT",
        "STEP_FAILURE",
        "STEP_SKIPPED",
        "RUN_FAILURE",
    ]
    failure = result.events_of_type(EventType.RUN_FAILURE)[0]
    assert isinstance(failure.data, RunFailureData)
    assert failure.data.failed_steps == ("broken",)
    assert failure.level == logging.ERROR
    assert failure.is_failure
    skipped = result.get_step_skipped_events()[0]
    assert skipped.data == StepSkippedData("upstream step 'broken' failed")


def test_step_output_and_io_payloads() -> None:
    result = materialize_to_memory([first, second])

    output = result.events_of_type(EventType.STEP_OUTPUT)[0]
    assert output.data == StepOutputData("result", "int", AssetKey("first"), {})
    loaded = result.events_of_type(EventType.LOADED_INPUT)[0]
    assert loaded.data == IOData("first", "io_manager", AssetKey("first"), "first")
    handled = result.events_of_type(EventType.HANDLED_OUTPUT)[0]
    assert isinstance(handled.data, IOData)
    assert (handled.data.name, handled.data.io_manager_key) == ("result", "io_manager")


# ---- logs and user events -------------------------------------------------------------------


def test_context_log_lines_become_log_message_events(caplog: pytest.LogCaptureFixture) -> None:
    @asset
    def chatty(context: AssetExecutionContext) -> int:
        context.log.debug("debugging")
        context.log.info("loaded %d rows from %s", 3, "orders")
        context.log.warning("slow")
        context.log.error("bad row")
        return 3

    with caplog.at_level(logging.INFO, logger="knoll.run"):
        result = materialize_to_memory([chatty])

    logs = result.events_of_type(EventType.LOG_MESSAGE)
    assert [(e.message, e.level, e.step_key) for e in logs] == [
        ("debugging", logging.DEBUG, "chatty"),
        ("loaded 3 rows from orders", logging.INFO, "chatty"),
        ("slow", logging.WARNING, "chatty"),
        ("bad row", logging.ERROR, "chatty"),
    ]
    assert "chatty - loaded 3 rows from orders" in caplog.messages


def test_ops_record_materializations_observations_and_expectations() -> None:
    @op
    def writes(context: OpExecutionContext) -> Iterator[Any]:
        context.log_event(AssetObservation("source_table", metadata={"rows": 10}))
        yield AssetMaterialization("exported", metadata={"path": "/tmp/out.csv"})
        yield ExpectationResult(success=True, label="non_empty")
        yield Output(1)

    @job
    def exporting() -> None:
        writes()

    result = exporting.execute_in_process()

    assert types_of(result.events_for_node("writes")) == [
        "STEP_START",
        "ASSET_OBSERVATION",
        "ASSET_MATERIALIZATION",
        "EXPECTATION_RESULT",
        "STEP_OUTPUT",
        "HANDLED_OUTPUT",
        "STEP_SUCCESS",
    ]
    [materialization] = result.asset_materializations_for_node("writes")
    assert materialization.asset_key == AssetKey("exported")
    [observation] = result.asset_observations_for_node("writes")
    assert observation.metadata["rows"].value == 10
    assert result.get_asset_observation_events()[0].asset_key == AssetKey("source_table")


def test_output_metadata_reaches_the_materialization() -> None:
    @asset
    def described(context: AssetExecutionContext) -> Output[int]:
        context.add_output_metadata({"added": "by context"})
        return Output(5, metadata={"rows": 5})

    result = materialize_to_memory([described])
    [event] = result.get_asset_materialization_events()
    assert event.materialization.asset_key == AssetKey("described")
    assert {k: v.value for k, v in event.materialization.metadata.items()} == {
        "rows": 5,
        "added": "by context",
    }


def test_materialization_accessor_on_other_events() -> None:
    result = materialize_to_memory([first])
    start = result.events_of_type(EventType.STEP_START)[0]
    with pytest.raises(AttributeError, match="a STEP_START event has no materialization"):
        _ = start.materialization
    assert start.asset_key is None
    assert start.partition is None


# ---- failures ---------------------------------------------------------------------------------


def test_failure_event_keeps_the_error_chain_and_the_user_traceback() -> None:
    @asset
    def broken() -> int:
        raise ValueError("bad value")

    result = materialize_to_memory([broken], raise_on_error=False)
    [event] = result.get_step_failure_events()

    assert event.is_step_failure
    assert event.message == "error in asset 'broken' (step 'broken'): ValueError: bad value"
    assert isinstance(event.data, StepFailureData)
    assert event.data.user_code
    error = event.data.error
    assert error.class_name == "UserCodeError"
    assert error.cause is not None
    assert error.cause.class_name == "ValueError"
    assert error.cause.message == "bad value"
    assert any("raise ValueError" in line for line in error.cause.stack)
    text = error.to_string()
    assert "The above was caused by:\nValueError: bad value" in text


def test_failure_description_and_metadata_are_recorded() -> None:
    @asset
    def rejected() -> int:
        raise Failure("3 rows failed validation", metadata={"bad_rows": 3})

    result = materialize_to_memory([rejected], raise_on_error=False)
    [event] = result.get_step_failure_events()
    assert event.message == "asset 'rejected' (step 'rejected') failed: 3 rows failed validation"
    assert isinstance(event.data, StepFailureData)
    assert event.data.metadata["bad_rows"].value == 3


# ---- JSON round trips ---------------------------------------------------------------------------

daily = DailyPartitionsDefinition(start_date="2024-01-01")


def busy_run() -> ExecuteInProcessResult:
    """One run that emits every kind of event a run can hold."""
    attempts: list[int] = []

    @asset(partitions_def=daily, retry_policy=RetryPolicy(max_retries=1))
    def flaky(context: AssetExecutionContext) -> dict[str, int]:
        context.log.info("attempt %s", context.retry_number)
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("first try fails")
        context.log_event(AssetObservation("upstream_api", metadata={"calls": 2}))
        return dict.fromkeys(context.partition_keys, 1)

    @asset_check(asset=flaky)
    def flaky_ok(flaky: dict[str, int]) -> AssetCheckResult:
        return AssetCheckResult(passed=True, metadata={"keys": len(flaky)})

    @asset(partitions_def=daily)
    def broken(flaky: dict[str, int]) -> int:
        raise Failure("nope", metadata={"why": "testing"})

    @asset(partitions_def=daily)
    def never(broken: int) -> int:
        return broken

    return materialize_to_memory(
        [flaky, flaky_ok, broken, never],
        partition_key_range=PartitionKeyRange("2024-01-01", "2024-01-02"),
        raise_on_error=False,
    )


def test_every_event_round_trips_through_versioned_json() -> None:
    result = busy_run()
    kinds = {e.event_type for e in result.all_events}
    assert kinds >= {
        EventType.ASSET_MATERIALIZATION_PLANNED,
        EventType.RUN_START,
        EventType.STEP_START,
        EventType.LOG_MESSAGE,
        EventType.STEP_UP_FOR_RETRY,
        EventType.STEP_RESTARTED,
        EventType.ASSET_OBSERVATION,
        EventType.STEP_OUTPUT,
        EventType.HANDLED_OUTPUT,
        EventType.ASSET_MATERIALIZATION,
        EventType.STEP_SUCCESS,
        EventType.LOADED_INPUT,
        EventType.ASSET_CHECK_EVALUATION,
        EventType.STEP_FAILURE,
        EventType.STEP_SKIPPED,
        EventType.RUN_FAILURE,
    }
    for event in result.all_events:
        text = serialize(event)
        data = json.loads(text)
        assert data["__class__"] == "RunEvent"
        assert data["__v"] == 1
        assert deserialize(text, RunEvent) == event


def test_event_payload_types_after_a_round_trip() -> None:
    result = busy_run()
    by_type = {e.event_type: deserialize(serialize(e), RunEvent) for e in result.all_events}

    assert isinstance(by_type[EventType.STEP_UP_FOR_RETRY].data, StepRetryData)
    failure = by_type[EventType.STEP_FAILURE].data
    assert isinstance(failure, StepFailureData)
    assert isinstance(failure.error, SerializableError)
    assert failure.metadata["why"].value == "testing"
    planned = by_type[EventType.ASSET_MATERIALIZATION_PLANNED]
    assert planned.data is not None
    assert getattr(planned.data, "partition", None) == "2024-01-02"
    assert by_type[EventType.ASSET_MATERIALIZATION].partition in ("2024-01-01", "2024-01-02")


def test_reading_an_event_from_a_newer_knoll_fails_clearly() -> None:
    event = materialize_to_memory([first]).all_events[0]
    data = json.loads(serialize(event))
    data["__v"] = 99
    with pytest.raises(SerializationError, match="RunEvent record has version 99"):
        deserialize(json.dumps(data))


# ---- sinks -----------------------------------------------------------------------------------


def test_sinks_receive_every_event_in_order_in_batches() -> None:
    @op(out={"a": Out(int), "b": Out(int)})
    def pair() -> tuple[int, int]:
        return 1, 2

    @op
    def total(a: int, b: int) -> int:
        return a + b

    @job
    def summing() -> None:
        a, b = pair()
        total(a, b)

    class BatchSink:
        def __init__(self) -> None:
            self.events: list[RunEvent] = []
            self.batches = 0

        def write_events(self, events: Sequence[RunEvent]) -> None:
            self.batches += 1
            self.events.extend(events)

    sink = BatchSink()
    result = execute_in_process(summing, sinks=[sink])

    assert sink.events == result.all_events
    assert 1 < sink.batches < len(result.all_events)
