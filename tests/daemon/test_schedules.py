"""The ``schedules`` duty against a real code server and real storage: cron ticks in their
timezone, once each, the right partition, catch-up after downtime bounded by
max_catchup_runs, failures recorded on the tick, stopped schedules left alone, and a broken
location's error on its ticks while the other location ticks on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.workspace import WorkspaceProcesses
from knoll.daemon import PassErrors
from knoll.daemon.clock import ManualClock
from knoll.daemon.schedules import ScheduleDuty
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import InstigatorState, InstigatorStatus, InstigatorType, TickStatus
from tests.daemon.helpers import at, make_home, ticking_servers

LOC = "ticking"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkspaceProcesses]:
    with ticking_servers(tmp_path_factory.mktemp("drop"), broken=True) as processes:
        yield processes


@pytest.fixture(params=["sqlite", "postgres"])
def instance(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    for home in make_home(tmp_path, request.param):
        with Instance.get(home) as opened:
            yield opened


def _duty(
    instance: Instance, servers: WorkspaceProcesses, clock: ManualClock, catchup: int = 5
) -> ScheduleDuty:
    clients = {LOC: servers.client(LOC)}
    return ScheduleDuty(
        instance, clients, str(instance.home), max_catchup_runs=catchup, clock=clock
    )


def _pass(duty: ScheduleDuty) -> None:
    """One pass; the broken_schedule's failure is in its tick, not an error of the pass."""
    duty.one_pass()


def _ticks(instance: Instance, name: str) -> list[tuple[str, TickStatus, int]]:
    """Oldest first: (tick key, status, number of runs)."""
    ticks = reversed(instance.storage.get_ticks(LOC, name, limit=1000))
    return [(t.tick_key or "", t.status, len(t.run_ids)) for t in ticks]


