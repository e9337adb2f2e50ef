"""Staleness: which assets need materializing again, and why.

An asset is stale when it was never materialized, when its ``code_version`` is not the one its
last materialization recorded, or when an upstream asset was materialized after it (by
another run). When that upstream materialization reported a data version, it makes the asset
stale only if the version differs from the one of the upstream materialization the asset
read (the latest one of the same partition before it). Partitioned assets are compared per
asset: the latest materialization across all of their partitions.

A virtual asset (``is_virtual=True``, a view) is computed whenever it is read, so it is
looked through, as Dagster does: it is stale only when its code version changed, it is not
"never materialized" once an asset upstream of it that is not virtual holds data, and an
asset downstream of it is stale when one of those non-virtual ancestors was materialized
after it.
"""

from __future__ import annotations

from collections.abc import Mapping

from knoll.defs.asset_graph import AssetGraph
from knoll.defs.keys import AssetKey
from knoll.defs.observable import DATA_VERSION_TAG
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.execution.events import CODE_VERSION_TAG
from knoll.storage.base import EventLogStorage, EventRecord

NEVER_MATERIALIZED = "never materialized"


def recorded_code_version(record: EventRecord) -> str | None:
    """The code version a materialization was made with (None when the asset had none)."""
    data = record.event.data
    if isinstance(data, AssetMaterialization):
        return data.tags.get(CODE_VERSION_TAG)
    return None


def _shown(version: str | None) -> str:
    return "none" if version is None else repr(version)


def recorded_data_version(record: EventRecord) -> str | None:
    """The data version a materialization reported (None when the asset reported none)."""
    data = record.event.data
    if isinstance(data, AssetMaterialization):
        return data.data_version
    return None


def stale_reasons(
    graph: AssetGraph, latest: Mapping[AssetKey, EventRecord], events: EventLogStorage
) -> dict[AssetKey, list[str]]:
    """Why each stale asset of ``graph`` is stale, given the latest materialization of each
    asset; assets that are up to date (and external assets) are left out. ``events`` answers
    which materialization of an upstream asset a downstream one read."""
    out: dict[AssetKey, list[str]] = {}
    for key in graph.toposorted_keys:
        node = graph.node(key)
        if not node.is_executable or node.assets_def.is_observable:
            continue  # an external or observed source asset: knoll does not materialize it
        record = latest.get(key)
        if record is None:
            if not node.is_virtual or not _ancestors_hold_data(graph, key, latest):
                out[key] = [NEVER_MATERIALIZED]
            continue
        reasons = _code_reasons(node.spec.code_version, record)
        if not node.is_virtual:  # a view reads its upstream anew each time: only its code counts
            reasons.extend(_parent_reasons(graph, key, record, latest, events))
            reasons.extend(_through_views(graph, key, record, latest, events))
        if reasons:
            out[key] = reasons
    return out


def _code_reasons(code_version: str | None, record: EventRecord) -> list[str]:
    before = recorded_code_version(record)
    if before == code_version:
        return []
    return [f"code version changed from {_shown(before)} to {_shown(code_version)}"]


def _parent_reasons(
    graph: AssetGraph,
    key: AssetKey,
    record: EventRecord,
    latest: Mapping[AssetKey, EventRecord],
    events: EventLogStorage,
) -> list[str]:
    """Why the latest materializations (or observations) of the parents of ``key`` make its
    materialization ``record`` stale."""
    reasons: list[str] = []
    for parent in graph.parents(key):
        if graph.node(parent).assets_def.is_observable:
            reason = _observed_reason(parent, record, events)
        else:
            upstream = latest.get(parent)
            if upstream is None:
                continue
            reason = _upstream_reason(parent, upstream, record, events)
        if reason is not None:
            reasons.append(reason)
    return reasons


