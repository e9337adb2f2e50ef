"""``async def`` assets, ops and checks (and async generators) in in-process runs."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator
from typing import Any

import pytest

from knoll import (
    AssetCheckResult,
    AssetExecutionContext,
    EventType,
    OpExecutionContext,
    Out,
    Output,
    RetryPolicy,
    UserCodeError,
    asset,
    asset_check,
    build_asset_context,
    job,
    materialize_to_memory,
    op,
)

loops: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(autouse=True)
def reset_loops() -> None:
    loops.clear()


@asset
async def fetched() -> int:
    loops.append(asyncio.get_running_loop())
    await asyncio.sleep(0)
    return 2


@asset
async def enriched(context: AssetExecutionContext, fetched: int) -> int:
    loops.append(asyncio.get_running_loop())
    context.log.info("enriching %s", fetched)
    await asyncio.sleep(0)
    return fetched * 10


@asset
def synchronous(enriched: int) -> int:
    return enriched + 1


def test_async_assets_are_awaited() -> None:
    result = materialize_to_memory([fetched, enriched, synchronous])

    assert result.asset_value("fetched") == 2
    assert result.asset_value("enriched") == 20
    assert result.asset_value("synchronous") == 21
    [log] = result.events_of_type(EventType.LOG_MESSAGE)
    assert log.message == "enriching 2"


def test_steps_of_one_run_share_one_event_loop() -> None:
    materialize_to_memory([fetched, enriched])
    assert len(loops) == 2
    assert loops[0] is loops[1]
    assert loops[0].is_closed()


def test_async_generator_asset() -> None:
    @asset
    async def streamed() -> AsyncIterator[Output[int]]:
        await asyncio.sleep(0)
        yield Output(7, metadata={"source": "stream"})

    result = materialize_to_memory([streamed])
    assert result.asset_value("streamed") == 7
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["source"].value == "stream"


def test_async_ops_and_async_generator_ops() -> None:
    @op
    async def start() -> int:
        await asyncio.sleep(0)
        return 3

    @op(out={"low": Out(int), "high": Out(int)})
    async def split(context: OpExecutionContext, value: int) -> AsyncIterator[Output[int]]:
        context.log.info("splitting")
        yield Output(value - 1, output_name="low")
        await asyncio.sleep(0)
        yield Output(value + 1, output_name="high")

    @op
    async def add(low: int, high: int) -> int:
        return low + high

    @job
    def async_job() -> None:
        low, high = split(start())
        add(low, high)

    result = async_job.execute_in_process()
    assert result.output_for_node("split", "high") == 4
    assert result.output_for_node("add") == 6


def test_async_error_is_wrapped_with_its_traceback() -> None:
    @asset
    async def fails() -> int:
        await asyncio.sleep(0)
        raise LookupError("missing row")

    with pytest.raises(UserCodeError) as info:
        materialize_to_memory([fails])
    assert str(info.value) == "error in asset 'fails' (step 'fails'): LookupError: missing row"
    cause = info.value.__cause__
    assert isinstance(cause, LookupError)
    frames = traceback.extract_tb(cause.__traceback__)
    assert frames[-1].name == "fails"
    assert frames[-1].line == 'raise LookupError("missing row")'


def test_async_asset_is_retried() -> None:
    attempts: list[int] = []

    @asset(retry_policy=RetryPolicy(max_retries=1))
    async def flaky() -> int:
        attempts.append(1)
        await asyncio.sleep(0)
        if len(attempts) == 1:
            raise TimeoutError("slow")
        return len(attempts)

    result = materialize_to_memory([flaky])
    assert result.asset_value("flaky") == 2


def test_async_asset_check() -> None:
    @asset_check(asset=fetched)
    async def fetched_positive(fetched: int) -> AssetCheckResult:
        await asyncio.sleep(0)
        return AssetCheckResult(passed=fetched > 0)

    result = materialize_to_memory([fetched, fetched_positive])
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed


def test_runs_started_from_inside_a_running_event_loop() -> None:
    """Notebooks and async tests call materialize() while their own loop runs."""

    async def caller() -> tuple[Any, asyncio.AbstractEventLoop]:
        result = materialize_to_memory([fetched, enriched, synchronous])
        return result.asset_value("synchronous"), asyncio.get_running_loop()

    value, caller_loop = asyncio.run(caller())

    assert value == 21
    assert len(loops) == 2
    assert loops[0] is loops[1]
    assert loops[0] is not caller_loop


def test_direct_invocation_of_an_async_asset_returns_a_coroutine() -> None:
    assert asyncio.run(fetched()) == 2
    assert asyncio.run(enriched(build_asset_context(), 5)) == 50
