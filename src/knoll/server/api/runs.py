"""Reading runs: ``/runs`` (filtered, newest first, a keyset cursor on storage's run order),
one run, its events (a cursor on event storage ids, which never skips an event that commits
late) and its steps' captured stdout and stderr."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from knoll._serdes import pack
from knoll._utils import did_you_mean
from knoll.defs.keys import AssetKey
from knoll.errors import KnollError, StorageError
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.instance.launcher import LOCATION_TAG
from knoll.server.auth import Viewer
from knoll.server.context import Context, ServerContext
from knoll.server.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    cursor_value,
    encode_cursor,
)
from knoll.server.problems import Problem, not_found
from knoll.storage.base import EventRecord, RunRecord, RunsFilter

router = APIRouter(tags=["runs"])

LOG_CHUNK_MAX = 1024 * 1024
_LIST_FIX = "GET /api/v1/runs lists the runs."
_ASSET_FIX = "Write an asset key with slashes between its parts, such as ?asset=sales/orders."
_MAX_STORAGE_ID = 2**63 - 1


class RunModel(BaseModel):
    """One run: what it runs, its status, tags, config, lineage and timing (seconds since the
    epoch, UTC)."""

    run_id: str
    status: RunStatus
    job_name: str
    location: str | None
    asset_selection: list[str] | None
    asset_check_selection: list[str] | None
    partition_key: str | None
    tags: dict[str, str]
    run_config: dict[str, Any]
    parent_run_id: str | None
    root_run_id: str | None
    created_at: float
    updated_at: float
    start_time: float | None
    end_time: float | None

    @staticmethod
    def of(record: RunRecord) -> RunModel:
        run = record.run
        selection = run.asset_selection
        checks = run.asset_check_selection
        return RunModel(
            run_id=run.run_id,
            status=run.status,
            job_name=run.job_name,
            location=run.tags.get(LOCATION_TAG),
            asset_selection=sorted(k.to_user_string() for k in selection)
            if selection is not None
            else None,
            asset_check_selection=sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in checks)
            if checks is not None
            else None,
            partition_key=run.partition_key,
            tags=dict(run.tags),
            run_config=dict(run.run_config),
            parent_run_id=run.parent_run_id,
            root_run_id=run.root_run_id,
            created_at=record.create_timestamp,
            updated_at=record.update_timestamp,
            start_time=record.start_time,
            end_time=record.end_time,
        )


class EventModel(BaseModel):
    """One event of a run; ``data`` is its payload as knoll's versioned JSON (null when it
    has none)."""

    storage_id: int
    event_type: EventType
    run_id: str
    job_name: str
    timestamp: float
    step_key: str | None
    message: str
    level: int
    data: Any

    @staticmethod
    def of(record: EventRecord) -> EventModel:
        event = record.event
        return EventModel(
            storage_id=record.storage_id,
            event_type=event.event_type,
            run_id=event.run_id,
            job_name=event.job_name,
            timestamp=event.timestamp,
            step_key=event.step_key,
            message=event.message,
            level=event.level,
            data=pack(event.data) if event.data is not None else None,
        )


class EventsPageModel(Page[EventModel]):
    """A page of a run's events, oldest first. ``next_cursor`` is null only once the run has
    finished and every event was given; while it runs, keep passing it back to get the new
    events (a page with no items means none yet). ``run_status`` is the run's status as read
    before the events."""

    run_status: RunStatus


class LogChunkModel(BaseModel):
    """Text a step wrote to one stream after byte ``offset``: pass ``next_offset`` back to
    follow it. ``exists`` is false while the step has not written to the stream."""

    run_id: str
    step_key: str
    stream: Literal["stdout", "stderr"]
    offset: int
    next_offset: int
    text: str
    exists: bool


def run_record(context: ServerContext, run_id: str) -> RunRecord:
    """The stored run ``run_id`` (its whole id), or the 404 problem."""
    record = context.instance.storage.get_run(run_id)
    if record is None:
        raise not_found("run", run_id, _LIST_FIX)
    return record


def _tag_filter(tags: list[str]) -> dict[str, str] | None:
    parsed: dict[str, str] = {}
    for text in tags:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise Problem(
                422,
                "Invalid tag filter",
                f"tag {text!r} is not key=value.",
                object="tag",
                fix="Write each tag filter as key=value, for example ?tag=team=sales.",
            )
        if key in parsed and parsed[key] != value:
            raise Problem(
                422,
                "Invalid tag filter",
                f"tag {key!r} is given twice, as {parsed[key]!r} and {value!r}: no run has both.",
                object="tag",
                fix=f"Give one value for tag {key!r}.",
            )
        parsed[key] = value
    return parsed or None


def _asset_filter(asset: str | None) -> AssetKey | None:
    if asset is None:
        return None
    if not asset.strip("/"):
        raise Problem(
            422,
            "Invalid asset key",
            f"asset {asset!r} is not an asset key.",
            object="asset",
            fix=_ASSET_FIX,
        )
    try:
        return AssetKey.from_user_string(asset)
    except KnollError as exc:
        raise Problem(
            422,
            "Invalid asset key",
            str(exc),
            object="asset",
            fix=_ASSET_FIX,
        ) from None


def _invalid_cursor(cursor: str) -> Problem:
    return Problem(
        400,
        "Invalid cursor",
        f"cursor {cursor!r} is not a cursor this list gave out.",
        object="cursor",
        fix="Pass the next_cursor of the previous page unchanged, or leave cursor out to "
        "start from the first page.",
    )


@router.get("/runs", response_model=Page[RunModel])
def list_runs(  # noqa: PLR0913 (one parameter per filter)
    context: Context,
    principal: Viewer,
    status: Annotated[
        list[RunStatus] | None, Query(description="Only runs with one of these statuses.")
    ] = None,
    job: Annotated[str | None, Query(description="Only runs of this job.")] = None,
    tag: Annotated[
        list[str] | None, Query(description="Only runs with this tag key=value (every one).")
    ] = None,
    asset: Annotated[
        str | None, Query(description="Only runs that selected this asset, such as sales/orders.")
    ] = None,
    created_after: Annotated[
        float | None,
        Query(allow_inf_nan=False, description="Only runs created after this time (epoch s)."),
    ] = None,
    created_before: Annotated[
        float | None,
        Query(allow_inf_nan=False, description="Only runs created before this time (epoch s)."),
    ] = None,
    run_id: Annotated[list[str] | None, Query(description="Only runs with these ids.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[RunModel]:
    """Runs matching every filter given, newest first."""
    filters = RunsFilter(
        run_ids=run_id,
        job_name=job,
        statuses=status,
        tags=_tag_filter(tag or []),
        asset_key=_asset_filter(asset),
        created_after=created_after,
        created_before=created_before,
    )
    after = cursor_value(cursor, "runs", str)
    try:
        page = context.instance.storage.get_runs(filters, limit=limit, cursor=after)
    except StorageError:
        if cursor is None:
            raise
        raise _invalid_cursor(cursor) from None
    next_cursor = encode_cursor({"runs": page.cursor}) if page.cursor is not None else None
    return Page(items=[RunModel.of(r) for r in page.records], next_cursor=next_cursor)


@router.get("/runs/{run_id}", response_model=RunModel)
def get_run(context: Context, principal: Viewer, run_id: str) -> RunModel:
    """One run, by its whole id."""
    return RunModel.of(run_record(context, run_id))


@router.get("/runs/{run_id}/events", response_model=EventsPageModel)
def run_events(
    context: Context,
    principal: Viewer,
    run_id: str,
    event_types: Annotated[
        list[EventType] | None, Query(alias="type", description="Only events of these types.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> EventsPageModel:
    """A run's events in the order they were stored, after ``cursor``."""
    # Read the status first: a run's last event is stored in the transaction that finishes
    # it, so when it reads as finished here, the events read next include the last one.
    status = run_record(context, run_id).run.status
    after = cursor_value(cursor, "after", int)
    if after is not None and not 0 <= after <= _MAX_STORAGE_ID:
        raise _invalid_cursor(cursor or "")
    page = context.instance.get_events(run_id, after=after or 0, limit=limit, of_types=event_types)
    done = status.is_finished and not page.has_more
    return EventsPageModel(
        items=[EventModel.of(r) for r in page.records],
        next_cursor=None if done else encode_cursor({"after": page.cursor}),
        run_status=status,
    )