def _ancestors_hold_data(
    graph: AssetGraph, key: AssetKey, latest: Mapping[AssetKey, EventRecord]
) -> bool:
    """Whether an asset that the view ``key`` reads through views holds data: it was
    materialized, or it is a source (external or observable), which is assumed to exist
    (as in Dagster, where a source without a recorded version has the initial one)."""
    for ancestor in graph.get_non_virtual_ancestor_keys(key):
        node = graph.node(ancestor)
        if ancestor in latest or not node.is_executable or node.assets_def.is_observable:
            return True
    return False


def _through_views(
    graph: AssetGraph,
    key: AssetKey,
    record: EventRecord,
    latest: Mapping[AssetKey, EventRecord],
    events: EventLogStorage,
) -> list[str]:
    """Why the assets behind the virtual parents of ``key`` make ``record`` stale: the view
    holds no data, so a new materialization (or observation) of what it reads is new data for
    ``key``. Each reason names the view it was read through."""
    reasons: list[str] = []
    parents = graph.parents(key)
    seen = set(parents)  # a direct parent's reason is given once, above
    for parent in parents:
        if not graph.node(parent).is_virtual:
            continue
        for ancestor in sorted(graph.get_non_virtual_ancestor_keys(parent)):
            if ancestor in seen:
                continue
            seen.add(ancestor)
            if graph.node(ancestor).assets_def.is_observable:
                reason = _observed_reason(ancestor, record, events, via=parent)
            else:
                upstream = latest.get(ancestor)
                if upstream is None:
                    continue
                reason = _upstream_reason(ancestor, upstream, record, events, via=parent)
            if reason is not None:
                reasons.append(reason)
    return reasons


def _upstream(parent: AssetKey, via: AssetKey | None) -> str:
    """How a reason names the upstream asset, and the view it was read through if any."""
    shown = f"upstream {parent.to_user_string()!r}"
    return shown if via is None else f"{shown} (read through view {via.to_user_string()!r})"


def _upstream_reason(
    parent: AssetKey,
    upstream: EventRecord,
    record: EventRecord,
    events: EventLogStorage,
    via: AssetKey | None = None,
) -> str | None:
    """Why the latest materialization ``upstream`` of ``parent`` makes ``record`` stale, or
    None when it does not. ``via`` is the view ``record``'s asset read ``parent`` through."""
    if upstream.storage_id < record.storage_id or upstream.event.run_id == record.event.run_id:
        # older, or one run wrote both and read the new upstream (a multi-asset, say)
        return None
    version = recorded_data_version(upstream)
    if version is not None:
        # the materialization of the same partition that was the latest when ``record`` ran
        partitions = [upstream.event.partition] if upstream.event.partition is not None else None
        read = events.get_materializations(
            parent, partitions=partitions, before=record.storage_id, limit=1
        )
        if read:
            was = recorded_data_version(read[0])
            if was == version:
                return None  # materialized again, but the data is the same
            return (
                f"{_upstream(parent, via)} has a new data version "
                f"({_shown(version)}, was {_shown(was)})"
            )
    return f"{_upstream(parent, via)} was materialized after it (run {upstream.event.run_id[:8]})"


def observed_data_version(record: EventRecord) -> str | None:
    """The data version an observation of a source asset reported (None without one)."""
    data = record.event.data
    if isinstance(data, AssetObservation):
        return data.tags.get(DATA_VERSION_TAG)
    return None


def _observed_reason(
    parent: AssetKey, record: EventRecord, events: EventLogStorage, via: AssetKey | None = None
) -> str | None:
    """Why the observations of the source ``parent`` make ``record`` stale: the newest
    observed data version differs from the one observed last before ``record`` was made."""
    newest = events.get_observations(parent, limit=1)
    if not newest or newest[0].storage_id < record.storage_id:
        return None  # not observed since: the asset read the version it knows
    now = observed_data_version(newest[0])
    read = events.get_observations(parent, before=record.storage_id, limit=1)
    was = observed_data_version(read[0]) if read else None
    if read and was == now:
        return None  # observed again, but the data is the same
    return f"{_upstream(parent, via)} has a new data version ({_shown(now)}, was {_shown(was)})"
