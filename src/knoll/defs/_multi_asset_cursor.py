"""The cursor a multi-asset sensor keeps per monitored asset, and how a tick moves it.

For each asset the cursor holds, as Dagster's does, three things: the storage id of the
newest materialization consumed so far and its partition, and the *trailing unconsumed*
events: per partition, the newest materialization that was stored before that id but was
not consumed. A sensor that consumes partition 2024-05-02 while 2024-05-01's event of the
same batch is still waiting keeps 2024-05-01's event available on the next tick.

Stored as JSON: ``{"asset/key": [partition or null, storage id or null, {partition: id}]}``.
A cursor of knoll's earlier form (``{"asset/key": storage id}``) is read as the newest
consumed id with nothing trailing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from knoll.defs.keys import AssetKey
from knoll.errors import InvalidInvocationError

# Dagster's limits: trailing partitions one asset may keep, records read per query.
MAX_TRAILING_UNCONSUMED = 25
BATCH = 1000


@dataclass(frozen=True)
class AssetCursor:
    """One monitored asset's part of the cursor."""

    latest_consumed_event_partition: str | None = None
    latest_consumed_event_id: int | None = None
    trailing_unconsumed_partitioned_event_ids: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> list[Any]:
        return [
            self.latest_consumed_event_partition,
            self.latest_consumed_event_id,
            dict(self.trailing_unconsumed_partitioned_event_ids),
        ]


def read_cursor(cursor: str | None, keys: Sequence[AssetKey]) -> dict[AssetKey, AssetCursor]:
    """The per-asset cursors in ``cursor`` (assets no longer monitored are dropped)."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _unreadable(cursor)
    by_name = {k.to_user_string(): k for k in keys}
    found: dict[AssetKey, AssetCursor] = {}
    for name, value in data.items():
        if name in by_name:
            found[by_name[name]] = _component(value, cursor)
    return found


def _component(value: object, cursor: str) -> AssetCursor:
    if isinstance(value, int) and not isinstance(value, bool):  # knoll's earlier cursors
        return AssetCursor(None, value, {})
    if isinstance(value, list) and len(value) == 3:
        partition, storage_id, trailing = value
        if (
            (partition is None or isinstance(partition, str))
            and (storage_id is None or isinstance(storage_id, int))
            and isinstance(trailing, dict)
            and all(isinstance(p, str) and isinstance(i, int) for p, i in trailing.items())
        ):
            return AssetCursor(partition, storage_id, dict(trailing))
    raise _unreadable(cursor)


def _unreadable(cursor: str) -> InvalidInvocationError:
    return InvalidInvocationError(
        f"multi-asset sensor cursor {cursor!r} is not one this sensor wrote (a JSON object of "
        "asset key to [partition, storage id, trailing unconsumed ids]); reset it with "
        "cursor=None."
    )


def write_cursor(cursors: Mapping[AssetKey, AssetCursor]) -> str:
    return json.dumps({k.to_user_string(): c.to_json() for k, c in cursors.items()})


# reads the materializations of an asset strictly between two storage ids, oldest first
BetweenReader = Callable[[AssetKey, int | None, int], Sequence[Any]]


@dataclass
class CursorAdvances:
    """The records a tick marked as consumed, per asset, and whether it consumed everything."""

    by_key: dict[AssetKey, dict[int, str | None]] = field(default_factory=dict)
    all_consumed: bool = False

    def add(self, records_by_key: Mapping[AssetKey, Any]) -> None:
        for key, record in records_by_key.items():
            if record is not None:
                partition = record.partition_key
                self.by_key.setdefault(key, {})[int(record.storage_id)] = partition

    def moved(
        self,
        key: AssetKey,
        initial: AssetCursor,
        trailing: Sequence[Any],
        read_between: BetweenReader,
    ) -> AssetCursor:
        """``key``'s cursor after this tick, from the cursor it started with; ``trailing``
        are the records of its trailing unconsumed ids, oldest first."""
        consumed = self.by_key.get(key)
        if not consumed:
            return initial
        greatest = max(consumed)
        start = initial.latest_consumed_event_id
        forward = greatest > (start or 0)
        waiting: dict[str, int] = {}
        if not self.all_consumed:
            waiting = dict(initial.trailing_unconsumed_partitioned_event_ids)
            passed = [*trailing, *read_between(key, start, greatest)] if forward else []
            for record in passed:  # oldest first: a consumed event clears what came before
                partition = record.partition_key
                if partition is None:
                    continue
                if int(record.storage_id) not in consumed:
                    waiting[partition] = int(record.storage_id)
                else:
                    waiting.pop(partition, None)
            if consumed[greatest] is not None:
                waiting.pop(str(consumed[greatest]), None)
            if len(waiting) >= MAX_TRAILING_UNCONSUMED:
                raise InvalidInvocationError(
                    f"multi-asset sensor: asset {key} would keep {len(waiting)} partitions "
                    "with materializations that were passed over but not consumed, and "
                    f"{MAX_TRAILING_UNCONSUMED} is the most a cursor keeps. Consume them "
                    "with context.advance_cursor({key: record}) (they are in "
                    "context.get_trailing_unconsumed_events(key)), or drop them all with "
                    "context.advance_all_cursors()."
                )
        if not forward:
            return AssetCursor(
                initial.latest_consumed_event_partition, initial.latest_consumed_event_id, waiting
            )
        return AssetCursor(consumed[greatest], greatest, waiting)
