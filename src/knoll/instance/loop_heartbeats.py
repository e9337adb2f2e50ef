"""Heartbeats of the instance's long-running loops: ``knoll run queue-worker`` and
``knoll run monitor``.

Each loop records, before every pass, which process runs it (pid, host), when, and how often
it passes, in the key-value storage under ``loop_heartbeat/<loop>``; a clean exit (Ctrl-C)
removes it. A heartbeat older than ``STALE_AFTER_PASSES`` passes means the loop is gone
(killed, or its machine down). With several queue workers, the key holds the latest beat.
"""

from __future__ import annotations

import enum
import os
import socket
import time
from dataclasses import dataclass

from knoll._serdes import deserialize, serializable, serialize
from knoll.errors import SerializationError
from knoll.storage.base import KeyValueStorage

__all__ = [
    "STALE_AFTER_PASSES",
    "Loop",
    "LoopHeartbeat",
    "clear_loop_heartbeat",
    "live_loop_heartbeat",
    "record_loop_heartbeat",
]

STALE_AFTER_PASSES = 3.0
"""A loop whose last heartbeat is older than this many of its passes is taken as gone."""

_MIN_STALE_SECONDS = 2.0  # a very short pass interval still leaves time for a slow pass
_PREFIX = "loop_heartbeat/"
_REMOVED = ""  # the key-value storage cannot delete a key: an empty value means none


class Loop(enum.Enum):
    """A long-running loop of the instance, with the command that starts it."""

    QUEUE_WORKER = "queue worker"
    MONITOR = "run monitor"

    @property
    def command(self) -> str:
        return "knoll run queue-worker" if self is Loop.QUEUE_WORKER else "knoll run monitor"

    @property
    def key(self) -> str:
        return _PREFIX + self.name.lower()


@serializable()
@dataclass(frozen=True)
class LoopHeartbeat:
    """One heartbeat of a loop: its process (pid, host), the time it was recorded (seconds
    since the epoch) and the seconds between two of its passes."""

    loop: str
    pid: int
    host: str
    timestamp: float
    interval: float

    def age(self, now: float | None = None) -> float:
        """Seconds since this heartbeat was recorded."""
        return max(0.0, (time.time() if now is None else now) - self.timestamp)

    def is_stale(self, now: float | None = None) -> bool:
        return self.age(now) > max(STALE_AFTER_PASSES * self.interval, _MIN_STALE_SECONDS)

    def describe(self, now: float | None = None) -> str:
        """``pid 123 on HOST, last seen 2s ago``."""
        return f"pid {self.pid} on {self.host}, last seen {self.age(now):.0f}s ago"

    @property
    def is_mine(self) -> bool:
        return self.pid == os.getpid() and self.host == socket.gethostname()


def record_loop_heartbeat(
    storage: KeyValueStorage, loop: Loop, interval: float, *, now: float | None = None
) -> LoopHeartbeat:
    """Record that this process runs ``loop`` and passes every ``interval`` seconds."""
    beat = LoopHeartbeat(
        loop.value,
        os.getpid(),
        socket.gethostname(),
        time.time() if now is None else now,
        interval,
    )
    storage.kv_set({loop.key: serialize(beat)})
    return beat


def clear_loop_heartbeat(storage: KeyValueStorage, loop: Loop) -> None:
    """This process stops running ``loop``: remove its heartbeat (another process's is kept)."""
    beat = _read(storage, loop)
    if beat is not None and beat.is_mine:
        storage.kv_set({loop.key: _REMOVED})


def live_loop_heartbeat(
    storage: KeyValueStorage, loop: Loop, *, now: float | None = None
) -> LoopHeartbeat | None:
    """The heartbeat of the process running ``loop``; None when none runs (or it is stale)."""
    beat = _read(storage, loop)
    if beat is None or beat.is_stale(now):
        return None
    return beat


def _read(storage: KeyValueStorage, loop: Loop) -> LoopHeartbeat | None:
    text = storage.kv_get([loop.key]).get(loop.key)
    if not text:
        return None
    try:
        return deserialize(text, LoopHeartbeat)
    except SerializationError:
        return None  # written by a newer knoll, or damaged: as if no loop had beaten
