"""``knoll schedule ...`` and ``knoll sensor ...``: list them with their state, start and stop
them, preview a tick without launching anything, read their ticks, set a sensor's cursor.

The commands that read definitions take the code location like ``knoll run launch`` does
(``-w FILE [--location NAME]``, ``-m MODULE`` / ``-f FILE``, ``--socket PATH``); ``ticks``
reads storage only and needs ``--location`` only when two locations have the name.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from knoll.cli._common import fail, format_duration, format_time, open_instance, short, table
from knoll.cli._servers import ServerChoice, code_servers, server_options

if TYPE_CHECKING:
    from knoll.codeloc.client import CodeServerClient
    from knoll.defs.run_request import RunRequest
    from knoll.instance import Instance
    from knoll.storage.base import InstigatorState, InstigatorType, Tick

_WORKSPACE_HELP = "A workspace.yaml (with --location when it has several locations)."
_LOCATION_HELP = "The location of --workspace that defines it."


@dataclass(frozen=True)
class _Kind:
    """Schedules or sensors: the word, the snapshot's section and the type in storage."""

    word: str
    section: str

    @property
    def instigator_type(self) -> InstigatorType:
        from knoll.storage.base import InstigatorType

        return InstigatorType.SCHEDULE if self.word == "schedule" else InstigatorType.SENSOR


_SCHEDULE = _Kind("schedule", "schedules")
_SENSOR = _Kind("sensor", "sensors")


@dataclass(frozen=True)
class _Location:
    name: str
    client: CodeServerClient
    entries: Sequence[Mapping[str, Any]]


@contextlib.contextmanager
def _location(servers: ServerChoice, kind: _Kind) -> Iterator[_Location]:
    """The one code location the options name, with its schedules or sensors."""
    with contextlib.ExitStack() as stack:
        started = code_servers(stack, servers)
        name, client = next(iter(started.clients.items()))
        snapshot = client.snapshot()
        if snapshot.error is not None or snapshot.snapshot is None:
            message = snapshot.error.message if snapshot.error else "its snapshot is empty"
            fail(
                f"code location {name!r} did not load, so its {kind.section} are unknown: {message}"
            )
        yield _Location(name, client, list(snapshot.snapshot.get(kind.section, ())))


def _entry(location: _Location, kind: _Kind, name: str) -> Mapping[str, Any]:
    from knoll.daemon.instigation import find_instigator, unknown_instigator

    entry = find_instigator(location.entries, name)
    if entry is None:
        fail(unknown_instigator(location.name, location.entries, kind.instigator_type, name))
    return entry


def _status(state: InstigatorState | None, entry: Mapping[str, Any]) -> str:
    from knoll.daemon.locations import instigator_status

    status = instigator_status(state, entry).value
    return status if state is not None else f"{status} (default)"


def _set_status(kind: _Kind, servers: ServerChoice, name: str, running: bool) -> None:
    from knoll.daemon.instigation import set_instigator_running

    instance = open_instance()
    with _location(servers, kind) as location:
        _entry(location, kind, name)
        verb = "started" if running else "stopped"
        changed = set_instigator_running(
            instance, location.name, name, kind.instigator_type, running, time.time()
        )
        if not changed:
            click.echo(f"{kind.word} {name!r} of location {location.name!r} is {verb} already")
            return
        click.echo(f"{verb} {kind.word} {name!r} of location {location.name!r}")
        if running:
            from knoll.cli.daemon import daemon_line

            click.echo(f"daemon: {daemon_line(instance)}", err=True)


def _ticks(kind: _Kind, name: str, location: str | None, limit: int) -> None:
    instance = open_instance()
    where = location or _stored_location(instance, kind, name)
    ticks = instance.storage.get_ticks(where, name, limit=limit)
    if not ticks:
        click.echo(f"{kind.word} {name!r} of location {where!r} has no ticks yet")
        return
    rows = [
        [
            format_time(tick.timestamp),
            tick.status.value,
            ", ".join(tick.run_ids) or "-",
            format_duration(_took(tick)),
            short(_why(tick), 70),
        ]
        for tick in ticks
    ]
    for line in table(rows, ["TIME", "STATUS", "RUNS", "TOOK", "REASON / ERROR"]):
        click.echo(line)


def _took(tick: Tick) -> float | None:
    from knoll.daemon.instigation import tick_duration

    return tick_duration(tick)


def _why(tick: Tick) -> str:
    from knoll.daemon.instigation import tick_reason

    return tick_reason(tick) or "-"


def _stored_location(instance: Instance, kind: _Kind, name: str) -> str:
    """The location of the instigator ``name`` from storage, when --location is not given."""
    places = sorted(
        state.location
        for state in instance.storage.get_instigator_states(kind.instigator_type)
        if state.name == name
    )
    if len(places) == 1:
        return places[0]
    if not places:
        fail(
            f"no {kind.word} named {name!r} has a state in this instance: name its location "
            f"with --location NAME, or check the name with `knoll {kind.word} list -m MODULE`."
        )
    fail(
        f"several code locations have a {kind.word} named {name!r} ({', '.join(places)}): "
        "pick one with --location NAME."
    )


