"""Duty leases contended by real processes, on a SQLite file and on PostgreSQL.

1. Several processes take one lease in turn for many rounds; each logs ``enter`` and ``exit``
   around what it does under the lease, in one file they all append to. The log shows at most
   one holder at every moment, and no renewal by a process that did not hold the lease.
2. A holder is killed (SIGKILL) without releasing: at simulated times before its expiry
   nobody gets the lease; at its expiry several processes race and exactly one takes over.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest

from tests.storage.sql import lease_workers
from tests.storage.sql.lease_workers import LEASE, Where

PROCESSES = 4
ROUNDS = 30
T0 = 1_700_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Where:
    if request.param == "sqlite":
        spec: Where = ("sqlite", str(tmp_path / "knoll.db"), "")
    else:
        url: str = request.getfixturevalue("postgres_url")
        new_schema: Callable[[], str] = request.getfixturevalue("new_postgres_schema")
        spec = ("postgresql", url, new_schema())
    lease_workers.open_storage(spec).dispose()  # creates the tables before the race
    return spec


def _start(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[BaseProcess]:
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = [context.Process(target=target, args=a) for a in args]
    for process in processes:
        process.start()
    return processes


def _join(processes: list[BaseProcess], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    alive = [p.name for p in processes if p.is_alive()]
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
    assert alive == []
    assert [p.exitcode for p in processes] == [0] * len(processes)


def _check_one_holder_at_a_time(lines: list[str]) -> None:
    # only enter and exit lines: no renewal without the lease, no other holder stored
    assert {line.split()[0] for line in lines} <= {"enter", "exit"}
    holder: str | None = None
    for line in lines:
        what, owner = line.split()
        if what == "enter":
            assert holder is None, f"{owner} entered while {holder} held the lease"
            holder = owner
        else:
            assert holder == owner
            holder = None
    assert holder is None


def test_processes_taking_one_lease_in_turn_never_hold_it_together(
    where: Where, tmp_path: Path
) -> None:
    log = tmp_path / "holders.log"
    barrier = multiprocessing.get_context("spawn").Barrier(PROCESSES)
    owners = [f"daemon-{i}" for i in range(PROCESSES)]
    _join(
        _start(
            lease_workers.contend,
            [(where, owner, ROUNDS, str(log), barrier) for owner in owners],
        )
    )
    lines = log.read_text().splitlines()
    _check_one_holder_at_a_time(lines)
    entered = Counter(line.split()[1] for line in lines if line.startswith("enter"))
    assert entered == dict.fromkeys(owners, ROUNDS)


def test_a_killed_holder_is_taken_over_at_its_expiry_by_exactly_one_process(
    where: Where, tmp_path: Path
) -> None:
    log = tmp_path / "holders.log"
    (holder,) = _start(lease_workers.hold_until_killed, [(where, "first", T0, 10.0, str(log))])
    try:
        deadline = time.monotonic() + 120
        while not (log.exists() and log.read_text() == "holding first\n"):
            assert holder.is_alive()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        holder.kill()
        holder.join()
    storage = lease_workers.open_storage(where)
    try:
        # killed without releasing: before its expiry nobody takes it or renews it
        assert not storage.acquire_lease(LEASE, "second", 10, now=T0 + 9.9)
        assert not storage.renew_lease(LEASE, "second", 10, now=T0 + 9.9)
        lease = storage.get_lease(LEASE)
        assert lease is not None
        assert (lease.owner, lease.expires_at) == ("first", T0 + 10)

        # at its expiry, racing processes: exactly one takes it over
        log.unlink()
        barrier = multiprocessing.get_context("spawn").Barrier(PROCESSES)
        racers = [f"racer-{i}" for i in range(PROCESSES)]
        _join(
            _start(
                lease_workers.try_at,
                [(where, racer, T0 + 10, str(log), barrier) for racer in racers],
            )
        )
        results = sorted(line.split() for line in log.read_text().splitlines())
        winners = [owner for what, owner in results if what == "won"]
        assert len(winners) == 1
        assert len(results) == PROCESSES
        lease = storage.get_lease(LEASE)
        assert lease is not None
        assert (lease.owner, lease.acquired_at, lease.expires_at) == (winners[0], T0 + 10, T0 + 20)
        # the killed holder's lease is gone for good: it cannot renew it
        assert not storage.renew_lease(LEASE, "first", 10, now=T0 + 11)
    finally:
        storage.dispose()


def test_the_log_check_sees_two_holders_at_once() -> None:
    """The check above can fail: interleaved holders and stray lines are caught."""
    _check_one_holder_at_a_time(["enter a", "exit a", "enter b", "exit b"])
    with pytest.raises(AssertionError, match="b entered while a held the lease"):
        _check_one_holder_at_a_time(["enter a", "enter b", "exit a", "exit b"])
    with pytest.raises(AssertionError):
        _check_one_holder_at_a_time(["enter a", "renewed-without-holding b", "exit a"])
