"""Freshness: the daemon's ``freshness`` duty evaluates the assets' freshness policies.

One pass (:func:`freshness_pass`) reads the snapshot of each code location (the policies of its
assets), the time each of those assets was last updated (its latest materialization or
observation, from the asset index) and the state last recorded for it (its latest
``FRESHNESS_STATE_CHANGE`` event, through the index on asset key and event type). When the
state an asset's policy gives now differs from that one, it records a ``FRESHNESS_STATE_CHANGE``
event of no run, whose data (:class:`~knoll.defs.freshness.FreshnessStateChange`) holds the new
state (PASS, WARN, FAIL or UNKNOWN), the one before, the reason and the last update time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from knoll._serdes import unpack
from knoll.defs.freshness import FreshnessPolicy, FreshnessStateChange
from knoll.defs.keys import AssetKey
from knoll.execution.events import EventType, RunEvent

if TYPE_CHECKING:
    from knoll.codeloc.client import LocationSnapshot
    from knoll.instance import Instance
    from knoll.storage.base import AssetRecord

__all__ = ["FRESHNESS_DUTY", "FreshnessReport", "SnapshotSource", "freshness_pass"]

FRESHNESS_DUTY = "freshness"
"""The duty's name, and the name of its lease."""

_LEVELS = {"PASS": logging.INFO, "UNKNOWN": logging.INFO, "WARN": logging.WARNING}


class SnapshotSource(Protocol):
    """What the duty needs of a code server (``CodeServerClient`` is one)."""

    def snapshot(self) -> LocationSnapshot: ...

    def describe(self) -> str: ...


@dataclass
class FreshnessReport:
    """What one pass did: the state changes it recorded, and the locations it could not read
    (location or address, and why)."""

    changes: list[FreshnessStateChange] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def freshness_pass(
    instance: Instance, sources: Iterable[SnapshotSource], *, now: float | None = None
) -> FreshnessReport:
    """One pass of the ``freshness`` duty over the locations of ``sources`` (see the module),
    at ``now`` (default: the current time)."""
    when = time.time() if now is None else now
    report = FreshnessReport()
    policies: dict[AssetKey, FreshnessPolicy] = {}
    for source in sources:
        try:
            snapshot = source.snapshot()
        except Exception as exc:  # the code server is down: its assets wait for the next pass
            report.unreadable.append((source.describe(), f"{type(exc).__name__}: {exc}"))
            continue
        if snapshot.snapshot is None:
            why = snapshot.error.message if snapshot.error is not None else "no snapshot"
            report.unreadable.append((snapshot.location_name, why))
            continue
        policies.update(_policies(snapshot.snapshot))
    if not policies:
        return report
    records = {r.asset_key: r for r in instance.storage.get_asset_records(list(policies))}
    events: list[RunEvent] = []
    for key, policy in sorted(policies.items(), key=lambda item: item[0].path):
        change = _change(instance, key, policy, records.get(key), when)
        if change is not None:
            report.changes.append(change)
            events.append(_event(change, when))
    instance.write_events(events)
    return report


def _policies(snapshot: Mapping[str, Any]) -> dict[AssetKey, FreshnessPolicy]:
    found: dict[AssetKey, FreshnessPolicy] = {}
    for entry in snapshot.get("assets", ()):
        packed = entry.get("freshness_policy")
        if packed is None:
            continue
        policy = unpack(packed)
        if isinstance(policy, FreshnessPolicy):
            found[AssetKey(list(entry["key"]))] = policy
    return found


def _last_updated(record: AssetRecord | None) -> float | None:
    if record is None:
        return None
    stamps = [
        r.event.timestamp
        for r in (record.last_materialization, record.last_observation)
        if r is not None
    ]
    return max(stamps) if stamps else None


def _change(
    instance: Instance,
    key: AssetKey,
    policy: FreshnessPolicy,
    record: AssetRecord | None,
    now: float,
) -> FreshnessStateChange | None:
    """The change of ``key``'s state at ``now``; None when it is the state last recorded."""
    last = _last_updated(record)
    verdict = policy.evaluate(last, now)
    latest = instance.storage.get_asset_events(EventType.FRESHNESS_STATE_CHANGE, key, limit=1)
    before = latest[0].event.data if latest else None
    previous = before.state if isinstance(before, FreshnessStateChange) else None
    if previous is verdict.state:
        return None
    return FreshnessStateChange(key, verdict.state, previous, verdict.reason, last)


def _event(change: FreshnessStateChange, now: float) -> RunEvent:
    key = change.asset_key.to_user_string()
    message = f"asset {key!r} is {change.state.value}: {change.reason}"
    level = _LEVELS.get(change.state.value, logging.ERROR)
    return RunEvent(
        EventType.FRESHNESS_STATE_CHANGE, "", "", now, message=message, level=level, data=change
    )
