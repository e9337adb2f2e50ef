"""Staleness: which assets need materializing again, and why.

An asset is stale when it was never materialized, when its ``code_version`` is not the one its
last materialization recorded, or when an upstream asset was materialized after it (by
another run). When that upstream materialization reported a data version, it makes the asset
stale only if the version differs from the one of the upstream materialization the asset
read (the latest one of the same partition before it). Partitioned assets are compared per
asset: the latest materialization across all of their partitions.
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
            out[key] = [NEVER_MATERIALIZED]
            continue
        reasons: list[str] = []
        before, now = recorded_code_version(record), node.spec.code_version
        if before != now:
            reasons.append(f"code version changed from {_shown(before)} to {_shown(now)}")
        for parent in graph.parents(key):
            if graph.node(parent).assets_def.is_observable:
                reason = _observed_reason(parent, record, events)
                if reason is not None:
                    reasons.append(reason)
                continue
            upstream = latest.get(parent)
            if upstream is not None:
                reason = _upstream_reason(parent, upstream, record, events)
                if reason is not None:
                    reasons.append(reason)
        if reasons:
            out[key] = reasons
    return out


def _upstream_reason(
    parent: AssetKey, upstream: EventRecord, record: EventRecord, events: EventLogStorage
) -> str | None:
    """Why the latest materialization ``upstream`` of ``parent`` makes ``record`` stale, or
    None when it does not."""
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
                f"upstream {parent.to_user_string()!r} has a new data version "
                f"({_shown(version)}, was {_shown(was)})"
            )
    return (
        f"upstream {parent.to_user_string()!r} was materialized after it "
        f"(run {upstream.event.run_id[:8]})"
    )


def observed_data_version(record: EventRecord) -> str | None:
    """The data version an observation of a source asset reported (None without one)."""
    data = record.event.data
    if isinstance(data, AssetObservation):
        return data.tags.get(DATA_VERSION_TAG)
    return None


def _observed_reason(parent: AssetKey, record: EventRecord, events: EventLogStorage) -> str | None:
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
    return (
        f"upstream {parent.to_user_string()!r} has a new data version "
        f"({_shown(now)}, was {_shown(was)})"
    )