def _last_tick_text(instance: Instance, location: str, name: str) -> str:
    ticks = instance.storage.get_ticks(location, name, limit=1)
    if not ticks:
        return "-"
    return f"{ticks[0].status.value} {format_time(ticks[0].timestamp)}"


def _print_requests(requests: Sequence[RunRequest]) -> None:
    for request in requests:
        parts = [f"job {request.job_name}"]
        if request.partition_key is not None:
            parts.append(f"partition {request.partition_key}")
        if request.run_key is not None:
            parts.append(f"run key {request.run_key}")
        if request.asset_selection:
            keys = ", ".join(key.to_user_string() for key in request.asset_selection)
            parts.append(f"assets {keys}")
        click.echo("run request: " + "; ".join(parts))
        tags = {k: v for k, v in request.tags.items() if not k.startswith("knoll/")}
        if tags:
            click.echo(f"  tags: {json.dumps(tags, sort_keys=True)}")
        if request.run_config:
            click.echo(f"  config: {json.dumps(request.run_config, sort_keys=True, default=str)}")


def _evaluated(what: str, evaluate: Callable[[], Any]) -> Any:
    from knoll.errors import CodeServerError

    try:
        return evaluate()
    except CodeServerError as exc:
        fail(f"{what} could not be evaluated: {exc}", 1)


# ---- knoll schedule ------------------------------------------------------------------------


@click.group()
def schedule() -> None:
    """Schedules: list them, start and stop them, preview a tick, read their ticks."""


@schedule.command("list")
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def schedule_list(servers: ServerChoice) -> None:
    """Each schedule of the location: its status, cron, timezone, next and last tick."""
    from knoll.daemon.schedules import next_cron_time

    instance = open_instance()
    with _location(servers, _SCHEDULE) as location:
        rows = []
        for entry in location.entries:
            name = str(entry["name"])
            state = instance.storage.get_instigator_state(location.name, name)
            status = _status(state, entry)
            next_tick = next_cron_time(entry, time.time()) if status.startswith("RUNNING") else None
            rows.append(
                [
                    name,
                    status,
                    _cron_text(entry["cron_schedule"]),
                    str(entry.get("execution_timezone") or "UTC"),
                    next_tick.isoformat() if next_tick else "-",
                    _last_tick_text(instance, location.name, name),
                ]
            )
    if not rows:
        click.echo(f"location {location.name!r} has no schedules")
        return
    for line in table(rows, ["NAME", "STATUS", "CRON", "TIMEZONE", "NEXT TICK", "LAST TICK"]):
        click.echo(line)


def _cron_text(cron: str | Sequence[str]) -> str:
    return cron if isinstance(cron, str) else " | ".join(cron)


@schedule.command("start")
@click.argument("name")
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def schedule_start(name: str, servers: ServerChoice) -> None:
    """Start schedule NAME: the daemon ticks it from its next cron time on."""
    _set_status(_SCHEDULE, servers, name, running=True)


@schedule.command("stop")
@click.argument("name")
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def schedule_stop(name: str, servers: ServerChoice) -> None:
    """Stop schedule NAME: the daemon no longer ticks it (starting it again does not catch
    up the ticks missed meanwhile)."""
    _set_status(_SCHEDULE, servers, name, running=False)


@schedule.command("preview")
@click.argument("name")
@click.option(
    "--at",
    "at_text",
    help="The tick's time, ISO 8601 (default: the next cron time); without an offset it is "
    "read in the schedule's timezone.",
)
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def schedule_preview(name: str, at_text: str | None, servers: ServerChoice) -> None:
    """Evaluate one tick of schedule NAME and print the runs it would request; nothing is
    launched or recorded."""
    from knoll.daemon.instigation import preview_time

    at = None
    if at_text is not None:
        try:
            at = datetime.fromisoformat(at_text)
        except ValueError:
            fail(f"--at {at_text!r} is not an ISO 8601 time: write e.g. 2024-05-01T06:00.")
    with _location(servers, _SCHEDULE) as location:
        entry = _entry(location, _SCHEDULE, name)
        when = preview_time(entry, at, time.time())
        result = _evaluated(
            f"schedule {name!r}", lambda: location.client.evaluate_schedule(name, when)
        )
    click.echo(f"tick of schedule {name!r} at {when.isoformat()}")
    if not result.run_requests:
        click.echo(f"skipped: {result.skip_message or 'no run requested'}")
    _print_requests(result.run_requests)