def test_a_running_schedule_ticks_once_at_each_cron_time(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    clock = ManualClock(at("2024-05-01 05:20"))
    duty = _duty(instance, servers, clock)
    _pass(duty)  # first sight: the schedule starts from now, history is not ticked
    assert _ticks(instance, "hourly") == []
    clock.set(at("2024-05-01 07:00"))
    _pass(duty)
    _pass(duty)  # nothing more is due
    assert _ticks(instance, "hourly") == [
        ("2024-05-01T06:00:00+00:00", TickStatus.SUCCESS, 1),
        ("2024-05-01T07:00:00+00:00", TickStatus.SUCCESS, 1),
    ]
    tick = instance.storage.get_ticks(LOC, "hourly", limit=1)[0]
    assert tick.timestamp == at("2024-05-01 07:00")
    assert tick.started_timestamp == tick.end_timestamp == at("2024-05-01 07:00")
    record = instance.storage.get_run(tick.run_ids[0])
    assert record is not None
    assert record.run.status is RunStatus.QUEUED  # the run queue starts it
    assert record.run.job_name == "orders_job"
    assert record.run.tags["knoll/schedule_name"] == "hourly"
    assert record.run.tags["knoll/tick"] == str(tick.tick_id)
    assert record.run.tags["knoll/location"] == LOC
    assert record.run.tags["team"] == "sales"
    state = instance.storage.get_instigator_state(LOC, "hourly")
    assert state is not None
    assert float(state.cursor or 0) == at("2024-05-01 07:00")


def test_a_partitioned_schedule_requests_the_day_that_ended(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    clock = ManualClock(at("2024-05-01 00:30"))
    duty = _duty(instance, servers, clock)
    _pass(duty)
    clock.set(at("2024-05-01 01:00"))
    _pass(duty)
    [tick] = instance.storage.get_ticks(LOC, "events_job_schedule")
    record = instance.storage.get_run(tick.run_ids[0])
    assert record is not None
    assert record.run.tags["knoll/partition"] == "2024-04-30"


def test_a_schedule_in_new_york_follows_its_clock_across_the_dst_change(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    # 2024-03-10: clocks in New York jump from 02:00 to 03:00, so 02:30 does not exist that
    # day; the tick runs once, at 03:00 EDT (07:00 UTC), as Dagster does
    clock = ManualClock(at("2024-03-08 12:00"))
    duty = _duty(instance, servers, clock)
    _pass(duty)
    clock.set(at("2024-03-11 12:00"))
    _pass(duty)
    assert [key for key, _, _ in _ticks(instance, "nightly_ny")] == [
        "2024-03-09T07:30:00+00:00",  # 02:30 EST
        "2024-03-10T07:00:00+00:00",  # 03:00 EDT: 02:30 did not exist
        "2024-03-11T06:30:00+00:00",  # 02:30 EDT
    ]


def test_after_downtime_only_max_catchup_runs_ticks_run_and_the_rest_say_why(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    clock = ManualClock(at("2024-05-01 00:10"))
    duty = _duty(instance, servers, clock, catchup=3)
    _pass(duty)
    clock.set(at("2024-05-01 10:10"))  # ten hourly ticks were missed
    _pass(duty)
    ticks = _ticks(instance, "hourly")
    assert [status for _, status, _ in ticks] == [TickStatus.SKIPPED] * 7 + [TickStatus.SUCCESS] * 3
    assert [key[11:16] for key, _, _ in ticks[-3:]] == ["08:00", "09:00", "10:00"]
    skipped = instance.storage.get_ticks(LOC, "hourly", limit=1000)[-1]
    assert skipped.skip_reason is not None
    assert "10 ticks were due at once" in skipped.skip_reason
    assert "max_catchup_runs (3)" in skipped.skip_reason
    hourly_runs = [
        r
        for r in instance.storage.get_runs(limit=1000).records
        if r.run.tags.get("knoll/schedule_name") == "hourly"
    ]
    assert len(hourly_runs) == 3  # the skipped ticks made none


def test_a_schedule_that_raises_records_the_error_and_moves_on(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    clock = ManualClock(at("2024-05-01 00:00"))
    duty = _duty(instance, servers, clock)
    _pass(duty)
    clock.set(at("2024-05-01 02:00"))
    _pass(duty)
    ticks = instance.storage.get_ticks(LOC, "broken_schedule")
    assert [t.status for t in ticks] == [TickStatus.FAILURE, TickStatus.FAILURE]
    assert "the warehouse is closed" in (ticks[0].error or "")
    assert "broken_schedule" in (ticks[0].error or "")
    assert ticks[0].run_ids == ()
    assert [status for _, status, _ in _ticks(instance, "hourly")] == [TickStatus.SUCCESS] * 2


def test_a_stopped_schedule_does_not_tick_and_starts_from_when_it_is_started(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    clock = ManualClock(at("2024-05-01 00:00"))
    duty = _duty(instance, servers, clock)
    _pass(duty)
    clock.set(at("2024-05-01 01:00"))
    _pass(duty)
    assert _ticks(instance, "stopped") == []
    instance.storage.set_instigator_state(
        InstigatorState(
            LOC,
            "stopped",
            InstigatorType.SCHEDULE,
            InstigatorStatus.RUNNING,
            repr(at("2024-05-01 01:02")),
        )
    )
    clock.set(at("2024-05-01 01:11"))
    _pass(duty)
    assert [key[11:16] for key, _, _ in _ticks(instance, "stopped")] == ["01:05", "01:10"]
    # stopping it again: the hourly one goes on, the stopped one does not
    instance.storage.set_instigator_state(
        InstigatorState(LOC, "stopped", InstigatorType.SCHEDULE, InstigatorStatus.STOPPED)
    )
    clock.set(at("2024-05-01 02:00"))
    _pass(duty)
    assert len(_ticks(instance, "stopped")) == 2
    assert len(_ticks(instance, "hourly")) == 2


def test_a_tick_left_started_is_carried_on_without_a_second_run(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    """What a daemon killed after creating a tick's run leaves behind is finished by the next
    pass (or the next daemon): the same tick, the same run, nothing twice."""
    from knoll._serdes import serialize

    clock = ManualClock(at("2024-05-01 05:30"))
    duty = _duty(instance, servers, clock)
    _pass(duty)
    key = "2024-05-01T06:00:00+00:00"
    tick = instance.storage.claim_tick(
        LOC, "hourly", InstigatorType.SCHEDULE, key, at("2024-05-01 06:00")
    )
    from datetime import UTC, datetime

    evaluation = servers.client(LOC).evaluate_schedule(
        "hourly", datetime.fromtimestamp(at("2024-05-01 06:00"), UTC)
    )
    instance.storage.record_tick_evaluation(tick.tick_id, serialize(evaluation))
    clock.set(at("2024-05-01 06:01"))
    _pass(duty)
    _pass(duty)
    assert _ticks(instance, "hourly") == [(key, TickStatus.SUCCESS, 1)]
    assert instance.storage.count_runs() == 1


def test_a_broken_location_fails_its_running_schedules_once_and_the_other_goes_on(
    instance: Instance, servers: WorkspaceProcesses
) -> None:
    clock = ManualClock(at("2024-05-01 00:30"))
    clients = {LOC: servers.client(LOC), "broken": servers.client("broken")}
    instance.storage.set_instigator_state(
        InstigatorState("broken", "nightly", InstigatorType.SCHEDULE, InstigatorStatus.RUNNING, "0")
    )
    duty = ScheduleDuty(instance, clients, str(instance.home), clock=clock)
    with pytest.raises(PassErrors, match="location 'broken'"):
        duty.one_pass()
    clock.set(at("2024-05-01 01:00"))
    with pytest.raises(PassErrors, match="cannot be imported"):
        duty.one_pass()
    [failed] = instance.storage.get_ticks("broken", "nightly")  # recorded once, not per pass
    assert failed.status is TickStatus.FAILURE
    assert "code location 'broken' could not be read" in (failed.error or "")
    assert "cannot be imported" in (failed.error or "")
    assert [status for _, status, _ in _ticks(instance, "hourly")] == [TickStatus.SUCCESS]
