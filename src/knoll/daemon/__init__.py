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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from knoll.storage.base import QUEUE_LEASE, DaemonHeartbeat

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = [
    "MONITOR_DUTY",
    "PassErrors",
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
_STOP_POLL = 0.1  # seconds: how soon a waiting loop sees that the daemon stops

_log = logging.getLogger("knoll.daemon")


class PassErrors(Exception):
    """Some of the work of a pass failed (a broken code location, a schedule whose cron cannot
    be read) while the rest went on: the heartbeat records them, the log shows them once."""


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
    and one pass, called with the daemon's id while the daemon holds the duty's lease.
    Setting ``wake`` starts the next pass at once (the schedules and sensors duties wake the
    run queue when they have queued runs)."""

    name: str
    interval: float
    one_pass: Callable[[str], object]
    wake: threading.Event = field(default_factory=threading.Event, compare=False)


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
        logged: tuple[str, ...] = ()
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                errors: tuple[str, ...] = ()
                try:
                    holding = storage.acquire_lease(duty.name, self.daemon_id, self.lease_seconds)
                    if holding:
                        duty.one_pass(self.daemon_id)
                except PassErrors as exc:
                    errors = (str(exc),)
                    if errors != logged:  # the same errors pass after pass are logged once
                        _log.error("a pass of %s met errors (it goes on): %s", duty.name, exc)
                except Exception as exc:
                    errors = (f"{type(exc).__name__}: {exc}",)
                    if errors != logged:
                        _log.exception(
                            "a pass of %s failed; it goes on after its interval", duty.name
                        )
                logged = errors
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
        """Sleep until the next pass (or until ``duty.wake`` is set); a holder renews its
        lease every third of it meanwhile."""
        step = self.lease_seconds / 3
        until = started + duty.interval
        renew_at = time.monotonic() + step
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= until:
                return
            if duty.wake.wait(min(until - now, renew_at - now, _STOP_POLL)):
                duty.wake.clear()
                return
            now = time.monotonic()
            if not holding or now < renew_at or now >= until:
                continue
            renew_at = now + step
            try:
                self.instance.storage.renew_lease(duty.name, self.daemon_id, self.lease_seconds)
            except Exception:
                _log.exception("the daemon could not renew the lease of %s", duty.name)
