"""Deleting old ticks and daemon heartbeats in memory (the daemon's ``retention`` duty)."""

from __future__ import annotations

from knoll.storage.memory._state import MemoryState


class MemoryRetentionStorage(MemoryState):
    """Old ticks and daemon heartbeats deleted under the store's one lock."""

    def delete_ticks(self, before: float, *, keep_last: int = 0) -> int:
        with self._lock:
            newest: dict[tuple[str, str], list[tuple[float, int]]] = {}
            for tick in self._ticks.values():
                newest.setdefault((tick.location, tick.name), []).append(
                    (tick.timestamp, tick.tick_id)
                )
            kept = {
                tick_id
                for found in newest.values()
                for _, tick_id in sorted(found, reverse=True)[: max(keep_last, 0)]
            }
            old = [
                tick.tick_id
                for tick in self._ticks.values()
                if tick.timestamp < before and tick.tick_id not in kept
            ]
            for tick_id in old:
                del self._ticks[tick_id]
            return len(old)

    def delete_daemon_heartbeats(self, before: float) -> int:
        with self._lock:
            old = [key for key, beat in self._daemon_heartbeats.items() if beat.timestamp < before]
            for key in old:
                del self._daemon_heartbeats[key]
            return len(old)
