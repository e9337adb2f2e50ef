"""Automation evaluations of the in-memory store, kept as JSON as SQL keeps them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from knoll._serdes import deserialize, serialize
from knoll.defs.automation_eval_records import AutomationEvaluationRecord
from knoll.defs.keys import AssetKey
from knoll.errors import InvalidInvocationError
from knoll.storage.base import (
    AutomationCursor,
    AutomationTick,
    AutomationTickRecord,
    check_automation_finish,
    check_automation_tick,
    ticks_of,
)
from knoll.storage.memory._state import MemoryState


class MemoryAutomationStorage(MemoryState):
    """Automation cursors and evaluation records, under the store's one lock."""

    def get_automation_cursor(self, location: str) -> AutomationCursor:
        with self._lock:
            return self._automation_cursor(location)

    def _automation_cursor(self, location: str) -> AutomationCursor:
        row = self._automation_cursors.get(location)
        if row is None:
            return AutomationCursor(location)
        evaluation_id, timestamp, state, pending = row
        tick = deserialize(pending, AutomationTick) if pending else None
        return AutomationCursor(location, evaluation_id, timestamp, state, tick)

    def begin_automation_tick(self, tick: AutomationTick) -> None:
        if not isinstance(tick, AutomationTick):
            raise InvalidInvocationError(
                f"begin_automation_tick takes an AutomationTick, got {type(tick).__name__}."
            )
        with self._lock:
            cursor = self._automation_cursor(tick.location)
            check_automation_tick(cursor, tick)
            for record in tick.records:
                self._automation_records.setdefault(record.asset_key, []).append(serialize(record))
            self._automation_cursors[tick.location] = (
                cursor.evaluation_id,
                cursor.timestamp,
                cursor.state,
                serialize(tick),
            )

    def finish_automation_tick(self, location: str, evaluation_id: int) -> AutomationCursor:
        with self._lock:
            tick = check_automation_finish(self._automation_cursor(location), evaluation_id)
            self._automation_cursors[location] = (
                tick.evaluation_id,
                tick.timestamp,
                tick.state,
                None,
            )
            return AutomationCursor(location, tick.evaluation_id, tick.timestamp, tick.state)

    def get_automation_evaluations(
        self,
        asset_key: AssetKey,
        *,
        limit: int = 10,
        before: tuple[str, int] | None = None,
    ) -> Sequence[AutomationEvaluationRecord]:
        with self._lock:
            bodies = list(self._automation_records.get(asset_key, ()))
        newest_first = [deserialize(body, AutomationEvaluationRecord) for body in reversed(bodies)]
        if before is not None:
            places = [(record.location, record.evaluation_id) for record in newest_first]
            newest_first = newest_first[places.index(before) + 1 :] if before in places else []
        return newest_first[: max(limit, 0)]

    def get_automation_ticks(
        self, location: str, *, limit: int = 10, before: int | None = None
    ) -> Sequence[AutomationTickRecord]:
        with self._lock:
            bodies = [body for kept in self._automation_records.values() for body in kept]
        records = [deserialize(body, AutomationEvaluationRecord) for body in bodies]
        records = [record for record in records if record.location == location]
        ids = sorted(
            {
                record.evaluation_id
                for record in records
                if before is None or record.evaluation_id < before
            },
            reverse=True,
        )[: max(limit, 0)]
        return ticks_of(location, ids, records)

    def get_latest_materialization_ids(
        self, asset_keys: Sequence[AssetKey]
    ) -> Mapping[AssetKey, tuple[int, str]]:
        out: dict[AssetKey, tuple[int, str]] = {}
        with self._lock:
            for key in asset_keys:
                entry = self._assets.get(key)
                if entry is not None and entry.last_materialization is not None:
                    latest = entry.last_materialization
                    out[key] = (latest.storage_id, latest.event.run_id)
        return out
