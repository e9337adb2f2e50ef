"""Code that the lease tests run in other processes (started with ``spawn``)."""

from __future__ import annotations

import os
import threading
from multiprocessing.synchronize import Barrier
from pathlib import Path

from knoll.storage.sql import SqlStorage

LEASE = "schedules"
Where = tuple[str, str, str]  # ("sqlite", path, "") or ("postgresql", url, schema)


def open_storage(where: Where) -> SqlStorage:
    kind, target, schema = where
    if kind == "sqlite":
        return SqlStorage.sqlite(Path(target))
    return SqlStorage.postgres(target, schema=schema, pool_size=1)


def append(log: str, line: str) -> None:
    """One ``write`` on a file opened for appending: lines of several processes never mix."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


def contend(where: Where, owner: str, rounds: int, log: str, barrier: Barrier) -> None:
    """Hold the lease ``rounds`` times, each time logging ``enter`` and ``exit`` around the
    work done under it; between rounds, try to renew a lease this process does not hold."""
    storage = open_storage(where)
    try:
        barrier.wait(120)
        held = 0
        while held < rounds:
            if not storage.acquire_lease(LEASE, owner, 60):
                # someone else holds it: renewing it must be refused
                if storage.renew_lease(LEASE, owner, 60):
                    append(log, f"renewed-without-holding {owner}")
                continue
            append(log, f"enter {owner}")
            lease = storage.get_lease(LEASE)
            if lease is None or lease.owner != owner:
                append(log, f"stored-holder-differs {owner}")
            if not storage.renew_lease(LEASE, owner, 60):  # the holder's heartbeat
                append(log, f"renew-refused-to-holder {owner}")
            append(log, f"exit {owner}")
            if not storage.release_lease(LEASE, owner):
                append(log, f"release-refused-to-holder {owner}")
            held += 1
    finally:
        storage.dispose()


def hold_until_killed(where: Where, owner: str, now: float, ttl: float, log: str) -> None:
    """Take the lease at the simulated time ``now`` and never give it up (the test kills
    this process)."""
    storage = open_storage(where)
    if storage.acquire_lease(LEASE, owner, ttl, now=now):
        append(log, f"holding {owner}")
    threading.Event().wait()


def try_at(where: Where, owner: str, now: float, log: str, barrier: Barrier) -> None:
    """Try to take the lease at the simulated time ``now``, together with the others."""
    storage = open_storage(where)
    try:
        barrier.wait(120)
        won = storage.acquire_lease(LEASE, owner, 10, now=now)
        append(log, f"{'won' if won else 'lost'} {owner}")
    finally:
        storage.dispose()