@router.get("/runs/{run_id}/logs/{step_key}", response_model=LogChunkModel)
def step_logs(
    context: Context,
    principal: Viewer,
    run_id: str,
    step_key: str,
    stream: Literal["stdout", "stderr"] = "stdout",
    offset: Annotated[int, Query(ge=0, description="The byte to read from.")] = 0,
    max_bytes: Annotated[
        int, Query(ge=1, le=LOG_CHUNK_MAX, description="Read at most this many bytes.")
    ] = 64 * 1024,
) -> LogChunkModel:
    """What one step of a run wrote to its stdout or stderr, from byte ``offset``."""
    record = run_record(context, run_id)
    logs = context.instance.compute_logs
    steps = logs.step_keys(run_id)
    if step_key not in steps and record.run.is_finished:
        shown = ", ".join(steps) or "none"
        raise Problem(
            404,
            "Not Found",
            f"run {run_id} has no compute logs for step {step_key!r}."
            f"{did_you_mean(step_key, steps)} Its steps with logs: {shown}.",
            object=step_key,
            fix=f"Ask for one of the steps of the run: GET /api/v1/runs/{run_id}/events "
            "lists what each step did.",
        )
    chunk = logs.tail(run_id, step_key, stream=stream, offset=offset, max_bytes=max_bytes)
    return LogChunkModel(
        run_id=run_id,
        step_key=step_key,
        stream=stream,
        offset=offset,
        next_offset=chunk.next_offset,
        text=chunk.text,
        exists=chunk.exists,
    )
