"""`knoll daemon run` for real: a one-minute cron on the real clock, the daemon SIGKILLed at
each named point of a schedule tick and of a sensor tick then restarted, and two daemons for
a simulated day killed 50 times: no tick lost, no run made twice, no cursor behind a run."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from knoll.daemon.schedules import SCHEDULES_DUTY
from knoll.daemon.ticks import CRASH_ENV
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import InstigatorState, InstigatorStatus, InstigatorType, Tick, TickStatus
from tests.cli.helpers import knoll
from tests.daemon.helpers import PROJECT, at, make_home
from tests.daemon.processes import kill_daemon, start_daemon, wait_for

WAIT = 150.0  # seconds: only to avoid a hang, never an assertion about speed
LOC = "ticking"

SETTINGS = """run_queue:
  dequeue_interval_seconds: 0.2
  max_concurrent_runs: {max_runs}
run_monitoring:
  poll_interval_seconds: 0.5
daemon:
  lease_seconds: {lease}
schedules:
  interval_seconds: 0.1
  max_catchup_runs: {catchup}
sensors:
  interval_seconds: 0.1
"""


def _project(
    tmp_path: Path, backend: str, lease: float = 2, catchup: int = 5, max_runs: int = 10
) -> Iterator[Path]:
    shutil.copy(PROJECT / "ticking.py", tmp_path / "ticking.py")
    (tmp_path / "drop").mkdir()
    for home in make_home(tmp_path, backend):
        settings = home / "knoll.yaml"
        storage = settings.read_text() if settings.exists() else ""
        settings.write_text(
            storage + SETTINGS.format(lease=lease, catchup=catchup, max_runs=max_runs)
        )
        yield tmp_path


@pytest.fixture
def postgres_project(tmp_path: Path) -> Iterator[Path]:
    yield from _project(tmp_path, "postgres")


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Path]:
    yield from _project(tmp_path, "sqlite")


def _start(
    project: Path,
    *,
    clock_start: float | None = None,
    speed: float = 1.0,
    crash_at: str | None = None,
) -> subprocess.Popen[str]:
    args = ["-f", "ticking.py"]
    if clock_start is not None:
        args += ["--clock-start", repr(clock_start), "--clock-speed", repr(speed)]
    env = {"TICKING_DROP": str(project / "drop")}
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    return start_daemon(project, args, env)


def _kill(process: subprocess.Popen[str]) -> tuple[str, str]:
    return kill_daemon(process, WAIT)


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=WAIT)
    assert process.returncode == 0, err
    return out, err


def _wait(what: str, ready: Callable[[], bool], *processes: subprocess.Popen[str]) -> None:
    wait_for(what, ready, *processes, wait=WAIT)


def _runs_of(instance: Instance, tag: str, value: str) -> list[str]:
    records = instance.storage.get_runs(limit=10_000).records
    return sorted(r.run.run_id for r in records if r.run.tags.get(tag) == value)


def _all_succeeded(instance: Instance, run_ids: list[str]) -> Callable[[], bool]:
    def done() -> bool:
        records = [instance.storage.get_run(run_id) for run_id in run_ids]
        return all(r is not None and r.run.status is RunStatus.SUCCESS for r in records)

    return done


def _set_status(instance: Instance, name: str, kind: InstigatorType, running: bool) -> None:
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    instance.storage.set_instigator_state(InstigatorState(LOC, name, kind, status))


def test_a_one_minute_cron_runs_on_the_real_clock(sqlite_project: Path) -> None:
    project = sqlite_project
    env = {"TICKING_DROP": str(project / "drop")}
    started = knoll("schedule", "start", "every_minute", "-f", "ticking.py", cwd=project, env=env)
    assert started.returncode == 0, started.stderr
    daemon = _start(project)
    try:
        with Instance.get(project / ".knoll") as instance:
            _wait(
                "a run of every_minute succeeding",
                lambda: (
                    bool(_runs_of(instance, "knoll/schedule_name", "every_minute"))
                    and _all_succeeded(
                        instance, _runs_of(instance, "knoll/schedule_name", "every_minute")
                    )()
                ),
                daemon,
            )
            [tick] = [
                t
                for t in instance.storage.get_ticks(LOC, "every_minute")
                if t.status is TickStatus.SUCCESS
            ][-1:]
            assert tick.timestamp % 60 == 0  # on a minute
            assert tick.started_timestamp is not None
            assert tick.started_timestamp >= tick.timestamp
    finally:
        _stop(daemon)
    ticks = knoll("schedule", "ticks", "every_minute", cwd=project)
    assert ticks.returncode == 0, ticks.stderr
    assert ticks.stdout.splitlines()[0].split()[:3] == ["TIME", "STATUS", "RUNS"]
    assert " SUCCESS " in ticks.stdout


_SCHEDULE_POINTS = ["claimed", "evaluated", "run_created", "before_commit"]


@pytest.mark.parametrize("point", _SCHEDULE_POINTS)
def test_a_daemon_killed_mid_schedule_tick_loses_nothing_and_makes_nothing_twice(
    sqlite_project: Path, point: str
) -> None:
    _crash_mid_schedule_tick(sqlite_project, point)


def test_a_daemon_killed_mid_schedule_tick_on_postgres(postgres_project: Path) -> None:
    _crash_mid_schedule_tick(postgres_project, "run_created")


def _crash_mid_schedule_tick(project: Path, point: str) -> None:
    tick_time = at("2030-01-01 06:00")
    with Instance.get(project / ".knoll") as instance:
        for sensor in ("new_files", "landing", "failures"):  # only the schedule ticks here
            _set_status(instance, sensor, InstigatorType.SENSOR, running=False)
        # running since a minute before the tick, however long the daemon takes to start
        instance.storage.set_instigator_state(
            InstigatorState(
                LOC,
                "hourly",
                InstigatorType.SCHEDULE,
                InstigatorStatus.RUNNING,
                repr(tick_time - 60),
            )
        )
        first = _start(project, clock_start=tick_time - 1.5, crash_at=f"schedule:{point}")
        first.wait(timeout=WAIT)
        assert first.returncode == -signal.SIGKILL, _kill(first)
        _kill(first)  # its code server too
        [left] = instance.storage.get_ticks(LOC, "hourly")
        assert left.status is TickStatus.STARTED  # killed before the tick ended

        second = _start(project, clock_start=tick_time + 5)
        try:
            _wait(
                "the tick carried on",
                lambda: _tick_of(instance, left.tick_key).is_finished,
                second,
            )
            runs = _runs_of(instance, "knoll/schedule_name", "hourly")
            _wait("its run succeeding", _all_succeeded(instance, runs), second)
        finally:
            _stop(second)
        ticks = instance.storage.get_ticks(LOC, "hourly")
        tick = _tick_of(instance, left.tick_key)
        # any other tick may only be a FAILURE that launched nothing (a read of the code
        # server that failed on a loaded machine, say); the failure shows what it was
        others = [(t.status, t.run_ids, t.error) for t in ticks if t.tick_id != tick.tick_id]
        assert all(s is TickStatus.FAILURE and not r for s, r, _ in others), others
        assert (tick.tick_id, tick.status) == (left.tick_id, TickStatus.SUCCESS)
        assert list(tick.run_ids) == runs
        assert len(runs) == 1
        state = instance.storage.get_instigator_state(LOC, "hourly")
        assert state is not None
        assert float(state.cursor or 0) == tick_time


def _tick_of(instance: Instance, tick_key: str | None) -> Tick:
    [tick] = [t for t in instance.storage.get_ticks(LOC, "hourly") if t.tick_key == tick_key]
    return tick


_SENSOR_POINTS = ["claimed", "evaluated", "run_created", "before_commit"]


@pytest.mark.parametrize("point", _SENSOR_POINTS)
def test_a_daemon_killed_mid_sensor_tick_keeps_runs_and_cursor_exact(
    sqlite_project: Path, point: str
) -> None:
    _crash_mid_sensor_tick(sqlite_project, point)


def test_a_daemon_killed_mid_sensor_tick_on_postgres(postgres_project: Path) -> None:
    _crash_mid_sensor_tick(postgres_project, "before_commit")


def _crash_mid_sensor_tick(project: Path, point: str) -> None:
    for name in ("a.csv", "b.csv"):
        (project / "drop" / name).write_text(name)
    with Instance.get(project / ".knoll") as instance:
        for schedule in ("hourly", "nightly_ny", "events_job_schedule", "broken_schedule"):
            _set_status(instance, schedule, InstigatorType.SCHEDULE, running=False)
        for sensor in ("landing", "failures"):  # only new_files ticks here
            _set_status(instance, sensor, InstigatorType.SENSOR, running=False)
        first = _start(project, crash_at=f"sensor:{point}")
        first.wait(timeout=WAIT)
        assert first.returncode == -signal.SIGKILL, _kill(first)
        _kill(first)
        [left] = instance.storage.get_ticks(LOC, "new_files")
        assert left.status is TickStatus.STARTED
        state = instance.storage.get_instigator_state(LOC, "new_files")
        assert state is None or state.cursor is None  # not before the tick's runs were made

        second = _start(project)
        try:
            _wait(
                "the tick carried on",
                lambda: instance.storage.get_ticks(LOC, "new_files", limit=5)[-1].is_finished,
                second,
            )
            runs = _runs_of(instance, "knoll/sensor_name", "new_files")
            _wait("its runs succeeding", _all_succeeded(instance, runs), second)
        finally:
            _stop(second)
        ticks = instance.storage.get_ticks(LOC, "new_files", limit=100)
        carried = next(t for t in ticks if t.tick_id == left.tick_id)
        assert (carried.status, carried.run_keys, carried.cursor) == (
            TickStatus.SUCCESS,
            ("a.csv", "b.csv"),
            "b.csv",
        )
        assert all(t.status is not TickStatus.STARTED for t in ticks)
        records = [instance.storage.get_run(run_id) for run_id in runs]
        assert sorted(r.run.tags["file"] for r in records if r is not None) == ["a.csv", "b.csv"]
        state = instance.storage.get_instigator_state(LOC, "new_files")
        assert state is not None
        assert state.cursor == "b.csv"


def test_two_daemons_killed_50_times_in_a_simulated_day_tick_every_time_once(
    tmp_path: Path,
) -> None:
    """A day of a quarter-hourly schedule at 1440 times the real speed (a minute), two
    daemons on one instance, the one holding the schedules' lease SIGKILLed 50 times and
    restarted: every one of the day's 96 ticks ran exactly once."""
    # the runs stay QUEUED (no room to start): what is checked is that each was made once
    project = next(_project(tmp_path, "sqlite", lease=1, catchup=1000, max_runs=0))
    speed = 1440.0
    day = at("2030-03-01 00:00")
    with Instance.get(project / ".knoll") as instance:
        for schedule in ("hourly", "nightly_ny", "events_job_schedule", "broken_schedule"):
            _set_status(instance, schedule, InstigatorType.SCHEDULE, running=False)
        for sensor in ("new_files", "landing", "failures"):
            _set_status(instance, sensor, InstigatorType.SENSOR, running=False)
        instance.storage.set_instigator_state(
            InstigatorState(
                LOC, "quarter_hourly", InstigatorType.SCHEDULE, InstigatorStatus.RUNNING, repr(day)
            )
        )
        origin = time.monotonic()

        def simulated_now() -> float:
            return day + (time.monotonic() - origin) * speed

        end = day + 24 * 3600
        daemons = [_start(project, clock_start=day, speed=speed) for _ in range(2)]
        chooser = random.Random(20300301)
        kills = 0
        try:
            while kills < 50:
                time.sleep(chooser.uniform(0.3, 1.1))
                victim = _holder(instance, daemons)
                if victim is None:  # between holders: kill either
                    victim = chooser.randrange(2)
                _kill(daemons[victim])
                kills += 1
                daemons[victim] = _start(project, clock_start=simulated_now(), speed=speed)
            simulated_kill_end = simulated_now()
            _wait(
                "the day's last tick",
                lambda: any(
                    t.timestamp == end and t.is_finished
                    for t in instance.storage.get_ticks(LOC, "quarter_hourly", limit=10_000)
                ),
                *daemons,
            )
        finally:
            for process in daemons:
                _kill(process)
        ticks = [
            t
            for t in instance.storage.get_ticks(LOC, "quarter_hourly", limit=10_000)
            if t.timestamp <= end
        ]
        expected = [day + 900 * n for n in range(1, 97)]
        assert sorted(t.timestamp for t in ticks) == expected  # each once, none lost
        assert {t.status for t in ticks} == {TickStatus.SUCCESS}
        run_ids = [run_id for t in ticks for run_id in t.run_ids]
        assert len(run_ids) == len(set(run_ids)) == 96
        made = _runs_of(instance, "knoll/schedule_name", "quarter_hourly")
        assert set(run_ids) <= set(made)
        assert len(made) == len(set(made))
        assert all(len(t.run_ids) == 1 for t in ticks)
        assert kills == 50
        assert simulated_kill_end <= end  # the kills were spread over the day


def _holder(instance: Instance, daemons: list[subprocess.Popen[str]]) -> int | None:
    """Which of ``daemons`` holds the schedules' lease now (None: none of them, yet)."""
    lease = instance.get_lease(SCHEDULES_DUTY)
    if lease is None or not lease.is_held(time.time()):
        return None
    pids = {
        beat.daemon_id: beat.info.get("pid")
        for beat in instance.storage.get_daemon_heartbeats()
        if beat.duty == SCHEDULES_DUTY
    }
    pid = pids.get(lease.owner)
    for index, process in enumerate(daemons):
        if str(process.pid) == pid:
            return index
    return None
