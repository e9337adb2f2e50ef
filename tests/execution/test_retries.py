"""Retries: ``RetryPolicy`` on assets, ops and jobs, ``RetryRequested``, and their events."""

from __future__ import annotations

import pytest

from knoll import (
    AssetExecutionContext,
    Backoff,
    EventType,
    ExecuteInProcessResult,
    Failure,
    InvalidInvocationError,
    Jitter,
    OpExecutionContext,
    RetryPolicy,
    RetryRequested,
    RunEvent,
    TypeCheckError,
    UserCodeError,
    asset,
    job,
    materialize_to_memory,
    op,
)
from knoll.execution.events import StepRetryData

TINY = 0.001  # seconds: retries really wait, so keep delays tiny


class Flaky:
    """Fails the first ``failures`` calls, then returns the number of calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"attempt {self.calls} failed")
        return self.calls


def step_event_types(result: ExecuteInProcessResult, step_key: str) -> list[str]:
    return [e.event_type.value for e in result.events_for_node(step_key)]


def retry_data(result: ExecuteInProcessResult) -> list[StepRetryData]:
    events: list[RunEvent] = result.events_of_type(EventType.STEP_UP_FOR_RETRY)
    return [e.data for e in events if isinstance(e.data, StepRetryData)]


def test_retry_policy_retries_until_success() -> None:
    flaky = Flaky(failures=2)
    attempts: list[int] = []

    @asset(retry_policy=RetryPolicy(max_retries=3))
    def fetched(context: AssetExecutionContext) -> int:
        attempts.append(context.retry_number)
        return flaky()

    result = materialize_to_memory([fetched])

    assert result.success
    assert result.asset_value("fetched") == 3
    assert attempts == [0, 1, 2]
    assert step_event_types(result, "fetched") == [
        "ASSET_MATERIALIZATION_PLANNED",
        "STEP_START",
        "STEP_UP_FOR_RETRY",
        "STEP_RESTARTED",
        "STEP_UP_FOR_RETRY",
        "STEP_RESTARTED",
        "STEP_OUTPUT",
        "HANDLED_OUTPUT",
        "ASSET_MATERIALIZATION",
        "STEP_SUCCESS",
    ]
    data = retry_data(result)
    assert [(d.attempt, d.max_retries, d.seconds_to_wait) for d in data] == [(1, 3, 0), (2, 3, 0)]
    assert data[0].error is not None
    assert data[0].error.class_name == "ConnectionError"
    assert data[0].error.message == "attempt 1 failed"
    up_for_retry = result.events_of_type(EventType.STEP_UP_FOR_RETRY)[0]
    assert up_for_retry.message == (
        "asset 'fetched' failed (ConnectionError: attempt 1 failed); retry 1 of 3 in 0.0s"
    )


def test_exhausted_retries_fail_the_step_with_the_last_error() -> None:
    flaky = Flaky(failures=10)

    @asset(retry_policy=RetryPolicy(max_retries=2))
    def always_down() -> int:
        return flaky()

    result = materialize_to_memory([always_down], raise_on_error=False)

    assert not result.success
    assert flaky.calls == 3
    assert step_event_types(result, "always_down").count("STEP_UP_FOR_RETRY") == 2
    error = result.step_error("always_down")
    assert isinstance(error, UserCodeError)
    assert str(error) == (
        "error in asset 'always_down' (step 'always_down'): ConnectionError: attempt 3 failed"
    )
    with pytest.raises(UserCodeError, match="attempt 6 failed"):
        materialize_to_memory([always_down])


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [(None, [TINY, TINY, TINY]), (Backoff.LINEAR, [TINY, 2 * TINY, 3 * TINY])],
    ids=["constant", "linear"],
)
def test_delay_and_linear_backoff(backoff: Backoff | None, expected: list[float]) -> None:
    flaky = Flaky(failures=3)

    @op(retry_policy=RetryPolicy(max_retries=3, delay=TINY, backoff=backoff))
    def waits() -> int:
        return flaky()

    @job
    def waiting() -> None:
        waits()

    result = waiting.execute_in_process()
    assert [d.seconds_to_wait for d in retry_data(result)] == pytest.approx(expected)


def test_exponential_backoff_doubles_the_delay() -> None:
    flaky = Flaky(failures=3)

    @op(retry_policy=RetryPolicy(max_retries=3, delay=TINY, backoff=Backoff.EXPONENTIAL))
    def waits() -> int:
        return flaky()

    @job
    def waiting() -> None:
        waits()

    result = waiting.execute_in_process()
    waits_seen = [d.seconds_to_wait for d in retry_data(result)]
    assert waits_seen == pytest.approx([TINY, 2 * TINY, 4 * TINY])


@pytest.mark.parametrize(
    ("jitter", "bounds"),
    [(Jitter.FULL, (0.0, 1.0)), (Jitter.PLUS_MINUS, (0.0, 2.0))],
    ids=["full", "plus-minus"],
)
def test_jitter_keeps_the_delay_within_its_bounds(
    jitter: Jitter, bounds: tuple[float, float]
) -> None:
    flaky = Flaky(failures=5)

    @op(retry_policy=RetryPolicy(max_retries=5, delay=TINY, jitter=jitter))
    def waits() -> int:
        return flaky()

    @job
    def waiting() -> None:
        waits()

    result = waiting.execute_in_process()
    low, high = bounds
    for data in retry_data(result):
        assert low * TINY <= data.seconds_to_wait <= high * TINY


def test_retry_requested_retries_the_step() -> None:
    flaky = Flaky(failures=1)

    @op
    def asks_again(context: OpExecutionContext) -> int:
        try:
            return flaky()
        except ConnectionError as exc:
            raise RetryRequested(max_retries=2, seconds_to_wait=TINY) from exc

    @job
    def retrying() -> None:
        asks_again()

    result = retrying.execute_in_process()

    assert result.output_for_node("asks_again") == 2
    [data] = retry_data(result)
    assert (data.attempt, data.max_retries, data.seconds_to_wait) == (1, 2, TINY)


def test_retry_requested_out_of_retries_names_the_cause() -> None:
    flaky = Flaky(failures=10)

    @op
    def asks_again() -> int:
        try:
            return flaky()
        except ConnectionError as exc:
            raise RetryRequested(max_retries=1) from exc

    @job
    def retrying() -> None:
        asks_again()

    with pytest.raises(UserCodeError) as info:
        retrying.execute_in_process()
    assert str(info.value) == (
        "op 'asks_again' (step 'asks_again') requested a retry, but it has used all its retries "
        "(RetryRequested(max_retries=1)) (last error: ConnectionError: attempt 2 failed). Raise "
        "RetryRequested(max_retries=...) with a higher limit, or fix the cause."
    )
    assert isinstance(info.value.__cause__, RetryRequested)
    assert flaky.calls == 2


def test_retry_requested_needs_a_non_negative_count() -> None:
    with pytest.raises(InvalidInvocationError, match="max_retries must be 0 or more"):
        RetryRequested(max_retries=-1)


def test_failure_without_retries_is_not_retried() -> None:
    calls: list[int] = []

    @op(retry_policy=RetryPolicy(max_retries=3))
    def refuses() -> int:
        calls.append(1)
        raise Failure("bad input file", metadata={"file": "x.csv"}, allow_retries=False)

    @job
    def refusing() -> None:
        refuses()

    result = refusing.execute_in_process(raise_on_error=False)
    assert len(calls) == 1
    assert step_event_types(result, "refuses") == ["STEP_START", "STEP_FAILURE"]


def test_failure_with_retries_allowed_is_retried() -> None:
    calls: list[int] = []

    @op(retry_policy=RetryPolicy(max_retries=2))
    def fails() -> int:
        calls.append(1)
        raise Failure("still broken")

    @job
    def failing() -> None:
        fails()

    result = failing.execute_in_process(raise_on_error=False)
    assert len(calls) == 3
    assert "still broken" in str(result.step_error("fails"))


def test_job_retry_policy_applies_to_ops_without_their_own() -> None:
    flaky_a = Flaky(failures=1)
    flaky_b = Flaky(failures=1)

    @op
    def uses_job_policy() -> int:
        return flaky_a()

    @op(retry_policy=RetryPolicy(max_retries=0))
    def opts_out() -> int:
        return flaky_b()

    @job(op_retry_policy=RetryPolicy(max_retries=1))
    def mixed() -> None:
        uses_job_policy()
        opts_out()

    result = mixed.execute_in_process(raise_on_error=False)
    assert result.output_for_node("uses_job_policy") == 2
    assert result.failed_step_keys == ["opts_out"]
    assert flaky_b.calls == 1


def test_knoll_errors_in_a_step_are_not_retried() -> None:
    calls: list[int] = []

    @asset(retry_policy=RetryPolicy(max_retries=3))
    def wrong_type() -> int:
        calls.append(1)
        value: object = "text"
        return value  # type: ignore[return-value]

    result = materialize_to_memory([wrong_type], raise_on_error=False)
    assert len(calls) == 1
    assert isinstance(result.step_error("wrong_type"), TypeCheckError)


def test_no_policy_means_no_retry() -> None:
    flaky = Flaky(failures=1)

    @asset
    def once() -> int:
        return flaky()

    result = materialize_to_memory([once], raise_on_error=False)
    assert flaky.calls == 1
    assert result.events_of_type(EventType.STEP_UP_FOR_RETRY) == []
