"""What the porting tests compare: an asset graph as plain data."""

from __future__ import annotations

from typing import Any

from knoll import Definitions


def graph_of(defs: Definitions) -> dict[str, dict[str, Any]]:
    """Each asset key (``a/b``) with its sorted upstream keys, group and partition keys."""
    graph = defs.get_asset_graph()
    summary: dict[str, dict[str, Any]] = {}
    for node in graph.nodes():
        partitions_def = node.assets_def.partitions_def
        summary[node.key.to_user_string()] = {
            "deps": sorted(key.to_user_string() for key in graph.parents(node.key)),
            "group": node.group_name,
            "partitions": None if partitions_def is None else partitions_def.get_partition_keys(),
        }
    return summary
