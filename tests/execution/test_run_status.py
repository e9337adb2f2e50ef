"""``Run`` and the ``RunStatus`` state machine."""

from __future__ import annotations

import itertools

import pytest

from knoll import (
    AssetKey,
    ConfigurableResource,
    InitResourceContext,
    Run,
    RunStatus,
    RunStatusError,
    UserCodeError,
    asset,
    materialize_to_memory,
)
from knoll._serdes import deserialize, serialize
from knoll.execution.events import EventType
from knoll.execution.run import FINISHED_STATUSES, RUN_STATUS_TRANSITIONS, check_transition

LEGAL = {
    (RunStatus.QUEUED, RunStatus.STARTING),
    (RunStatus.QUEUED, RunStatus.CANCELING),
    (RunStatus.QUEUED, RunStatus.CANCELED),
    (RunStatus.STARTING, RunStatus.STARTED),
    (RunStatus.STARTING, RunStatus.FAILURE),
    (RunStatus.STARTING, RunStatus.CANCELING),
    (RunStatus.STARTING, RunStatus.CANCELED),
    (RunStatus.STARTED, RunStatus.SUCCESS),
    (RunStatus.STARTED, RunStatus.FAILURE),
    (RunStatus.STARTED, RunStatus.CANCELING),
    (RunStatus.STARTED, RunStatus.CANCELED),
    (RunStatus.CANCELING, RunStatus.CANCELED),
    (RunStatus.CANCELING, RunStatus.FAILURE),
}


def test_the_transition_table_is_exactly_the_legal_moves() -> None:
    table = {(old, new) for old, targets in RUN_STATUS_TRANSITIONS.items() for new in targets}
    assert table == LEGAL
    assert set(RUN_STATUS_TRANSITIONS) == set(RunStatus)


@pytest.mark.parametrize(
    ("current", "new"),
    list(itertools.product(RunStatus, RunStatus)),
    ids=lambda status: str(status.value),
)
def test_every_move_is_allowed_or_refused(current: RunStatus, new: RunStatus) -> None:
    run = Run("run-1", "job", status=current)
    if (current, new) in LEGAL:
        moved = run.with_status(new)
        assert moved.status is new
        assert run.status is current  # runs are immutable: a new record is returned
    else:
        with pytest.raises(RunStatusError, match=f"run run-1 cannot go from {current.value} to"):
            run.with_status(new)


def test_refusal_lists_the_allowed_moves() -> None:
    with pytest.raises(RunStatusError) as info:
        Run("r", "job").with_status(RunStatus.SUCCESS)
    assert str(info.value) == (
        "run r cannot go from QUEUED to SUCCESS: from QUEUED it can only go to CANCELED, "
        "CANCELING, STARTING."
    )


def test_finished_runs_cannot_move() -> None:
    for status in FINISHED_STATUSES:
        assert status.is_finished
        with pytest.raises(RunStatusError, match="nothing \\(it has finished\\)"):
            check_transition("r", status, RunStatus.STARTED)
    assert not RunStatus.STARTED.is_finished


def test_a_run_walks_from_queued_to_success() -> None:
    run = Run("r", "job", tags={"knoll/partition": "2024-01-01"})
    assert run.status is RunStatus.QUEUED
    for status in (RunStatus.STARTING, RunStatus.STARTED, RunStatus.SUCCESS):
        run = run.with_status(status)
    assert run.is_success
    assert run.is_finished
    assert run.partition_key == "2024-01-01"


def test_run_round_trips_through_json() -> None:
    run = Run(
        "r",
        "job",
        status=RunStatus.STARTED,
        tags={"team": "data"},
        run_config={"ops": {"a": {"config": {"values": [1, 2]}}}},
        asset_selection=frozenset({AssetKey("a"), AssetKey(["b", "c"])}),
        parent_run_id="p",
        root_run_id="p",
    )
    back = deserialize(serialize(run), Run)
    assert back == run
    assert back.run_config == {"ops": {"a": {"config": {"values": [1, 2]}}}}
    assert isinstance(back.asset_selection, frozenset)


# ---- statuses of in-process runs -----------------------------------------------------------


@asset
def fine() -> int:
    return 1


@asset
def broken() -> int:
    raise ValueError("no")


def test_successful_run_ends_in_success() -> None:
    result = materialize_to_memory([fine])
    assert result.success
    assert result.run.status is RunStatus.SUCCESS
    assert result.dagster_run is result.run


def test_failed_step_ends_the_run_in_failure() -> None:
    result = materialize_to_memory([fine, broken], raise_on_error=False)
    assert result.run.status is RunStatus.FAILURE
    assert result.events_of_type(EventType.RUN_FAILURE)


class Unreachable(ConfigurableResource):
    def setup_for_execution(self, context: InitResourceContext) -> None:
        raise ConnectionError("cannot connect")


@asset
def needs_it(service: Unreachable) -> int:
    return 1


def test_resource_that_fails_to_start_fails_the_run_without_steps() -> None:
    result = materialize_to_memory(
        [needs_it], resources={"service": Unreachable()}, raise_on_error=False
    )

    assert result.run.status is RunStatus.FAILURE
    assert [e.event_type.value for e in result.all_events] == [
        "ASSET_MATERIALIZATION_PLANNED",
        "RUN_START",
        "RUN_FAILURE",
    ]
    assert result.failed_step_keys == []
    assert isinstance(result.run_error, UserCodeError)
    assert "error while initializing resource 'service'" in str(result.run_error)
    with pytest.raises(UserCodeError, match="ConnectionError: cannot connect"):
        materialize_to_memory([needs_it], resources={"service": Unreachable()})
