"""How many objects ``@asset`` leaves behind for the garbage collector.

A code location with thousands of assets keeps every definition alive; each object the
collector tracks is scanned again by every full collection, which made decorating 10,000
assets cost about a third more than the work itself. The count is deterministic, so it is
pinned here instead of a time.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from knoll import AssetKey, Definitions, asset

ASSETS = 300
# Measured 9.3 when this was written (21 before equal definitions were shared).
MAX_TRACKED_PER_ASSET = 12


def layered_functions(count: int, prefix: str = "f") -> list[Callable[..., Any]]:
    """``count`` plain functions, each below the first taking two of the layer above.

    A ``prefix`` not used before gives names that no cache of knoll has seen yet.
    """
    lines: list[str] = []
    width = 20
    for index in range(count):
        layer, column = divmod(index, width)
        params = (
            ""
            if layer == 0
            else ", ".join(
                f"{prefix}{(layer - 1) * width + (column + step) % width}: int" for step in (0, 1)
            )
        )
        lines += [f"def {prefix}{index}({params}) -> int:", "    return 1"]
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    return [namespace[f"{prefix}{index}"] for index in range(count)]


def test_asset_keeps_few_tracked_objects_per_asset() -> None:
    functions = layered_functions(ASSETS + 1)
    asset(functions[0])  # first use: caches and lazily loaded modules are not counted
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        assets = [asset(fn) for fn in functions[1:]]
        gc.collect()
        per_asset = (len(gc.get_objects()) - before) / ASSETS
    finally:
        if was_enabled:
            gc.enable()
    assert per_asset <= MAX_TRACKED_PER_ASSET, (
        f"@asset now leaves {per_asset:.1f} GC-tracked objects per asset (at most "
        f"{MAX_TRACKED_PER_ASSET}): share immutable definitions or build fewer of them"
    )
    assert len(assets) == ASSETS


# Measured 12.6 when this was written (16.6 before empty tags and metadata were shared).
MAX_ALLOCATIONS_PER_ASSET = 14


def test_asset_allocates_few_collector_objects_per_asset() -> None:
    """Objects the collector counts, tracked or not: every 700 of them start a collection.

    Empty dicts and tuples are not tracked, but allocating them still counts towards the next
    collection, and every tenth of those towards a full one.
    """
    functions = layered_functions(ASSETS + 1, prefix="alloc")
    asset(functions[0])
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        before = gc.get_count()[0]
        assets = [asset(fn) for fn in functions[1:]]
        per_asset = (gc.get_count()[0] - before) / ASSETS
    finally:
        if was_enabled:
            gc.enable()
    assert per_asset <= MAX_ALLOCATIONS_PER_ASSET, (
        f"@asset now leaves {per_asset:.1f} objects of collected types per asset (at most "
        f"{MAX_ALLOCATIONS_PER_ASSET}): share immutable values such as empty mappings"
    )
    assert len(assets) == ASSETS


def test_adding_tags_to_one_asset_leaves_the_others_empty() -> None:
    first, second = (asset(fn) for fn in layered_functions(2, prefix="tagged"))
    spec = first.specs_by_output["result"].merge_attributes(
        tags={"team": "sales"}, metadata={"rows": 3}
    )
    assert spec.tags == {"team": "sales"}
    assert set(spec.metadata) == {"rows"}
    other = second.specs_by_output["result"]
    assert other.tags == {}
    assert other.metadata == {}
    assert first.specs_by_output["result"].tags == {}
    assert second.op is not None
    assert second.op.tags == {}


def test_shared_definitions_still_describe_each_asset() -> None:
    functions = layered_functions(60)
    assets = [asset(fn) for fn in functions]
    defs = Definitions(assets=assets)
    child = defs.get_assets_def(AssetKey("f25"))
    assert child.input_keys == {"f5": AssetKey("f5"), "f6": AssetKey("f6")}
    assert [d.asset_key for d in child.specs_by_output["result"].deps] == [
        AssetKey("f5"),
        AssetKey("f6"),
    ]
    op_def = child.op
    assert op_def is not None
    assert list(op_def.input_defs) == ["f5", "f6"]
    assert op_def.input_defs["f5"].type is int
    assert op_def.output_defs["result"].type is int
    assert defs.get_asset_graph().parents(AssetKey("f25")) == [AssetKey("f5"), AssetKey("f6")]
    assert child(f5=1, f6=2) == 1
