"""Warning events for dependencies on undefined assets that look like typos.

A dependency on an asset no definition provides is an external asset (as in Dagster), so a
run that reads it does not fail; but when the key is one edit away from a defined key
(``deps=["order"]`` beside ``orders``), each step that depends on it records a WARNING
LOG_MESSAGE naming both keys, the way cut metadata values are warned of.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from knoll.execution.events import EventType

if TYPE_CHECKING:
    from knoll.defs.asset_graph import AssetGraph
    from knoll.defs.keys import AssetKey
    from knoll.execution.plan import ExecutionPlan
    from knoll.execution.run_state import EventWriter

__all__ = ["near_miss_message", "warn_of_near_misses"]


def near_miss_message(
    owner: str, missing: AssetKey, defined: AssetKey, verb: str = "depends on"
) -> str:
    """The warning for ``owner`` depending on (or checking) undefined ``missing``, close to
    ``defined``."""
    return (
        f"{owner} {verb} {missing.to_user_string()!r}, which no definition provides, so "
        f"it is an external asset; did you mean {defined.to_user_string()!r}? Fix the key, or "
        f"declare AssetSpec({missing.to_user_string()!r}) in Definitions(assets=...) to "
        "silence this warning."
    )


def warn_of_near_misses(writer: EventWriter, plan: ExecutionPlan, graph: AssetGraph | None) -> None:
    """One warning event per step of ``plan`` for each near-miss dependency it has."""
    if graph is None or not graph.implicit_external_keys:
        return
    near = graph.near_misses()
    if not near:
        return
    for step in plan.steps:
        assets_def = step.assets_def
        if assets_def is None:
            continue
        missing = sorted(
            {d.asset_key for s in assets_def.specs_by_output.values() for d in s.deps} & set(near)
        )
        for key in missing:
            message = near_miss_message(step.describe(), key, near[key])
            writer.emit(EventType.LOG_MESSAGE, step.key, message, logging.WARNING)
