"""Automation evaluations, as ``knoll asset automation KEY`` prints them: per asset, each
evaluation of its automation condition as a tree (true, false or skipped per node, for which
partitions), what it requested and in which runs; per code location, the daemon's automation
ticks. The daemon's ``automation`` duty records them (``knoll daemon run``).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from knoll._utils import did_you_mean
from knoll.defs.automation_eval_records import AutomationEvaluationRecord, ConditionNodeEvaluation
from knoll.defs.keys import AssetKey
from knoll.server.api._locations import unknown_location
from knoll.server.auth import Viewer
from knoll.server.context import Context, ServerContext
from knoll.server.pagination import Cursor, Limit, Page, cursor_value, page_of
from knoll.server.problems import Problem
from knoll.storage.base import AutomationTickRecord

router = APIRouter(tags=["automation"])


class ConditionNode(BaseModel):
    """One node of a condition tree as evaluated. ``verdict`` is ``skip`` when an AND before
    it left nothing to decide on (no candidates)."""

    label: str
    target: str | None = Field(
        description="The dependency or check it was evaluated for, when not the asset itself."
    )
    verdict: str = Field(description="true, false or skip.")
    true_partitions: list[str | None] = Field(
        description="The partitions it was true for (null: the one slice of an unpartitioned "
        "asset)."
    )
    candidates: int = Field(description="How many partitions it decided on.")
    children: list[ConditionNode]


class AutomationEvaluation(BaseModel):
    """One evaluation of one asset's automation condition."""

    asset_key: str
    location: str
    evaluation_id: int
    timestamp: float
    requested_partitions: list[str | None]
    num_requested: int
    run_ids: list[str]
    catch_up: str | None = Field(description="How a tick after a pause bounded its request.")
    condition: ConditionNode


class AutomationTickInfo(BaseModel):
    """One evaluation of a location's automation conditions by the daemon."""

    location: str
    evaluation_id: int
    timestamp: float
    assets_evaluated: int
    requested: dict[str, list[str | None]] = Field(
        description="The partitions requested, by asset key (the assets that requested any)."
    )
    run_ids: list[str]


def _node(node: ConditionNodeEvaluation) -> ConditionNode:
    verdict = "skip" if node.candidates == 0 else "true" if node.is_true else "false"
    return ConditionNode(
        label=node.label,
        target=node.target,
        verdict=verdict,
        true_partitions=list(node.true_partitions),
        candidates=node.candidates,
        children=[_node(child) for child in node.children],
    )


def _evaluation(record: AutomationEvaluationRecord) -> AutomationEvaluation:
    return AutomationEvaluation(
        asset_key=record.asset_key.to_user_string(),
        location=record.location,
        evaluation_id=record.evaluation_id,
        timestamp=record.timestamp,
        requested_partitions=list(record.requested_partitions),
        num_requested=record.num_requested,
        run_ids=list(record.run_ids),
        catch_up=record.catch_up,
        condition=_node(record.condition),
    )


def _workspace_assets(context: ServerContext) -> list[str]:
    """The asset keys (a/b/c) of every location that loaded."""
    names: list[str] = []
    for location in context.locations.names:
        located = context.locations.snapshot(location)
        if located.snapshot is not None:
            names.extend("/".join(entry["key"]) for entry in located.snapshot.get("assets", ()))
    return names


@router.get("/automation/assets/{asset_key:path}", response_model=Page[AutomationEvaluation])
def asset_evaluations(
    asset_key: str,
    context: Context,
    principal: Viewer,
    limit: Limit = 3,
    cursor: Cursor = None,
) -> Page[AutomationEvaluation]:
    """The latest evaluations of the asset's automation condition (key ``a/b/c``), newest
    first: the condition tree node by node, the partitions requested and their runs."""
    key = AssetKey.from_user_string(asset_key)
    before = None
    location = cursor_value(cursor, "location", str)
    evaluation_id = cursor_value(cursor, "evaluation_id", int)
    if location is not None and evaluation_id is not None:
        before = (location, evaluation_id)
    storage = context.instance.storage
    records = storage.get_automation_evaluations(key, limit=limit + 1, before=before)
    if not records and before is None:
        known = _workspace_assets(context)
        if asset_key not in known:
            raise Problem(
                404,
                "Not Found",
                f"There is no asset {asset_key!r} in the workspace, and no automation "
                f"evaluation of it is recorded.{did_you_mean(asset_key, known)}",
                object=asset_key,
                fix="Write the key as a/b/c; the assets of each location are in its snapshot.",
            )
    return page_of(
        records,
        limit,
        _evaluation,
        lambda record: {"location": record.location, "evaluation_id": record.evaluation_id},
    )


@router.get("/automation/locations/{location}/ticks", response_model=Page[AutomationTickInfo])
def automation_ticks(
    location: str,
    context: Context,
    principal: Viewer,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AutomationTickInfo]:
    """The daemon's evaluations of the location's automation conditions, newest first: how
    many assets each evaluated, what it requested and the runs it queued."""
    if location not in context.locations.clients:
        raise unknown_location(context, location)
    before = cursor_value(cursor, "before", int)
    storage = context.instance.storage
    ticks = storage.get_automation_ticks(location, limit=limit + 1, before=before)
    return page_of(ticks, limit, _tick_info, lambda tick: {"before": tick.evaluation_id})


def _tick_info(tick: AutomationTickRecord) -> AutomationTickInfo:
    return AutomationTickInfo(
        location=tick.location,
        evaluation_id=tick.evaluation_id,
        timestamp=tick.timestamp,
        assets_evaluated=len(tick.records),
        requested={
            record.asset_key.to_user_string(): list(record.requested_partitions)
            for record in tick.records
            if record.requested_partitions
        },
        run_ids=sorted({run_id for record in tick.records for run_id in record.run_ids}),
    )
