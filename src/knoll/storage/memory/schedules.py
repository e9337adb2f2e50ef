"""Schedules, sensors and ticks, backfills, dynamic partitions and key-value pairs in memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from knoll.errors import InvalidInvocationError, StorageError
from knoll.storage.base import (
    Backfill,
    BackfillStatus,
    InstigatorState,
    InstigatorType,
    Tick,
    TickStatus,
)
from knoll.storage.memory._state import MemoryState, json_copy


class MemoryScheduleStorage(MemoryState):
    """Schedules, sensors and ticks, backfills, dynamic partitions and key-value pairs in memory."""

    # ---- schedules, sensors and ticks ------------------------------------------------------

    def get_instigator_state(self, location: str, name: str) -> InstigatorState | None:
        with self._lock:
            return self._instigators.get((location, name))

    def get_instigator_states(
        self, instigator_type: InstigatorType | None = None
    ) -> Sequence[InstigatorState]:
        with self._lock:
            states = sorted(self._instigators.items())
        return [
            state
            for _, state in states
            if instigator_type is None or state.instigator_type is instigator_type
        ]

    def set_instigator_state(self, state: InstigatorState) -> None:
        with self._lock:
            self._instigators[(state.location, state.name)] = state

    def claim_tick(
        self,
        location: str,
        name: str,
        instigator_type: InstigatorType,
        tick_key: str,
        timestamp: float,
    ) -> Tick:
        with self._lock:
            for tick in self._ticks.values():
                if (tick.location, tick.name, tick.tick_key) == (location, name, tick_key):
                    return tick
            created = self.create_tick(location, name, instigator_type, timestamp)
            created = replace(created, tick_key=tick_key)
            self._ticks[created.tick_id] = created
            return created

    def record_tick_evaluation(self, tick_id: int, evaluation: str) -> str:
        with self._lock:
            tick = self._ticks.get(tick_id)
            if tick is None:
                raise StorageError(
                    f"cannot record the evaluation of tick {tick_id}: it is not in storage. "
                    "Record the evaluation of a tick that claim_tick() returned."
                )
            if tick.evaluation is not None:
                return tick.evaluation
            self._ticks[tick_id] = replace(tick, evaluation=evaluation)
            return evaluation

    def create_tick(
        self,
        location: str,
        name: str,
        instigator_type: InstigatorType,
        timestamp: float,
    ) -> Tick:
        with self._lock:
            self._tick_seq += 1
            tick = Tick(
                tick_id=self._tick_seq,
                location=location,
                name=name,
                instigator_type=instigator_type,
                status=TickStatus.STARTED,
                timestamp=timestamp,
            )
            self._ticks[tick.tick_id] = tick
            return tick

    def update_tick(self, tick: Tick, *, state: InstigatorState | None = None) -> Tick:
        with self._lock:
            if tick.tick_id not in self._ticks:
                raise StorageError(
                    f"cannot update tick {tick.tick_id} of {tick.name!r}: it is not in storage. "
                    "Update a tick that create_tick() returned."
                )
            stored = replace(tick, run_ids=tuple(tick.run_ids), run_keys=tuple(tick.run_keys))
            self._ticks[tick.tick_id] = stored
            if state is not None:
                kept = self._instigators.get((state.location, state.name))
                if kept is not None:  # a user may have started or stopped it meanwhile
                    state = replace(state, status=kept.status)
                self._instigators[(state.location, state.name)] = state
            return stored

    def get_ticks(
        self,
        location: str,
        name: str,
        *,
        limit: int = 100,
        before: tuple[float, int] | None = None,
    ) -> Sequence[Tick]:
        with self._lock:
            ticks = [t for t in self._ticks.values() if t.location == location and t.name == name]
        if before is not None:
            ticks = [t for t in ticks if (t.timestamp, t.tick_id) < before]
        ticks.sort(key=lambda t: (t.timestamp, t.tick_id), reverse=True)
        return ticks[: max(limit, 0)]

    # ---- backfills -------------------------------------------------------------------------

    def add_backfill(self, backfill: Backfill) -> None:
        stored = replace(backfill, body=json_copy(backfill.body, backfill.backfill_id))
        with self._lock:
            if backfill.backfill_id in self._backfills:
                raise StorageError(
                    f"backfill {backfill.backfill_id} is stored already: give the new backfill "
                    "a new id, or change the stored one with update_backfill()."
                )
            self._backfills[backfill.backfill_id] = stored

    def get_backfill(self, backfill_id: str) -> Backfill | None:
        with self._lock:
            return self._backfills.get(backfill_id)

    def update_backfill(self, backfill: Backfill) -> None:
        stored = replace(backfill, body=json_copy(backfill.body, backfill.backfill_id))
        with self._lock:
            if backfill.backfill_id not in self._backfills:
                raise StorageError(
                    f"cannot update backfill {backfill.backfill_id}: it is not in storage. "
                    "Store it first with add_backfill()."
                )
            self._backfills[backfill.backfill_id] = stored

    def get_backfills(
        self,
        *,
        status: BackfillStatus | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> Sequence[Backfill]:
        with self._lock:
            newest_first = list(reversed(self._backfills.values()))
        if before is not None:
            ids = [b.backfill_id for b in newest_first]
            newest_first = newest_first[ids.index(before) + 1 :] if before in ids else []
        found = [b for b in newest_first if status is None or b.status is status]
        return found[: max(limit, 0)]

    # ---- dynamic partitions and key-value --------------------------------------------------

    def get_dynamic_partitions(self, name: str) -> Sequence[str]:
        with self._lock:
            return list(self._dynamic.get(name, ()))

    def has_dynamic_partition(self, name: str, key: str) -> bool:
        with self._lock:
            return key in self._dynamic.get(name, ())

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            raise InvalidInvocationError(
                f"partition keys for dynamic partitions {name!r} must be a list of strings, got "
                f"the string {keys!r}; write [{keys!r}]."
            )
        with self._lock:
            self._dynamic.setdefault(name, {}).update(dict.fromkeys(keys))

    def delete_dynamic_partition(self, name: str, key: str) -> None:
        with self._lock:
            self._dynamic.get(name, {}).pop(key, None)

    def kv_get(self, keys: Sequence[str]) -> Mapping[str, str]:
        with self._lock:
            return {k: self._kv[k] for k in keys if k in self._kv}

    def kv_set(self, pairs: Mapping[str, str]) -> None:
        with self._lock:
            self._kv.update(pairs)
