"""Duty leases and daemon heartbeats of the in-memory store."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from knoll._serdes import deserialize, serialize
from knoll.storage.base import (
    DaemonHeartbeat,
    Lease,
    check_daemon_heartbeat,
    check_lease_arguments,
    check_lease_name,
)
from knoll.storage.memory._state import MemoryState


class MemoryDaemonStorage(MemoryState):
    """Duty leases and daemon heartbeats, under the store's one lock."""

    def acquire_lease(
        self, name: str, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        check_lease_arguments(name, owner, ttl_seconds)
        at = time.time() if now is None else now
        with self._lock:
            held = self._leases.get(name)
            if held is not None and held.is_held(at):
                if held.owner != owner:
                    return False
                self._leases[name] = replace(held, renewed_at=at, expires_at=at + ttl_seconds)
            else:
                self._leases[name] = Lease(name, owner, at, at, at + ttl_seconds)
            return True

    def renew_lease(
        self, name: str, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        check_lease_arguments(name, owner, ttl_seconds)
        at = time.time() if now is None else now
        with self._lock:
            held = self._leases.get(name)
            if held is None or held.owner != owner or not held.is_held(at):
                return False
            self._leases[name] = replace(held, renewed_at=at, expires_at=at + ttl_seconds)
            return True

    def release_lease(self, name: str, owner: str) -> bool:
        check_lease_name(name)
        with self._lock:
            held = self._leases.get(name)
            if held is None or held.owner != owner:
                return False
            del self._leases[name]
            return True

    def get_lease(self, name: str) -> Lease | None:
        check_lease_name(name)
        with self._lock:
            return self._leases.get(name)

    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        check_daemon_heartbeat(heartbeat)
        # through JSON, as in SQL: what could not be stored there is refused here too
        text = serialize(heartbeat)
        key = (heartbeat.daemon_id, heartbeat.duty)
        with self._lock:
            stored = self._daemon_heartbeats.get(key)
            if stored is None or heartbeat.timestamp >= stored.timestamp:
                self._daemon_heartbeats[key] = deserialize(text, DaemonHeartbeat)

    def get_daemon_heartbeats(self) -> Sequence[DaemonHeartbeat]:
        with self._lock:
            beats = list(self._daemon_heartbeats.values())
        beats.sort(key=lambda b: (b.duty, b.daemon_id))
        # copies: a caller that changes a heartbeat's info does not change the stored one
        return [replace(b) for b in beats]
