"""Concurrency pools during runs: a pooled step holds a slot while it runs, in both executors."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from knoll import AssetExecutionContext, Definitions, EventType, asset, define_asset_job
from knoll.defs.executor import multiprocess_executor
from knoll.defs.job import JobDefinition
from knoll.execution.executor import execute_in_process
from knoll.execution.pools import SlotClaims, SlotKeeper
from knoll.execution.reexecution import execute_job
from knoll.execution.result import ExecuteInProcessResult
from knoll.instance import Instance
from knoll.storage.memory import InMemoryStorage

WAIT_TEXT = "waits for a slot of concurrency pool 'db'"


def _pooled(marks: Path, names: list[str], *, pool: str = "db", fail: str = "") -> list[Any]:
    """Assets in ``pool`` that each write their start and end time to a file in ``marks``."""

    def make(name: str) -> Any:
        @asset(name=name, pool=pool)
        def _step(context: AssetExecutionContext) -> int:
            start = time.time()
            time.sleep(0.2)  # long enough that unpooled steps of parallel runs would overlap
            if name == fail:
                raise ValueError(f"{name} broke")
            (marks / f"{context.run_id}-{name}").write_text(f"{start} {time.time()}")
            return 1

        return _step

    return [make(n) for n in names]


def _job(marks: Path, names: list[str], executor: Any = None, fail: str = "") -> JobDefinition:
    defs = Definitions(
        assets=_pooled(marks, names, fail=fail),
        jobs=[define_asset_job("all", selection="*")],
        executor=executor,
    )
    return defs.get_job_def("all")


def _intervals(marks: Path) -> list[tuple[float, float]]:
    out = []
    for path in marks.iterdir():
        start, end = path.read_text().split()
        out.append((float(start), float(end)))
    return out


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    # an end sorts before a start at the same instant: touching intervals do not overlap
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = most = 0
    for _, change in points:
        running += change
        most = max(most, running)
    return most


def _run_in_child(home: str, marks: str, prefix: str) -> None:
    job = _job(Path(marks), [f"{prefix}_one", f"{prefix}_two"])
    with Instance.get(home) as instance:
        result = execute_job(job, instance)
    sys.exit(0 if result.success else 1)


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    folder = tmp_path / "marks"
    folder.mkdir()
    return folder


def test_two_runs_never_run_steps_of_a_one_slot_pool_at_once(tmp_path: Path, marks: Path) -> None:
    home = str(tmp_path / "home")
    with Instance.get(home) as instance:
        instance.storage.set_pool_limit("db", 1)
    # closed before forking: the runs open the instance in their own processes
    context = multiprocessing.get_context("fork")
    runs = [
        context.Process(target=_run_in_child, args=(home, str(marks), prefix))
        for prefix in ("left", "right")
    ]
    for process in runs:
        process.start()
    for process in runs:
        process.join(timeout=120)
    assert [p.exitcode for p in runs] == [0, 0]
    intervals = _intervals(marks)
    assert len(intervals) == 4
    assert _most_at_once(intervals) == 1
    with Instance.get(home) as instance:
        assert instance.storage.get_pool_slots("db") == []
        assert instance.storage.get_pool_limits() == {"db": 1}


def _start_in_thread(
    fn: Callable[[], ExecuteInProcessResult],
) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(fn()))
    thread.start()
    return thread, box


def _wait_for_event(instance: Instance, run_id: str, text: str) -> list[EventType]:
    """The run's event types once one of its events says ``text`` (fails after a minute)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            events = [r.event for r in instance.get_events(run_id).records]
        except Exception:  # the run is not stored yet
            events = []
        if any(text in e.message for e in events):
            return [e.event_type for e in events]
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never logged {text!r}")


