"""Run worker heartbeats: who runs a run (pid, host) and when it last said it was alive.

A run worker, and a run executing in its own process on a persistent instance, records one
every ``interval`` seconds in the key-value storage under
``run_heartbeat/<run_id>``. The canceller reads the pid to signal the worker; the run monitor
reads the timestamp to find workers that died without a word.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from knoll._serdes import deserialize, serializable, serialize
from knoll.errors import SerializationError
from knoll.storage.base import KeyValueStorage

__all__ = ["DEFAULT_HEARTBEAT_INTERVAL", "RunHeartbeat", "read_heartbeats", "write_heartbeat"]

DEFAULT_HEARTBEAT_INTERVAL = 5.0
"""Seconds between two heartbeats of a run worker."""

_PREFIX = "run_heartbeat/"


@serializable()
@dataclass(frozen=True)
class RunHeartbeat:
    """One heartbeat of the process running a run: its pid and host, the time it was recorded
    (seconds since the epoch), the interval the process promised to beat at, and whether it is
    a run executing in the process that asked for it (``knoll asset materialize``,
    ``materialize(instance=)``) rather than a launched run worker."""

    run_id: str
    pid: int
    host: str
    timestamp: float
    interval: float = DEFAULT_HEARTBEAT_INTERVAL
    in_process: bool = False

    @property
    def is_local(self) -> bool:
        """True when the worker runs on this host (so its pid can be signalled from here)."""
        return self.host == socket.gethostname()

    def age(self, now: float | None = None) -> float:
        """Seconds since this heartbeat was recorded."""
        return (time.time() if now is None else now) - self.timestamp


def heartbeat_key(run_id: str) -> str:
    return _PREFIX + run_id


def write_heartbeat(
    storage: KeyValueStorage,
    run_id: str,
    *,
    interval: float = DEFAULT_HEARTBEAT_INTERVAL,
    pid: int | None = None,
    now: float | None = None,
    in_process: bool = False,
) -> RunHeartbeat:
    """Record that this process (or ``pid``) is alive and running ``run_id``."""
    beat = RunHeartbeat(
        run_id,
        os.getpid() if pid is None else pid,
        socket.gethostname(),
        time.time() if now is None else now,
        interval,
        in_process,
    )
    storage.kv_set({heartbeat_key(run_id): serialize(beat)})
    return beat


def read_heartbeats(storage: KeyValueStorage, run_ids: Sequence[str]) -> Mapping[str, RunHeartbeat]:
    """The latest heartbeat of each run that has one; an unreadable record is left out."""
    stored = storage.kv_get([heartbeat_key(run_id) for run_id in run_ids])
    beats: dict[str, RunHeartbeat] = {}
    for key, text in stored.items():
        try:
            beat = deserialize(text, RunHeartbeat)
        except SerializationError:
            continue  # written by a newer knoll, or damaged: as if the worker never beat
        beats[key[len(_PREFIX) :]] = beat
    return beats
