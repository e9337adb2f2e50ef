"""Schedules and sensors of each code location, as ``knoll schedule ...`` and ``knoll sensor
...`` show and change them: their state (running or stopped, honouring ``default_status``),
start and stop (launcher), their ticks, a preview of one tick evaluated by the code server
(nothing launched or recorded), and a sensor's cursor (launcher sets or forgets it).

Routes live under ``/locations/{location}/schedules`` and ``/locations/{location}/sensors``;
the daemon ticks what is running (``knoll daemon run``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from knoll.daemon.instigation import (
    find_instigator,
    instigator_word,
    preview_time,
    set_instigator_running,
    set_sensor_cursor,
    tick_duration,
    tick_reason,
    unknown_instigator,
)
from knoll.daemon.locations import instigator_status
from knoll.daemon.schedules import next_cron_time
from knoll.defs.run_request import RunRequest
from knoll.instance.launcher import instance_home
from knoll.server.api._locations import unknown_location
from knoll.server.auth import Launcher, Viewer
from knoll.server.auth.principal import Principal, Role, ensure_role
from knoll.server.context import Context, ServerContext
from knoll.server.pagination import Cursor, Limit, Page, cursor_value, encode_cursor, page_of
from knoll.server.problems import Problem
from knoll.storage.base import InstigatorStatus, InstigatorType, Tick

router = APIRouter(tags=["schedules and sensors"])

SCHEDULE = InstigatorType.SCHEDULE
SENSOR = InstigatorType.SENSOR


# ---- response models -------------------------------------------------------------------------


class TickInfo(BaseModel):
    """One evaluation of a schedule or sensor. ``timestamp`` is a schedule's scheduled time
    or when a sensor's tick began; ``reason`` is the first line of the error, the skip reason
    or the run keys, as ``knoll schedule ticks`` prints it."""

    tick_id: int
    status: str = Field(description="STARTED, SKIPPED, SUCCESS or FAILURE.")
    timestamp: float
    run_ids: list[str]
    run_keys: list[str]
    skip_reason: str | None
    error: str | None
    cursor: str | None = Field(description="The cursor a sensor's tick moved to.")
    duration_seconds: float | None = Field(description="How long it took, once it ended.")
    reason: str | None


class ScheduleInfo(BaseModel):
    location: str
    name: str
    status: str = Field(description="RUNNING or STOPPED.")
    status_is_default: bool = Field(
        description="True when never started or stopped: the status is its default_status."
    )
    cron_schedule: str | list[str]
    execution_timezone: str
    job_name: str | None
    description: str | None
    next_tick: datetime | None = Field(description="Its next cron time, while it runs.")
    last_tick: TickInfo | None


class SensorInfo(BaseModel):
    location: str
    name: str
    status: str = Field(description="RUNNING or STOPPED.")
    status_is_default: bool = Field(
        description="True when never started or stopped: the status is its default_status."
    )
    minimum_interval_seconds: int
    job_names: list[str]
    description: str | None
    cursor: str | None
    last_tick: TickInfo | None


class StatusChange(BaseModel):
    """What start or stop did: ``changed`` is False when it was so already."""

    location: str
    name: str
    status: str
    changed: bool
    message: str


class RequestedRun(BaseModel):
    """A run a previewed tick would request."""

    job_name: str | None
    partition_key: str | None
    run_key: str | None
    asset_selection: list[str] | None
    tags: dict[str, str] = Field(description="Its tags, without knoll's own knoll/ tags.")
    run_config: dict[str, Any] | None


class SchedulePreview(BaseModel):
    name: str
    scheduled_time: datetime
    run_requests: list[RequestedRun]
    skip_message: str | None


class DynamicPartitionsChange(BaseModel):
    action: str = Field(description="add or delete.")
    partitions_def_name: str
    partition_keys: list[str]


class SensorPreview(BaseModel):
    name: str
    cursor: str | None = Field(description="The cursor the tick was evaluated from.")
    new_cursor: str | None = Field(description="The cursor the tick would move to.")
    run_requests: list[RequestedRun]
    skip_message: str | None
    dynamic_partitions_requests: list[DynamicPartitionsChange]


class SensorCursor(BaseModel):
    location: str
    name: str
    cursor: str | None


class SchedulePreviewBody(BaseModel):
    at: datetime | None = Field(
        default=None,
        description="The tick's time, ISO 8601 (default: the next cron time); without an "
        "offset it is read in the schedule's timezone.",
    )


class SensorPreviewBody(BaseModel):
    cursor: str | None = Field(
        default=None, description="Evaluate from this cursor (default: the stored one)."
    )


class CursorBody(BaseModel):
    cursor: str = Field(description="The cursor the next tick starts from.")


# ---- what the routes share ---------------------------------------------------------------


def location_entries(
    context: ServerContext, location: str, instigator_type: InstigatorType
) -> list[Mapping[str, Any]]:
    """The schedules or sensors of ``location``'s snapshot, or the problem saying why there
    are none to read."""
    section = instigator_word(instigator_type) + "s"
    if location not in context.locations.clients:
        raise unknown_location(context, location)
    located = context.locations.snapshot(location)
    if located.error is not None or located.snapshot is None:
        message = located.error.message if located.error else "its snapshot is empty"
        raise Problem(
            409,
            "Code location not loaded",
            f"code location {location!r} did not load, so its {section} are unknown: {message}",
            object=location,
            fix="Fix the location's code, then reload it.",
        )
    return list(located.snapshot.get(section, ()))


def _entry(
    entries: Sequence[Mapping[str, Any]],
    location: str,
    instigator_type: InstigatorType,
    name: str,
) -> Mapping[str, Any]:
    entry = find_instigator(entries, name)
    if entry is None:
        word = instigator_word(instigator_type)
        raise Problem(
            404,
            "Not Found",
            unknown_instigator(location, entries, instigator_type, name),
            object=name,
            fix=f"GET /api/v1/locations/{location}/{word}s lists them.",
        )
    return entry


def tick_info(tick: Tick) -> TickInfo:
    return TickInfo(
        tick_id=tick.tick_id,
        status=tick.status.value,
        timestamp=tick.timestamp,
        run_ids=list(tick.run_ids),
        run_keys=list(tick.run_keys),
        skip_reason=tick.skip_reason,
        error=tick.error,
        cursor=tick.cursor,
        duration_seconds=tick_duration(tick),
        reason=tick_reason(tick),
    )


def _last_tick(context: ServerContext, location: str, name: str) -> TickInfo | None:
    ticks = context.instance.storage.get_ticks(location, name, limit=1)
    return tick_info(ticks[0]) if ticks else None


def _schedule_info(
    context: ServerContext, location: str, entry: Mapping[str, Any], now: float
) -> ScheduleInfo:
    name = str(entry["name"])
    state = context.instance.storage.get_instigator_state(location, name)
    status = instigator_status(state, entry)
    running = status is InstigatorStatus.RUNNING
    return ScheduleInfo(
        location=location,
        name=name,
        status=status.value,
        status_is_default=state is None,
        cron_schedule=entry["cron_schedule"],
        execution_timezone=str(entry.get("execution_timezone") or "UTC"),
        job_name=entry.get("job_name"),
        description=entry.get("description"),
        next_tick=next_cron_time(entry, now) if running else None,
        last_tick=_last_tick(context, location, name),
    )


def _sensor_info(context: ServerContext, location: str, entry: Mapping[str, Any]) -> SensorInfo:
    name = str(entry["name"])
    state = context.instance.storage.get_instigator_state(location, name)
    return SensorInfo(
        location=location,
        name=name,
        status=instigator_status(state, entry).value,
        status_is_default=state is None,
        minimum_interval_seconds=int(entry.get("minimum_interval_seconds", 30)),
        job_names=list(entry.get("job_names", ())),
        description=entry.get("description"),
        cursor=state.cursor if state is not None else None,
        last_tick=_last_tick(context, location, name),
    )


def _page_of_entries(
    entries: Sequence[Mapping[str, Any]], limit: int, cursor: str | None
) -> tuple[list[Mapping[str, Any]], str | None]:
    after = cursor_value(cursor, "after", str)
    ordered = sorted(entries, key=lambda entry: str(entry["name"]))
    if after is not None:
        ordered = [entry for entry in ordered if str(entry["name"]) > after]
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, encode_cursor({"after": str(page[-1]["name"])}) if more else None


def _set_running(
    context: ServerContext,
    principal: Principal,
    location: str,
    name: str,
    instigator_type: InstigatorType,
    running: bool,
) -> StatusChange:
    ensure_role(principal, Role.LAUNCHER, location)
    entries = location_entries(context, location, instigator_type)
    _entry(entries, location, instigator_type, name)
    changed = set_instigator_running(
        context.instance, location, name, instigator_type, running, time.time()
    )
    word = instigator_word(instigator_type)
    verb = "started" if running else "stopped"
    message = (
        f"{verb} {word} {name!r} of location {location!r}"
        if changed
        else f"{word} {name!r} of location {location!r} is {verb} already"
    )
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    return StatusChange(
        location=location, name=name, status=status.value, changed=changed, message=message
    )


def _ticks(
    context: ServerContext,
    location: str,
    name: str,
    instigator_type: InstigatorType,
    limit: int,
    cursor: str | None,
) -> Page[TickInfo]:
    before = None
    if cursor is not None:
        stamp = cursor_value(cursor, "timestamp", float)
        tick_id = cursor_value(cursor, "tick_id", int)
        before = (stamp, tick_id) if stamp is not None and tick_id is not None else None
    entries = location_entries(context, location, instigator_type)
    storage = context.instance.storage
    ticks = storage.get_ticks(location, name, limit=limit + 1, before=before)
    if not ticks and before is None and find_instigator(entries, name) is None:
        _entry(entries, location, instigator_type, name)  # a name with no ticks: say so
    return page_of(
        ticks,
        limit,
        tick_info,
        lambda tick: {"timestamp": float(tick.timestamp), "tick_id": tick.tick_id},
    )


def _requested(requests: Sequence[RunRequest]) -> list[RequestedRun]:
    return [
        RequestedRun(
            job_name=request.job_name,
            partition_key=request.partition_key,
            run_key=request.run_key,
            asset_selection=[key.to_user_string() for key in request.asset_selection]
            if request.asset_selection
            else None,
            tags={k: v for k, v in request.tags.items() if not k.startswith("knoll/")},
            run_config=json.loads(json.dumps(dict(request.run_config), default=str))
            if request.run_config
            else None,
        )
        for request in requests
    ]


# ---- schedules ---------------------------------------------------------------------------


@router.get("/locations/{location}/schedules", response_model=Page[ScheduleInfo])
def list_schedules(
    location: str, context: Context, principal: Viewer, limit: Limit = 100, cursor: Cursor = None
) -> Page[ScheduleInfo]:
    """The location's schedules by name: state, cron, timezone, next and last tick."""
    entries = location_entries(context, location, SCHEDULE)
    page, next_cursor = _page_of_entries(entries, limit, cursor)
    now = time.time()
    items = [_schedule_info(context, location, entry, now) for entry in page]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/locations/{location}/schedules/{name}", response_model=ScheduleInfo)