@schedule.command("ticks")
@click.argument("name")
@click.option("--location", help="The code location of the schedule (needed when several have it).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
def schedule_ticks(name: str, location: str | None, limit: int) -> None:
    """The latest ticks of schedule NAME: time, status, runs, duration, reason or error."""
    _ticks(_SCHEDULE, name, location, limit)


# ---- knoll sensor --------------------------------------------------------------------------


@click.group()
def sensor() -> None:
    """Sensors: list them, start and stop them, preview a tick, read and set their cursor,
    read their ticks."""


@sensor.command("list")
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def sensor_list(servers: ServerChoice) -> None:
    """Each sensor of the location: its status, interval, cursor and last tick."""
    instance = open_instance()
    with _location(servers, _SENSOR) as location:
        rows = []
        for entry in location.entries:
            name = str(entry["name"])
            state = instance.storage.get_instigator_state(location.name, name)
            cursor = state.cursor if state is not None else None
            rows.append(
                [
                    name,
                    _status(state, entry),
                    f"{entry.get('minimum_interval_seconds', 30)}s",
                    short(cursor if cursor is not None else "-", 30),
                    _last_tick_text(instance, location.name, name),
                ]
            )
    if not rows:
        click.echo(f"location {location.name!r} has no sensors")
        return
    for line in table(rows, ["NAME", "STATUS", "INTERVAL", "CURSOR", "LAST TICK"]):
        click.echo(line)


@sensor.command("start")
@click.argument("name")
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def sensor_start(name: str, servers: ServerChoice) -> None:
    """Start sensor NAME: the daemon evaluates it every minimum_interval_seconds."""
    _set_status(_SENSOR, servers, name, running=True)


@sensor.command("stop")
@click.argument("name")
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def sensor_stop(name: str, servers: ServerChoice) -> None:
    """Stop sensor NAME (its cursor is kept)."""
    _set_status(_SENSOR, servers, name, running=False)


@sensor.command("preview")
@click.argument("name")
@click.option("--cursor", help="Evaluate from this cursor (default: the sensor's stored cursor).")
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def sensor_preview(name: str, cursor: str | None, servers: ServerChoice) -> None:
    """Evaluate sensor NAME once and print the runs it would request and the cursor it would
    move to; nothing is launched or recorded."""
    from knoll.instance.launcher import instance_home

    instance = open_instance()
    with _location(servers, _SENSOR) as location:
        _entry(location, _SENSOR, name)
        if cursor is None:
            state = instance.storage.get_instigator_state(location.name, name)
            cursor = state.cursor if state is not None else None
        home = instance_home(instance)
        result = _evaluated(
            f"sensor {name!r}",
            lambda: location.client.evaluate_sensor(name, cursor=cursor, instance_home=home),
        )
    click.echo(f"tick of sensor {name!r} from cursor {cursor!r}")
    if not result.run_requests:
        click.echo(f"skipped: {result.skip_message or 'no run requested'}")
    _print_requests(result.run_requests)
    for request in result.dynamic_partitions_requests:
        verb = "add" if type(request).__name__.startswith("Add") else "delete"
        keys = ", ".join(request.partition_keys)
        click.echo(f"dynamic partitions: {verb} {keys} in {request.partitions_def_name!r}")
    click.echo(f"new cursor: {result.cursor if result.cursor is not None else cursor!r}")


@sensor.command("cursor")
@click.argument("name")
@click.option("--set", "new_cursor", help="Store this cursor; the next tick starts from it.")
@click.option("--delete", is_flag=True, help="Forget the cursor; the next tick starts afresh.")
@server_options(workspace_help=_WORKSPACE_HELP, location_help=_LOCATION_HELP)
def sensor_cursor(name: str, new_cursor: str | None, delete: bool, servers: ServerChoice) -> None:
    """Print the cursor of sensor NAME, or set it with --set C (or forget it with --delete)."""
    from knoll.daemon.instigation import set_sensor_cursor

    if new_cursor is not None and delete:
        fail("give --set CURSOR or --delete, not both.")
    instance = open_instance()
    with _location(servers, _SENSOR) as location:
        entry = _entry(location, _SENSOR, name)
    if new_cursor is None and not delete:
        state = instance.storage.get_instigator_state(location.name, name)
        cursor = state.cursor if state is not None else None
        click.echo(cursor if cursor is not None else "(no cursor)")
        return
    stored = None if delete else new_cursor
    set_sensor_cursor(instance, location.name, entry, stored, time.time())
    said = "deleted the cursor" if delete else f"set the cursor to {stored!r}"
    click.echo(f"{said} of sensor {name!r} of location {location.name!r}")


@sensor.command("ticks")
@click.argument("name")
@click.option("--location", help="The code location of the sensor (needed when several have it).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
def sensor_ticks(name: str, location: str | None, limit: int) -> None:
    """The latest ticks of sensor NAME: time, status, runs, duration, reason or error."""
    _ticks(_SENSOR, name, location, limit)
