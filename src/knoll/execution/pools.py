"""Concurrency pools during a run: the slot a pooled step holds while it runs.

A step of an op or asset declared with ``pool="name"`` claims a slot of that pool before it
starts and releases it when it ends. Slots are leases in the instance's storage: the run
renews the ones it holds, so a run worker that dies stops renewing and its slots come free
when their leases expire. The execution layer knows the instance only through ``SlotClaims``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol, runtime_checkable

LEASE_SECONDS = 30.0
"""How long a claimed slot stays held without renewal."""

RENEW_INTERVAL = 10.0
"""How often a run renews the leases of the slots its steps hold."""

POLL_INTERVAL = 0.2
"""How often a step waiting for a full pool asks again."""

_log = logging.getLogger("knoll.pools")


@runtime_checkable
class SlotClaims(Protocol):
    """Where slots are claimed: the concurrency part of an instance's storage."""

    def claim_slot(self, pool: str, run_id: str, step_key: str, lease_seconds: float) -> bool: ...

    def renew_slot(self, pool: str, run_id: str, step_key: str, lease_seconds: float) -> bool: ...

    def release_slot(self, pool: str, run_id: str, step_key: str) -> None: ...

    def free_slots_of_run(self, run_id: str) -> int: ...

    def get_pool_limits(self) -> Mapping[str, int]: ...


class SlotKeeper:
    """The slots one run holds: claims them, renews their leases, frees them at the end.

    ``renew_due`` renews when ``renew_interval`` has passed since the last renewal; the
    multiprocess coordinator calls it from its loop, and ``renewing()`` runs it on a
    background thread for steps that run in this process.
    """

    def __init__(
        self,
        claims: SlotClaims,
        run_id: str,
        *,
        lease_seconds: float = LEASE_SECONDS,
        renew_interval: float = RENEW_INTERVAL,
    ) -> None:
        self.claims = claims
        self.run_id = run_id
        self.lease_seconds = lease_seconds
        self.renew_interval = renew_interval
        self.held: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._last_renewal = time.monotonic()

    def try_claim(self, pool: str, step_key: str) -> bool:
        """Claim a slot of ``pool`` for ``step_key``; False when the pool is full."""
        if not self.claims.claim_slot(pool, self.run_id, step_key, self.lease_seconds):
            return False
        with self._lock:
            self.held.add((pool, step_key))
        return True

    def wait_for_slot(
        self,
        pool: str,
        step_key: str,
        on_wait: Callable[[], None],
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        """Claim a slot, asking again every ``poll_interval`` seconds while the pool is full;
        ``on_wait`` is called once, when the first claim fails."""
        if self.try_claim(pool, step_key):
            return
        on_wait()
        while not self.try_claim(pool, step_key):
            time.sleep(poll_interval)

    def release(self, pool: str, step_key: str) -> None:
        with self._lock:
            self.held.discard((pool, step_key))
        self.claims.release_slot(pool, self.run_id, step_key)

    def renew_due(self) -> None:
        """Renew every held lease if ``renew_interval`` has passed since the last renewal."""
        if time.monotonic() - self._last_renewal >= self.renew_interval:
            self.renew()

    def seconds_to_renewal(self) -> float:
        return max(0.0, self._last_renewal + self.renew_interval - time.monotonic())

    def renew(self) -> None:
        self._last_renewal = time.monotonic()
        with self._lock:
            held = sorted(self.held)
        for pool, step_key in held:
            # A lease that expired (the process was paused longer than the lease) is taken
            # again if there is room; the step is running either way.
            lease = (pool, self.run_id, step_key, self.lease_seconds)
            try:
                kept = self.claims.renew_slot(*lease) or self.claims.claim_slot(*lease)
            except Exception:  # storage briefly down: the next round tries again
                _log.warning("run %s: renewing pool slots failed", self.run_id, exc_info=True)
                return
            if not kept:
                _log.warning(
                    "run %s: the slot of step %r in pool %r expired and the pool is full "
                    "again; the step keeps running without a slot",
                    self.run_id,
                    step_key,
                    pool,
                )

    @contextlib.contextmanager
    def renewing(self) -> Iterator[None]:
        """Renew held leases on a background thread while the block runs."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.renew_interval):
                self.renew()

        thread = threading.Thread(target=loop, name="knoll-pool-leases", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def close(self) -> None:
        """Free every slot the run still holds (a safety net at run end)."""
        with self._lock:
            self.held = set()
        try:
            self.claims.free_slots_of_run(self.run_id)
        except Exception:
            # The run's outcome matters more than its slots, whose leases expire on their own.
            _log.warning(
                "run %s: freeing its pool slots failed; they come free when their leases "
                "expire (%.0fs)",
                self.run_id,
                self.lease_seconds,
                exc_info=True,
            )


def waiting_message(claims: SlotClaims, pool: str, step_description: str) -> str:
    """What a step waiting for ``pool`` tells the user."""
    limit = claims.get_pool_limits().get(pool)
    shown = f" (limit {limit}, every slot in use)" if limit is not None else ""
    return (
        f"{step_description} waits for a slot of concurrency pool {pool!r}{shown}; it starts "
        f"when another step of the pool finishes (see `knoll instance pool list`)."
    )