@pytest.mark.parametrize("executor", [None, multiprocess_executor(max_concurrent=2)])
def test_a_step_waits_for_a_full_pool_and_says_so(
    tmp_path: Path, marks: Path, executor: Any
) -> None:
    job = _job(marks, ["first"], executor)
    with Instance.get(tmp_path / "home") as instance:
        storage = instance.storage
        storage.set_pool_limit("db", 1)
        assert storage.claim_slot("db", "someone-else", "their_step", 60)
        run_id = "pooled-run-0001"
        thread, box = _start_in_thread(
            lambda: execute_in_process(
                job, instance=instance, run_id=run_id, use_executor=True, raise_on_error=False
            )
        )
        try:
            seen = _wait_for_event(instance, run_id, WAIT_TEXT)
            # waiting is not running: the step has not started while the pool is full
            assert EventType.STEP_START not in seen
            assert list(marks.iterdir()) == []
        finally:
            storage.release_slot("db", "someone-else", "their_step")
            thread.join(timeout=120)
        result = box[0]
        assert result.success
        messages = [e.message for e in result.all_events if e.step_key == "first"]
        waiting = next(m for m in messages if WAIT_TEXT in m)
        assert waiting == (
            "asset 'first' waits for a slot of concurrency pool 'db' (limit 1, every slot in "
            "use); it starts when another step of the pool finishes (see `knoll instance pool "
            "list`)."
        )
        types = [e.event_type for e in result.all_events if e.step_key == "first"]
        assert types.index(EventType.LOG_MESSAGE) < types.index(EventType.STEP_START)
        assert storage.get_pool_slots("db") == []


def test_the_multiprocess_executor_keeps_a_pool_to_its_limit(tmp_path: Path, marks: Path) -> None:
    names = [f"step{i}" for i in range(8)]
    job = _job(marks, names, multiprocess_executor(max_concurrent=4))
    with Instance.get(tmp_path / "home") as instance:
        instance.storage.set_pool_limit("db", 2)
        result = execute_job(job, instance)
        assert result.success
        assert instance.storage.get_pool_slots("db") == []
    intervals = _intervals(marks)
    assert len(intervals) == 8
    assert 1 <= _most_at_once(intervals) <= 2


@pytest.mark.parametrize("executor", [None, multiprocess_executor(max_concurrent=2)])
def test_a_failed_step_frees_its_slot(tmp_path: Path, marks: Path, executor: Any) -> None:
    job = _job(marks, ["good", "bad"], executor, fail="bad")
    with Instance.get(tmp_path / "home") as instance:
        instance.storage.set_pool_limit("db", 1)
        result = execute_job(job, instance)
        assert not result.success
        assert [e.step_key for e in result.all_events if e.event_type is EventType.STEP_FAILURE]
        assert instance.storage.get_pool_slots("db") == []
        # the slot is free for the next run
        again = execute_job(_job(marks, ["good"], executor), instance)
        assert again.success


def test_a_pool_without_a_limit_or_an_instance_does_not_wait(tmp_path: Path, marks: Path) -> None:
    job = _job(marks, ["one", "two"])
    with Instance.get(tmp_path / "home") as instance:
        result = execute_job(job, instance)
        assert result.success
        assert not any(WAIT_TEXT in e.message for e in result.all_events)
        assert instance.storage.get_pool_limits() == {}
    alone = execute_in_process(job)
    assert alone.success
    assert len(_intervals(marks)) == 4


def test_the_keeper_renews_its_leases_and_frees_them_at_the_end() -> None:
    storage = InMemoryStorage()
    storage.set_pool_limit("db", 1)
    assert isinstance(storage, SlotClaims)
    assert not isinstance(object(), SlotClaims)
    keeper = SlotKeeper(storage, "run-1", lease_seconds=30)
    assert keeper.try_claim("db", "a")
    assert not keeper.try_claim("db", "b")
    before = storage.get_pool_slots("db")[0].expires_at
    time.sleep(0.01)
    keeper.renew()
    assert storage.get_pool_slots("db")[0].expires_at > before
    keeper.close()
    assert storage.get_pool_slots("db") == []
    assert keeper.held == set()


def test_an_expired_lease_is_taken_again_when_there_is_room() -> None:
    storage = InMemoryStorage()
    storage.set_pool_limit("db", 1)
    keeper = SlotKeeper(storage, "run-1", lease_seconds=0.01)
    assert keeper.try_claim("db", "a")
    time.sleep(0.05)
    assert storage.get_pool_slots("db") == []  # expired: another step could take it now
    keeper.renew()
    [slot] = storage.get_pool_slots("db")
    assert (slot.run_id, slot.step_key) == ("run-1", "a")
