"""The ``sensors`` duty against a real code server and real storage: minimum intervals, run
keys that launch one run ever, runs without a key once per tick, the cursor committed with
the tick, dynamic partitions added before their runs, and a tick left half-done carried on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.workspace import WorkspaceProcesses
from knoll.daemon.clock import ManualClock
from knoll.daemon.sensors import SensorDuty
from knoll.instance import Instance
from knoll.storage.base import InstigatorState, InstigatorStatus, InstigatorType, TickStatus
from tests.daemon.helpers import at, make_home, ticking_servers

LOC = "ticking"


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    return tmp_path / "drop"


@pytest.fixture
def servers(drop: Path) -> Iterator[WorkspaceProcesses]:
    with ticking_servers(drop) as processes:
        yield processes


@pytest.fixture(params=["sqlite", "postgres"])
def instance(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    for home in make_home(tmp_path, request.param):
        with Instance.get(home) as opened:
            yield opened


def _duty(instance: Instance, servers: WorkspaceProcesses, clock: ManualClock) -> SensorDuty:
    return SensorDuty(instance, {LOC: servers.client(LOC)}, str(instance.home), clock=clock)


def _statuses(instance: Instance, name: str) -> list[TickStatus]:
    return [t.status for t in reversed(instance.storage.get_ticks(LOC, name, limit=1000))]


def _files_of_runs(instance: Instance) -> list[str]:
    """The files of the runs that sensor new_files made."""
    records = instance.storage.get_runs(limit=1000).records
    return sorted(
        r.run.tags["file"] for r in records if r.run.tags.get("knoll/sensor_name") == "new_files"
    )


def test_a_run_key_launches_one_run_ever_and_the_cursor_follows_the_ticks(
    instance: Instance, servers: WorkspaceProcesses, drop: Path
) -> None:
    clock = ManualClock(at("2024-05-01 00:00"))
    duty = _duty(instance, servers, clock)
    duty.one_pass()
    assert _statuses(instance, "new_files") == [TickStatus.SKIPPED]
    skipped = instance.storage.get_ticks(LOC, "new_files")[0]
    assert skipped.skip_reason == "no file after the start"
    (drop / "a.csv").write_text("1")
    (drop / "b.csv").write_text("2")
    clock.advance(10)
    duty.one_pass()  # within minimum_interval_seconds (30): not evaluated
    assert len(_statuses(instance, "new_files")) == 1
    clock.advance(25)
    duty.one_pass()
    tick = instance.storage.get_ticks(LOC, "new_files")[0]
    assert (tick.status, tick.run_keys, tick.cursor) == (
        TickStatus.SUCCESS,
        ("a.csv", "b.csv"),
        "b.csv",
    )
    state = instance.storage.get_instigator_state(LOC, "new_files")
    assert state is not None
    assert state.cursor == "b.csv"
    assert _files_of_runs(instance) == ["a.csv", "b.csv"]
    record = instance.storage.get_run(tick.run_ids[0])
    assert record is not None
    assert record.run.tags["knoll/run_key"] == "a.csv"
    assert record.run.tags["knoll/sensor_name"] == "new_files"

    # the cursor is moved back by hand: the same run keys come again, and launch nothing
    instance.storage.set_instigator_state(
        InstigatorState(LOC, "new_files", InstigatorType.SENSOR, InstigatorStatus.RUNNING, "")
    )
    clock.advance(31)
    duty.one_pass()
    again = instance.storage.get_ticks(LOC, "new_files")[0]
    assert again.status is TickStatus.SKIPPED
    assert again.skip_reason is not None
    assert "run key that an earlier tick used ('a.csv', 'b.csv')" in again.skip_reason
    assert _files_of_runs(instance) == ["a.csv", "b.csv"]


def test_a_request_without_a_run_key_runs_once_per_tick(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    clock = ManualClock(at("2024-05-01 00:00"))
    duty = _duty(instance, servers, clock)
    duty.one_pass()
    assert _statuses(instance, "every_tick") == []  # stopped by default
    instance.storage.set_instigator_state(
        InstigatorState(LOC, "every_tick", InstigatorType.SENSOR, InstigatorStatus.RUNNING)
    )
    for _ in range(3):
        duty.one_pass()
        duty.one_pass()  # within its interval: nothing
        clock.advance(10)
    ticks = instance.storage.get_ticks(LOC, "every_tick")
    assert [t.status for t in ticks] == [TickStatus.SUCCESS] * 3
    assert len({t.run_ids[0] for t in ticks}) == 3
    assert [t.tick_key for t in reversed(ticks)] == [
        "after:0",
        f"after:{ticks[2].tick_id}",
        f"after:{ticks[1].tick_id}",
    ]


def test_dynamic_partitions_are_added_before_their_runs(
    instance: Instance, servers: WorkspaceProcesses, drop: Path
) -> None:
    (drop / "2024-05-01.csv").write_text("1")
    clock = ManualClock(at("2024-05-01 00:00"))
    duty = _duty(instance, servers, clock)
    duty.one_pass()
    assert list(instance.storage.get_dynamic_partitions("files")) == ["2024-05-01"]
    [tick] = instance.storage.get_ticks(LOC, "landing")
    record = instance.storage.get_run(tick.run_ids[0])
    assert record is not None
    assert record.run.tags["knoll/partition"] == "2024-05-01"
    clock.advance(11)
    duty.one_pass()  # the partition is known now: nothing new
    assert instance.storage.get_ticks(LOC, "landing")[0].status is TickStatus.SKIPPED


def test_a_tick_left_after_its_first_run_is_finished_with_the_same_runs(
    instance: Instance, servers: WorkspaceProcesses, drop: Path
) -> None:
    """A daemon that died after storing the first run of a tick (before the cursor was
    committed) leaves a STARTED tick with its evaluation: the next pass makes only the
    missing run, and commits the cursor of that evaluation."""
    from dataclasses import replace

    from knoll._serdes import serialize
    from knoll.daemon.ticks import TICK_TAG
    from knoll.execution.run import RunStatus, derived_run_id
    from knoll.instance.launcher import LaunchRequest

    (drop / "a.csv").write_text("1")
    (drop / "b.csv").write_text("2")
    client = servers.client(LOC)
    tick = instance.storage.claim_tick(LOC, "new_files", InstigatorType.SENSOR, "after:0", 1.0)
    evaluation = client.evaluate_sensor("new_files", instance_home=str(instance.home))
    instance.storage.record_tick_evaluation(tick.tick_id, serialize(evaluation))
    first = evaluation.run_requests[0]
    run = client.build_run(
        LaunchRequest(
            job_name=first.job_name,
            tags={**first.tags, TICK_TAG: str(tick.tick_id), "knoll/run_key": "a.csv"},
            run_id=derived_run_id(LOC, "new_files", "key", "a.csv"),
        ),
        str(instance.home),
    )
    instance.submit_run(replace(run, status=RunStatus.QUEUED))
    (drop / "c.csv").write_text("3")  # a new evaluation would see it: the recorded one does not

    duty = _duty(instance, servers, ManualClock(at("2024-05-01 00:00")))
    duty.one_pass()
    [done] = instance.storage.get_ticks(LOC, "new_files")
    assert (done.tick_id, done.status, done.run_keys) == (
        tick.tick_id,
        TickStatus.SUCCESS,
        ("a.csv", "b.csv"),
    )
    assert _files_of_runs(instance) == ["a.csv", "b.csv"]
    state = instance.storage.get_instigator_state(LOC, "new_files")
    assert state is not None
    assert state.cursor == "b.csv"
