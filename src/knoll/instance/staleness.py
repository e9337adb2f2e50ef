"""Staleness: which assets need materializing again, and why.

An asset is stale when it was never materialized, when its ``code_version`` is not the one its
last materialization recorded, or when an upstream asset was materialized after it (by
another run). Partitioned assets are compared per asset: the latest materialization across
all of their partitions.
"""

from __future__ import annotations

from collections.abc import Mapping

from knoll.definitions.asset_graph import AssetGraph
from knoll.definitions.keys import AssetKey
from knoll.definitions.output import AssetMaterialization
from knoll.execution.events import CODE_VERSION_TAG
from knoll.storage.base import EventRecord

NEVER_MATERIALIZED = "never materialized"


def recorded_code_version(record: EventRecord) -> str | None:
    """The code version a materialization was made with (None when the asset had none)."""
    data = record.event.data
    if isinstance(data, AssetMaterialization):
        return data.tags.get(CODE_VERSION_TAG)
    return None


def _shown(version: str | None) -> str:
    return "none" if version is None else repr(version)


def stale_reasons(
    graph: AssetGraph, latest: Mapping[AssetKey, EventRecord]
) -> dict[AssetKey, list[str]]:
    """Why each stale asset of ``graph`` is stale, given the latest materialization of each
    asset; assets that are up to date (and external assets) are left out."""
    out: dict[AssetKey, list[str]] = {}
    for key in graph.toposorted_keys:
        node = graph.node(key)
        if not node.is_executable:
            continue  # an external asset: knoll does not materialize it
        record = latest.get(key)
        if record is None:
            out[key] = [NEVER_MATERIALIZED]
            continue
        reasons: list[str] = []
        before, now = recorded_code_version(record), node.spec.code_version
        if before != now:
            reasons.append(f"code version changed from {_shown(before)} to {_shown(now)}")
        for parent in graph.parents(key):
            upstream = latest.get(parent)
            if (
                upstream is not None
                and upstream.storage_id > record.storage_id
                # one run that wrote both read the new upstream (a multi-asset, say)
                and upstream.event.run_id != record.event.run_id
            ):
                reasons.append(
                    f"upstream {parent.to_user_string()!r} was materialized after it "
                    f"(run {upstream.event.run_id[:8]})"
                )
        if reasons:
            out[key] = reasons
    return out