def get_schedule(location: str, name: str, context: Context, principal: Viewer) -> ScheduleInfo:
    """One schedule: state, cron, timezone, next and last tick."""
    entry = _entry(location_entries(context, location, SCHEDULE), location, SCHEDULE, name)
    return _schedule_info(context, location, entry, time.time())


@router.post("/locations/{location}/schedules/{name}/start", response_model=StatusChange)
def start_schedule(location: str, name: str, context: Context, principal: Launcher) -> StatusChange:
    """Start the schedule: the daemon ticks it from its next cron time on (starting one that
    runs already changes nothing)."""
    return _set_running(context, principal, location, name, SCHEDULE, running=True)


@router.post("/locations/{location}/schedules/{name}/stop", response_model=StatusChange)
def stop_schedule(location: str, name: str, context: Context, principal: Launcher) -> StatusChange:
    """Stop the schedule: the daemon no longer ticks it, and starting it again does not catch
    up the ticks missed meanwhile."""
    return _set_running(context, principal, location, name, SCHEDULE, running=False)


@router.get("/locations/{location}/schedules/{name}/ticks", response_model=Page[TickInfo])
def schedule_ticks(
    location: str,
    name: str,
    context: Context,
    principal: Viewer,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[TickInfo]:
    """The schedule's ticks, newest first: status, skip reason, error, runs, duration."""
    return _ticks(context, location, name, SCHEDULE, limit, cursor)


@router.post("/locations/{location}/schedules/{name}/preview", response_model=SchedulePreview)
def preview_schedule(
    location: str,
    name: str,
    body: SchedulePreviewBody,
    context: Context,
    principal: Launcher,
) -> SchedulePreview:
    """Evaluate one tick of the schedule in the code server (its user code runs) and answer
    the runs it would request; nothing is launched or recorded."""
    ensure_role(principal, Role.LAUNCHER, location)
    entry = _entry(location_entries(context, location, SCHEDULE), location, SCHEDULE, name)
    when = preview_time(entry, body.at, time.time())
    with context.locations.lock(location):
        result = context.locations.clients[location].evaluate_schedule(name, when)
    return SchedulePreview(
        name=name,
        scheduled_time=when,
        run_requests=_requested(result.run_requests),
        skip_message=None if result.run_requests else result.skip_message or "no run requested",
    )


# ---- sensors -----------------------------------------------------------------------------


@router.get("/locations/{location}/sensors", response_model=Page[SensorInfo])
def list_sensors(
    location: str, context: Context, principal: Viewer, limit: Limit = 100, cursor: Cursor = None
) -> Page[SensorInfo]:
    """The location's sensors by name: state, interval, cursor and last tick."""
    entries = location_entries(context, location, SENSOR)
    page, next_cursor = _page_of_entries(entries, limit, cursor)
    items = [_sensor_info(context, location, entry) for entry in page]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/locations/{location}/sensors/{name}", response_model=SensorInfo)
def get_sensor(location: str, name: str, context: Context, principal: Viewer) -> SensorInfo:
    """One sensor: state, interval, cursor and last tick."""
    entry = _entry(location_entries(context, location, SENSOR), location, SENSOR, name)
    return _sensor_info(context, location, entry)


@router.post("/locations/{location}/sensors/{name}/start", response_model=StatusChange)
def start_sensor(location: str, name: str, context: Context, principal: Launcher) -> StatusChange:
    """Start the sensor: the daemon evaluates it every minimum_interval_seconds."""
    return _set_running(context, principal, location, name, SENSOR, running=True)


@router.post("/locations/{location}/sensors/{name}/stop", response_model=StatusChange)
def stop_sensor(location: str, name: str, context: Context, principal: Launcher) -> StatusChange:
    """Stop the sensor (its cursor is kept)."""
    return _set_running(context, principal, location, name, SENSOR, running=False)


@router.get("/locations/{location}/sensors/{name}/ticks", response_model=Page[TickInfo])
def sensor_ticks(
    location: str,
    name: str,
    context: Context,
    principal: Viewer,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[TickInfo]:
    """The sensor's ticks, newest first: status, skip reason, error, runs, cursor, duration."""
    return _ticks(context, location, name, SENSOR, limit, cursor)


@router.post("/locations/{location}/sensors/{name}/preview", response_model=SensorPreview)
def preview_sensor(
    location: str,
    name: str,
    body: SensorPreviewBody,
    context: Context,
    principal: Launcher,
) -> SensorPreview:
    """Evaluate the sensor once in the code server (its user code runs) from ``cursor`` (by
    default its stored cursor) and answer the runs it would request and the cursor it would
    move to; nothing is launched or recorded."""
    ensure_role(principal, Role.LAUNCHER, location)
    _entry(location_entries(context, location, SENSOR), location, SENSOR, name)
    cursor = body.cursor
    if cursor is None:
        state = context.instance.storage.get_instigator_state(location, name)
        cursor = state.cursor if state is not None else None
    home = instance_home(context.instance)
    with context.locations.lock(location):
        client = context.locations.clients[location]
        result = client.evaluate_sensor(name, cursor=cursor, instance_home=home)
    changes = [
        DynamicPartitionsChange(
            action="add" if type(request).__name__.startswith("Add") else "delete",
            partitions_def_name=request.partitions_def_name,
            partition_keys=list(request.partition_keys),
        )
        for request in result.dynamic_partitions_requests
    ]
    return SensorPreview(
        name=name,
        cursor=cursor,
        new_cursor=result.cursor if result.cursor is not None else cursor,
        run_requests=_requested(result.run_requests),
        skip_message=None if result.run_requests else result.skip_message or "no run requested",
        dynamic_partitions_requests=changes,
    )


@router.get("/locations/{location}/sensors/{name}/cursor", response_model=SensorCursor)
def get_sensor_cursor(
    location: str, name: str, context: Context, principal: Viewer
) -> SensorCursor:
    """The sensor's stored cursor (null when it has none)."""
    _entry(location_entries(context, location, SENSOR), location, SENSOR, name)
    state = context.instance.storage.get_instigator_state(location, name)
    cursor = state.cursor if state is not None else None
    return SensorCursor(location=location, name=name, cursor=cursor)


@router.put("/locations/{location}/sensors/{name}/cursor", response_model=SensorCursor)
def set_cursor(
    location: str, name: str, body: CursorBody, context: Context, principal: Launcher
) -> SensorCursor:
    """Store a cursor for the sensor: its next tick starts from it (its status is kept)."""
    ensure_role(principal, Role.LAUNCHER, location)
    entry = _entry(location_entries(context, location, SENSOR), location, SENSOR, name)
    set_sensor_cursor(context.instance, location, entry, body.cursor, time.time())
    return SensorCursor(location=location, name=name, cursor=body.cursor)


@router.delete("/locations/{location}/sensors/{name}/cursor", response_model=SensorCursor)
def delete_cursor(location: str, name: str, context: Context, principal: Launcher) -> SensorCursor:
    """Forget the sensor's cursor: its next tick starts afresh (its status is kept)."""
    ensure_role(principal, Role.LAUNCHER, location)
    entry = _entry(location_entries(context, location, SENSOR), location, SENSOR, name)
    set_sensor_cursor(context.instance, location, entry, None, time.time())
    return SensorCursor(location=location, name=name, cursor=None)
