"""The daemon: one process that runs the instance's duties, each in a restartable loop of its
own thread.

Each duty holds its named lease in storage (``schedules``, ``sensors``, ``run_queue``,
``run_monitor``, ``run_retries``, ``retention``, ``freshness``) while it works and renews it
between passes, so that a second daemon against the same instance waits for the lease instead
of doing the same duty, and takes the duty over once the lease of a daemon that died runs out.
Every pass records a daemon heartbeat: the daemon's id, the duty, the errors of the pass (an
exception in a pass is recorded there, and the loop goes on after its interval) and ``info``
with the pid, the host, the interval and whether it holds the lease. Stopping releases the
leases and records a last heartbeat that says the daemon stopped.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knoll.storage.base import QUEUE_LEASE, DaemonHeartbeat

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = [
    "MONITOR_DUTY",
    "QUEUE_DUTY",
    "Daemon",
    "Duty",
    "is_fresh",
    "new_daemon_id",
]

QUEUE_DUTY = QUEUE_LEASE
"""The run queue's duty, and the name of its lease (the one ``dequeue`` takes)."""
MONITOR_DUTY = "run_monitor"
"""Run monitoring's duty, and the name of its lease."""

STALE_AFTER_PASSES = 3.0
_MIN_STALE_SECONDS = 2.0  # a very short interval still leaves time for a slow pass

_log = logging.getLogger("knoll.daemon")


def new_daemon_id() -> str:
    """An id for one daemon process: a fresh uuid."""
    return uuid.uuid4().hex


def is_fresh(beat: DaemonHeartbeat, now: float | None = None) -> bool:
    """Whether ``beat`` says its daemon still runs this duty: it did not stop, and it is no
    older than three of its passes (at least 2 seconds)."""
    if beat.info.get("state") == "stopped":
        return False
    try:
        interval = float(beat.info.get("interval", "0"))
    except ValueError:
        interval = 0.0
    age = (time.time() if now is None else now) - beat.timestamp
    return age <= max(STALE_AFTER_PASSES * interval, _MIN_STALE_SECONDS)


@dataclass(frozen=True)
class Duty:
    """One loop of the daemon: its name (also its lease's), the seconds between two passes,
    and one pass, called with the daemon's id while the daemon holds the duty's lease."""

    name: str
    interval: float
    one_pass: Callable[[str], object]


class Daemon:
    """Runs ``duties`` in one thread each until ``stop`` is set (see the module)."""

    def __init__(
        self,
        instance: Instance,
        duties: Sequence[Duty],
        *,
        lease_seconds: float,
        daemon_id: str | None = None,
    ) -> None:
        self.instance = instance
        self.duties = tuple(duties)
        self.lease_seconds = lease_seconds
        self.daemon_id = daemon_id if daemon_id is not None else new_daemon_id()
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one thread per duty."""
        for duty in self.duties:
            thread = threading.Thread(
                target=self._loop, args=(duty,), name=f"knoll-daemon-{duty.name}"
            )
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the loops to end; True when all have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        return not any(thread.is_alive() for thread in self._threads)

    def _info(self, duty: Duty, holding: bool, state: str) -> dict[str, str]:
        return {
            "pid": str(os.getpid()),
            "host": socket.gethostname(),
            "interval": f"{duty.interval:g}",
            "lease": "held" if holding else "waiting",
            "state": state,
        }

    def _beat(self, duty: Duty, errors: tuple[str, ...], holding: bool, state: str) -> None:
        try:
            self.instance.storage.record_daemon_heartbeat(
                DaemonHeartbeat(
                    self.daemon_id,
                    duty.name,
                    time.time(),
                    errors=errors,
                    info=self._info(duty, holding, state),
                )
            )
        except Exception:  # the storage is down: the next pass tries again
            _log.exception("the daemon could not record the heartbeat of %s", duty.name)

    def _loop(self, duty: Duty) -> None:
        storage = self.instance.storage
        holding = False
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                errors: tuple[str, ...] = ()
                try:
                    holding = storage.acquire_lease(duty.name, self.daemon_id, self.lease_seconds)
                    if holding:
                        duty.one_pass(self.daemon_id)
                except Exception as exc:
                    errors = (f"{type(exc).__name__}: {exc}",)
                    _log.exception("a pass of %s failed; it goes on after its interval", duty.name)
                self._beat(duty, errors, holding, "running")
                self._wait(duty, started, holding)
        finally:
            if holding:
                try:
                    storage.release_lease(duty.name, self.daemon_id)
                except Exception:
                    _log.exception("the daemon could not release the lease of %s", duty.name)
            self._beat(duty, (), False, "stopped")

    def _wait(self, duty: Duty, started: float, holding: bool) -> None:
        """Sleep until the next pass; a holder renews its lease every third of it meanwhile."""
        step = self.lease_seconds / 3
        until = started + duty.interval
        while not self.stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return
            if self.stop.wait(min(left, step)) or not holding:
                continue
            if time.monotonic() < until:
                try:
                    self.instance.storage.renew_lease(duty.name, self.daemon_id, self.lease_seconds)
                except Exception:
                    _log.exception("the daemon could not renew the lease of %s", duty.name)
