"""The daemon's clock: what time the duties think it is.

Every duty reads the time through a :class:`Clock` and never from ``time.time()`` directly,
so that tests can run a simulated day in seconds: :class:`SystemClock` is the real time,
:class:`ManualClock` moves only when told to, and :class:`FastClock` runs from a chosen
start at a chosen speed (``knoll daemon run --clock-start ... --clock-speed ...``).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "FastClock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """A source of the current time, in seconds since the epoch (as ``time.time()``)."""

    def now(self) -> float: ...


class SystemClock:
    """The real time."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that stands still until ``advance`` or ``set`` moves it (for tests)."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds``; the new time."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, timestamp: float) -> None:
        with self._lock:
            self._now = timestamp


class FastClock:
    """Time that starts at ``start`` when the clock is made and runs ``speed`` times as fast
    as the real time (``speed=60``: a real second is a minute)."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"FastClock(speed={speed!r}): the speed must be positive, e.g. 60.")
        self._start = start
        self._speed = speed
        self._origin = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._origin) * self._speed
