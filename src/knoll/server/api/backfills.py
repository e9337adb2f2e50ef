"""Backfills, as ``knoll backfill ...`` launches, lists, shows, cancels and resumes them:
``POST /backfills`` checks the request against the code location's definitions (selection or
job, partitions, run config) and stores it as REQUESTED, or answers 422 and stores nothing;
the daemon's ``backfills`` duty submits its runs (``knoll daemon run``). Progress is read
from the stored backfill and its runs: per group of assets (or the job) and per partition.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from knoll._utils import did_you_mean
from knoll.daemon.backfill import (
    BackfillRequest,
    Progress,
    backfill_progress,
    cancel_backfill,
    launch_backfill,
    resume_backfill,
)
from knoll.daemon.backfill.control import STATE_NAMES
from knoll.errors import InvalidInvocationError
from knoll.server.api._locations import unknown_location
from knoll.server.auth import Editor, Viewer
from knoll.server.auth.principal import Role, ensure_role
from knoll.server.context import Context, ServerContext
from knoll.server.pagination import Cursor, Limit, Page, cursor_value, encode_cursor, page_of
from knoll.server.problems import Problem
from knoll.storage.base import Backfill, BackfillStatus

router = APIRouter(tags=["backfills"])

_STATES = ", ".join(STATE_NAMES.values())


# ---- models ----------------------------------------------------------------------------------


class GroupInfo(BaseModel):
    """One group of assets backfilled together (or the job): its partitions by state."""

    name: str
    assets: list[str]
    partitions: dict[str, int] = Field(
        description=f"How many partitions are in each state: {_STATES}."
    )


class BackfillInfo(BaseModel):
    backfill_id: str
    status: str = Field(description="REQUESTED, COMPLETED, FAILED, CANCELING or CANCELED.")
    created_timestamp: float
    kind: str = Field(description="assets or job.")
    target: str = Field(description="The asset selection, or the job's name.")
    location: str
    requested: str = Field(description="Which partitions were asked for, as written.")
    tags: dict[str, str]
    error: str | None
    partitions: dict[str, int] = Field(description=f"Totals over the groups by state: {_STATES}.")
    groups: list[GroupInfo]


class PartitionInfo(BaseModel):
    group: str
    partition: str
    state: str = Field(description=f"One of {_STATES}.")
    run_id: str | None = Field(description="The run that materializes it, once submitted.")


class PartitionRange(BaseModel):
    first: str
    last: str


class TimeWindowBody(BaseModel):
    start: datetime = Field(description="ISO 8601; without an offset, in the partitions' zone.")
    end: datetime


class LaunchBackfill(BaseModel):
    """What to backfill (``selection`` or ``job_name``), which partitions (exactly one of
    ``partition_keys``, ``partition_range``, ``all_partitions``, ``time_window``), and the
    run tags and config of every run."""

    location: str | None = Field(
        default=None, description="The code location (may be left out when there is one)."
    )
    selection: str | None = Field(default=None, description="An asset selection: 'orders+'.")
    job_name: str | None = Field(default=None, description="A partitioned job.")
    partition_keys: list[str] | None = None
    partition_range: PartitionRange | None = None
    all_partitions: bool = False
    time_window: TimeWindowBody | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    run_config: dict[str, Any] = Field(default_factory=dict)


class Resumed(BaseModel):
    backfill: BackfillInfo
    partitions_requested: int = Field(description="How many partitions are requested again.")


# ---- what the routes share ---------------------------------------------------------------


def _stored(context: ServerContext, backfill_id: str) -> Backfill:
    backfill = context.instance.storage.get_backfill(backfill_id)
    if backfill is None:
        recent = [b.backfill_id for b in context.instance.storage.get_backfills(limit=100)]
        raise Problem(
            404,
            "Not Found",
            f"There is no backfill {backfill_id!r}.{did_you_mean(backfill_id, recent)}",
            object=backfill_id,
            fix="GET /api/v1/backfills lists the backfills there are.",
        )
    return backfill


def _info(progress: Progress) -> BackfillInfo:
    stored, body = progress.backfill, progress.body
    return BackfillInfo(
        backfill_id=stored.backfill_id,
        status=stored.status.value,
        created_timestamp=stored.created_timestamp,
        kind=body.kind,
        target=body.target,
        location=body.location,
        requested=body.requested,
        tags=dict(body.tags),
        error=body.error,
        partitions={name: progress.total(name) for name in STATE_NAMES.values()},
        groups=[
            GroupInfo(name=group.name, assets=list(group.assets), partitions=dict(group.partitions))
            for group in progress.groups
        ],
    )


def _status(text: str | None) -> BackfillStatus | None:
    if text is None:
        return None
    try:
        return BackfillStatus(text.upper())
    except ValueError:
        names = ", ".join(status.value for status in BackfillStatus)
        raise Problem(
            422,
            "Invalid status",
            f"status {text!r} is not a backfill status: use one of {names}.",
            object="status",
        ) from None


def _location(context: ServerContext, wanted: str | None) -> str:
    names = context.locations.names
    if wanted is None:
        if len(names) == 1:
            return names[0]
        raise Problem(
            422,
            "Invalid backfill",
            f"the workspace has {len(names)} code locations ({', '.join(names) or 'none'}): "
            "say which one defines what to backfill.",
            object="location",
            fix="Give 'location' in the request body.",
        )
    if wanted not in context.locations.clients:
        raise unknown_location(context, wanted)
    return wanted


def _request(body: LaunchBackfill) -> BackfillRequest:
    if (body.selection is None) == (body.job_name is None):
        raise Problem(
            422,
            "Invalid backfill",
            "say what to backfill: 'selection' (an asset selection, e.g. 'orders+') or "
            "'job_name' (a partitioned job), one of them.",
            object="selection",
        )
    ways = [
        body.partition_keys is not None,
        body.partition_range is not None,
        body.all_partitions,
        body.time_window is not None,
    ]
    if sum(ways) != 1:
        raise Problem(
            422,
            "Invalid backfill",
            "say which partitions in one way: 'partition_keys' (a list), 'partition_range' "
            "({first, last}, both included), 'all_partitions': true, or 'time_window' "
            "({start, end}).",
            object="partitions",
        )
    window = body.time_window
    if window is not None and not window.start < window.end:
        raise Problem(
            422,
            "Invalid backfill",
            f"time_window: start {window.start.isoformat()} is not before end "
            f"{window.end.isoformat()}: give a window whose start comes first.",
            object="time_window",
        )
    return BackfillRequest(
        selection=body.selection,
        job_name=body.job_name,
        partition_keys=body.partition_keys,
        partition_range=(body.partition_range.first, body.partition_range.last)
        if body.partition_range is not None
        else None,
        all_partitions=body.all_partitions,
        time_window=(window.start, window.end) if window is not None else None,
        tags=body.tags,
        run_config=body.run_config,
    )


def _partitions(progress: Progress, state: str | None) -> Iterator[PartitionInfo]:
    for group in progress.groups:
        for key, state_name, run_id in group.by_partition:
            if state is None or state_name == state:
                yield PartitionInfo(
                    group=group.name, partition=key, state=state_name, run_id=run_id
                )


# ---- routes ------------------------------------------------------------------------------


@router.get("/backfills", response_model=Page[BackfillInfo])
def list_backfills(
    context: Context,
    principal: Viewer,
    status: Annotated[
        str | None, Query(description="Only backfills with this status, e.g. REQUESTED.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[BackfillInfo]:
    """Backfills, newest first, each with its progress."""
    wanted = _status(status)
    before = cursor_value(cursor, "before", str)
    storage = context.instance.storage
    found = storage.get_backfills(status=wanted, limit=limit + 1, before=before)
    return page_of(
        found,
        limit,
        lambda backfill: _info(backfill_progress(context.instance, backfill.backfill_id)),
        lambda backfill: {"before": backfill.backfill_id},
    )


@router.post("/backfills", response_model=BackfillInfo, status_code=201)
def launch(body: LaunchBackfill, context: Context, principal: Editor) -> BackfillInfo:
    """Check the backfill against the location's definitions and store it as REQUESTED (a
    request that does not fit them is a 422 and nothing is stored); the daemon submits its
    runs, upstream partitions before the downstream ones that read them."""
    location = _location(context, body.location)
    ensure_role(principal, Role.EDITOR, location)
    request = _request(body)
    with context.locations.lock(location):
        client = context.locations.clients[location]
        try:
            stored = launch_backfill(context.instance, client, request)
        except InvalidInvocationError as exc:
            raise Problem(422, "Invalid backfill", str(exc)) from None
    return _info(backfill_progress(context.instance, stored.backfill_id))


@router.get("/backfills/{backfill_id}", response_model=BackfillInfo)
def get_backfill(backfill_id: str, context: Context, principal: Viewer) -> BackfillInfo:
    """One backfill: its status and partitions by state, per group of assets (or the job)."""
    _stored(context, backfill_id)
    return _info(backfill_progress(context.instance, backfill_id))


@router.get("/backfills/{backfill_id}/partitions", response_model=Page[PartitionInfo])
def backfill_partitions(
    backfill_id: str,
    context: Context,
    principal: Viewer,
    state: Annotated[
        str | None, Query(description=f"Only partitions in this state: {_STATES}.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[PartitionInfo]:
    """Each partition of the backfill, group by group: its state and its run."""
    if state is not None and state not in STATE_NAMES.values():
        raise Problem(
            422,
            "Invalid state",
            f"state {state!r} is not a partition state of a backfill: use one of {_STATES}.",
            object="state",
        )
    start = cursor_value(cursor, "offset", int) or 0
    _stored(context, backfill_id)
    every = list(_partitions(backfill_progress(context.instance, backfill_id), state))
    page = every[start : start + limit]
    more = start + limit < len(every)
    return Page(items=page, next_cursor=encode_cursor({"offset": start + limit}) if more else None)


@router.post("/backfills/{backfill_id}/cancel", response_model=BackfillInfo)
def cancel(backfill_id: str, context: Context, principal: Editor) -> BackfillInfo:
    """Stop the backfill: the daemon requests no more of its runs, cancels its queued runs
    (runs already started finish) and marks it CANCELED. Canceling one that is CANCELING
    changes nothing."""
    backfill = _stored(context, backfill_id)
    ensure_role(principal, Role.EDITOR, _body_location(backfill.body))
    try:
        cancel_backfill(context.instance, backfill_id)
    except InvalidInvocationError as exc:
        raise Problem(409, "Conflict", str(exc), object=backfill_id) from None
    return _info(backfill_progress(context.instance, backfill_id))


@router.post("/backfills/{backfill_id}/resume", response_model=Resumed)
def resume(backfill_id: str, context: Context, principal: Editor) -> Resumed:
    """Request again what a FAILED or CANCELED backfill did not materialize (failed,
    canceled, skipped and never-requested partitions); the daemon submits their runs."""
    backfill = _stored(context, backfill_id)
    ensure_role(principal, Role.EDITOR, _body_location(backfill.body))
    try:
        again = resume_backfill(context.instance, backfill_id)
    except InvalidInvocationError as exc:
        raise Problem(409, "Conflict", str(exc), object=backfill_id) from None
    info = _info(backfill_progress(context.instance, backfill_id))
    return Resumed(backfill=info, partitions_requested=again)


def _body_location(body: Mapping[str, Any]) -> str | None:
    location = body.get("location")
    return location if isinstance(location, str) else None
