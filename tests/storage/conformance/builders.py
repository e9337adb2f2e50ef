"""Runs and events for the conformance suites: small builders, and real runs' event streams."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from knoll import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    MaterializeResult,
    Output,
    StaticPartitionsDefinition,
    asset,
    asset_check,
    materialize_to_memory,
)
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.keys import AssetCheckKey
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.execution.events import (
    AssetPlannedData,
    EventData,
    EventType,
    RunEvent,
    RunFailureData,
    SerializableError,
    StepFailureData,
)
from knoll.execution.result import ExecuteInProcessResult
from knoll.execution.run import Run, RunStatus, new_run_id
from knoll.storage.base import RunStorage, Storage

JOB = "nightly"

# A fake clock: every event gets a later timestamp than the one built before it.
_clock = itertools.count(1_700_000_000)


def tick() -> float:
    return float(next(_clock))


def make_run(
    *,
    job_name: str = JOB,
    status: RunStatus = RunStatus.QUEUED,
    tags: Mapping[str, str] | None = None,
    assets: Sequence[str] | None = None,
    run_id: str | None = None,
) -> Run:
    return Run(
        run_id=run_id or new_run_id(),
        job_name=job_name,
        status=status,
        tags=dict(tags or {}),
        asset_selection=frozenset(AssetKey(a) for a in assets) if assets is not None else None,
    )


def event(
    event_type: EventType,
    run_id: str,
    *,
    step_key: str | None = None,
    data: EventData = None,
    message: str = "",
    job_name: str = JOB,
) -> RunEvent:
    return RunEvent(
        event_type=event_type,
        run_id=run_id,
        job_name=job_name,
        timestamp=tick(),
        step_key=step_key,
        message=message,
        level=logging.INFO,
        data=data,
    )


def log(run_id: str, message: str = "hello", step_key: str | None = None) -> RunEvent:
    return event(EventType.LOG_MESSAGE, run_id, step_key=step_key, message=message)


def planned(
    run_id: str, asset_name: str, partition: str | None = None, step_key: str | None = None
) -> RunEvent:
    return event(
        EventType.ASSET_MATERIALIZATION_PLANNED,
        run_id,
        step_key=step_key or asset_name,
        data=AssetPlannedData(AssetKey(asset_name), partition=partition),
    )


def materialization(
    run_id: str,
    asset_name: str,
    partition: str | None = None,
    step_key: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> RunEvent:
    return event(
        EventType.ASSET_MATERIALIZATION,
        run_id,
        step_key=step_key or asset_name,
        data=AssetMaterialization(asset_name, metadata=metadata, partition=partition),
    )


def observation(run_id: str, asset_name: str, partition: str | None = None) -> RunEvent:
    return event(
        EventType.ASSET_OBSERVATION,
        run_id,
        step_key=asset_name,
        data=AssetObservation(asset_name, metadata={"rows": 3}, partition=partition),
    )


def check_evaluation(
    run_id: str, asset_name: str, check_name: str, *, passed: bool, partition: str | None = None
) -> RunEvent:
    return event(
        EventType.ASSET_CHECK_EVALUATION,
        run_id,
        step_key=f"{asset_name}_{check_name}",
        data=AssetCheckEvaluation(
            AssetKey(asset_name), check_name, passed=passed, partition=partition
        ),
    )


def check_key(asset_name: str, check_name: str) -> AssetCheckKey:
    return AssetCheckKey(AssetKey(asset_name), check_name)


def step_failure(run_id: str, step_key: str) -> RunEvent:
    error = SerializableError("ValueError", "boom")
    return event(EventType.STEP_FAILURE, run_id, step_key=step_key, data=StepFailureData(error))


def run_start(run_id: str) -> RunEvent:
    return event(EventType.RUN_START, run_id)


def run_success(run_id: str) -> RunEvent:
    return event(EventType.RUN_SUCCESS, run_id)


def run_failure(run_id: str) -> RunEvent:
    return event(EventType.RUN_FAILURE, run_id, data=RunFailureData())


def run_canceled(run_id: str) -> RunEvent:
    return event(EventType.RUN_CANCELED, run_id)


def started_run(storage: RunStorage, **kwargs: Any) -> Run:
    """A stored run that has started (as a run worker leaves it before its first step)."""
    run = make_run(status=RunStatus.STARTED, **kwargs)
    storage.add_run(run)
    return run


# ---- real runs ----------------------------------------------------------------------------

REGIONS = StaticPartitionsDefinition(["north", "south", "west"])


@asset
def orders() -> list[int]:
    return [1, 2, 3]


@asset
def order_count(orders: list[int]) -> int:
    return len(orders)


@asset_check(asset=order_count)
def count_positive(order_count: int) -> AssetCheckResult:
    return AssetCheckResult(passed=order_count > 0, metadata={"count": order_count})


@asset(partitions_def=REGIONS)
def sales(context: AssetExecutionContext) -> int:
    if context.partition_key == "west":
        raise ValueError("the west feed is down")
    return 10


@asset(partitions_def=REGIONS)
def sales_report(sales: int) -> int:
    return sales * 2


@asset(code_version="c1")
def versioned() -> Output[int]:
    return Output(1, data_version=DataVersion("2024-06-01"), tags={"source": "erp"})


@asset(partitions_def=REGIONS)
def versioned_sales(context: AssetExecutionContext) -> MaterializeResult:
    return MaterializeResult(data_version=f"v-{context.partition_key}", tags={"team": "sales"})


PLAIN_ASSETS = [orders, order_count, count_positive]
VERSIONED_ASSETS = [versioned, versioned_sales]
REGION_ASSETS = [sales, sales_report]


def run_and_store(storage: Storage, assets: Sequence[Any], **kwargs: Any) -> ExecuteInProcessResult:
    """Materialize ``assets`` in this process and store the run and every event it produced,
    the way the instance records a run: the run first (as STARTING), then its events."""
    result = materialize_to_memory(assets, raise_on_error=False, **kwargs)
    storage.add_run(replace(result.run, status=RunStatus.STARTING))
    storage.store_events(result.all_events)
    return result
