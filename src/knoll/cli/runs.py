"""``knoll run``: list runs, show one, print (and follow) its events and output; launch, cancel."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from knoll.cli._common import (
    fail,
    format_duration,
    format_time,
    open_instance,
    parse_tags,
    short,
    table,
)
from knoll.cli._servers import ServerChoice, code_servers, server_options

if TYPE_CHECKING:
    from knoll.cli._steps import LogPrinter
    from knoll.execution.run import RunStatus
    from knoll.instance import Instance
    from knoll.storage.base import EventRecord, RunRecord

PAGE = 1000  # events fetched per query
IMPLICIT_JOBS = ("__asset_job", "__ephemeral_asset_job__")


@click.group()
def run() -> None:
    """Inspect runs (list them, show one, print its logs), launch and cancel them."""


@run.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    help="Only runs with this status (repeatable): QUEUED, STARTING, STARTED, SUCCESS, "
    "FAILURE, CANCELING, CANCELED.",
)
@click.option(
    "--tag", "tags", multiple=True, help="Only runs with this tag key=value (repeatable)."
)
@click.option("--job", "job_name", help="Only runs of this job.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--cursor", help="Continue a previous listing (printed after a full page).")
def run_list(
    statuses: Sequence[str],
    tags: Sequence[str],
    job_name: str | None,
    limit: int,
    cursor: str | None,
) -> None:
    """List runs, newest first."""
    from knoll.storage.base import RunsFilter

    filters = RunsFilter(
        job_name=job_name,
        statuses=[_parse_status(s) for s in statuses] or None,
        tags=parse_tags(tags) or None,
    )
    page = open_instance().get_runs(filters, limit=limit, cursor=cursor)
    if not page.records:
        click.echo("no runs." if cursor is None else "no more runs.")
        return
    rows = [
        [
            r.run.run_id,
            r.run.status.value,
            _job_label(r),
            _partition_label(r) or "-",
            format_time(r.create_timestamp),
            format_duration(_duration(r)),
            # knoll's own tags (partitions, ...) have their column or `knoll run show`
            ", ".join(
                f"{k}={v}" for k, v in sorted(r.run.tags.items()) if not k.startswith("knoll/")
            ),
        ]
        for r in page.records
    ]
    header = ["RUN ID", "STATUS", "JOB", "PARTITION", "CREATED", "DURATION", "TAGS"]
    for line in table(rows, header):
        click.echo(line)
    if page.cursor is not None and len(page.records) == limit:
        click.echo(f"more runs: knoll run list --cursor {page.cursor} ...", err=True)


def _parse_status(text: str) -> RunStatus:
    from knoll._utils import did_you_mean
    from knoll.execution.run import RunStatus

    try:
        return RunStatus(text.upper())
    except ValueError:
        names = [s.value for s in RunStatus]
        fail(
            f"--status {text!r} is not a run status.{did_you_mean(text.upper(), names)} "
            f"Statuses: {', '.join(names)}."
        )


def _job_label(record: RunRecord) -> str:
    run = record.run
    if run.job_name not in IMPLICIT_JOBS:
        return run.job_name
    keys = sorted(k.to_user_string() for k in run.asset_selection or ())
    return short("assets: " + ", ".join(keys), 40)


def _partition_label(record: RunRecord) -> str | None:
    from knoll.execution.run import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

    tags = record.run.tags
    if record.run.partition_key is not None:
        return record.run.partition_key
    start, end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    return f"{start}...{end}" if start is not None and end is not None else None


def _duration(record: RunRecord) -> float | None:
    if record.start_time is None:
        return None
    end = record.end_time if record.end_time is not None else time.time()
    return end - record.start_time


def _resolve(instance: Instance, run_id: str | None, last: bool) -> RunRecord:
    if last == (run_id is not None):
        fail("give a run id, or --last for the newest run.")
    if run_id is not None:
        return instance.get_run(run_id)
    page = instance.get_runs(limit=1)
    if not page.records:
        fail("no runs in this instance yet. Start one with `knoll asset materialize`.")
    return page.records[0]


@run.command("show")
@click.argument("run_id", required=False)
@click.option("--last", is_flag=True, help="Show the newest run.")
def run_show(run_id: str | None, last: bool) -> None:
    """Show a run: status, job, tags, config, timing and the outcome of each step.

    RUN_ID may be a unique prefix of the id.
    """
    from knoll.cli._steps import summarize_steps, was_pruned

    instance = open_instance()
    record = _resolve(instance, run_id, last)
    run = record.run
    events = _all_events(instance, run.run_id)
    click.echo(f"run {run.run_id}")
    click.echo(f"  status:    {run.status.value}")
    if run.status.value in ("FAILURE", "CANCELED"):
        _print_end_reason(events)
    click.echo(f"  job:       {run.job_name}")
    if run.asset_selection:
        keys = sorted(k.to_user_string() for k in run.asset_selection)
        click.echo(f"  assets:    {', '.join(keys)}")
    partition = _partition_label(record)
    if partition is not None:
        click.echo(f"  partition: {partition}")
    if run.parent_run_id:
        click.echo(f"  parent:    {run.parent_run_id} (root {run.root_run_id or '-'})")
    click.echo(f"  created:   {format_time(record.create_timestamp)}")
    click.echo(f"  started:   {format_time(record.start_time)}")
    ended = format_time(record.end_time) if record.end_time is not None else "-"
    click.echo(f"  ended:     {ended}  (took {format_duration(_duration(record))})")
    tags = ", ".join(f"{k}={v}" for k, v in sorted(run.tags.items()))
    click.echo(f"  tags:      {tags or '-'}")
    click.echo(f"  config:    {_config_text(run.run_config)}")
    if run.is_finished and was_pruned({e.event.event_type.value for e in events}):
        click.echo("steps: pruned (the run's asset materializations and check results are kept)")
        return
    steps = summarize_steps(events, finished=run.is_finished)
    if not steps:
        click.echo("steps: none recorded")
        return
    click.echo("steps:")
    rows = [[s.key, s.outcome, format_duration(s.duration), s.detail] for s in steps]
    for line in table(rows, ["STEP", "OUTCOME", "TOOK", "DETAIL"]):
        click.echo(f"  {line}")
    failed = [s for s in steps if s.error]
    if failed:
        click.echo("failures:")
        for step in failed:
            click.echo(f"  {step.key}: {step.error}")
    click.echo(f"events and captured output: knoll run logs {run.run_id}")


def _print_end_reason(events: Sequence[EventRecord]) -> None:
    """Why a failed or canceled run ended: the message of its last RUN_FAILURE or
    RUN_CANCELED event, and the class and first line of the error it carries, the innermost
    of its causes (the first line only when the message does not say it already). A failure
    outside any step, such as an unset environment variable or a dead worker, is recorded
    only there."""
    from knoll.execution.events import EventType, RunFailureData

    ends = (EventType.RUN_FAILURE, EventType.RUN_CANCELED)
    end = next((r.event for r in reversed(events) if r.event.event_type in ends), None)
    if end is None:
        return  # pruned, or ended by an older knoll without an event
    message = " ".join(end.message.split())
    click.echo(f"  reason:    {message}")
    error = end.data.error if isinstance(end.data, RunFailureData) else None
    if error is None:
        return
    while error.cause is not None:
        error = error.cause  # the user's exception, under knoll's wrapping
    lines = error.message.strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    said = not first or first in message  # then the class is what the error adds
    click.echo(f"  error:     {error.class_name}" + ("" if said else f": {first}"))


def _config_text(config: object) -> str:
    if not config:
        return "-"
    import yaml

    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False).rstrip()
    return "\n" + "\n".join(f"    {line}" for line in text.splitlines())


def _all_events(instance: Instance, run_id: str) -> list[EventRecord]:
    events: list[EventRecord] = []
    cursor = 0
    while True:
        page = instance.get_events(run_id, after=cursor, limit=PAGE)
        events.extend(page.records)
        cursor = page.cursor
        if not page.has_more:
            return events


@run.command("logs")
@click.argument("run_id", required=False)
@click.option("--last", is_flag=True, help="The newest run.")
@click.option("--step", "step_key", help="Only this step's events and output.")
@click.option(
    "--worker",
    "worker_only",
    is_flag=True,
    help="Only the run worker process's own output (worker.log): what it wrote outside steps.",
)
@click.option("--follow", is_flag=True, help="Keep printing new events until the run finishes.")
@click.option(
    "--interval",
    default=0.5,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between polls with --follow.",
)
def run_logs(
    run_id: str | None,
    last: bool,
    step_key: str | None,
    worker_only: bool,
    follow: bool,
    interval: float,
) -> None:
    """Print a run's events, each step's captured stdout and stderr, and, for a launched run,
    the output of its run worker process (what it printed outside steps too, such as a
    crash's traceback).

    With --follow, new events are printed as the run writes them, and the command exits once
    the run has finished. RUN_ID may be a unique prefix of the id.
    """
    from knoll.cli._steps import LogPrinter, was_pruned

    if worker_only and step_key is not None:
        fail("--worker shows the run worker's output and --step one step's: give one of them.")
    if worker_only and follow:
        fail("--worker prints the run worker's output as it is now: leave out --follow.")
    instance = open_instance()
    record = _resolve(instance, run_id, last)
    run_id = record.run.run_id
    if worker_only:
        _print_worker_only(instance, record)
        return
    printer = LogPrinter(instance, run_id)
    try:
        finished = _print_events(instance, printer, record, step_key, follow, interval)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    if step_key is not None and not printer.seen_steps and finished:
        _unknown_step(instance, run_id, step_key)
    if finished and step_key is None and was_pruned(printer.seen_types):
        click.echo(
            "(this run's other events and its logs were pruned; its asset materializations, "
            "observations and check results are kept)"
        )
    printer.print_unfinished_steps()
    if step_key is None:
        _print_worker_output(instance, record)
    if not finished:
        click.echo(f"run {run_id} is {record.run.status.value}; --follow to keep watching it.")


def _print_worker_only(instance: Instance, record: RunRecord) -> None:
    run_id = record.run.run_id
    if not _print_worker_output(instance, record):
        click.echo(
            f"run {run_id} has no run worker output: {_worker_log(instance, run_id)} is "
            "empty or missing (the run was not launched through a code server, or its "
            "worker printed nothing)."
        )


def _print_events(
    instance: Instance,
    printer: LogPrinter,
    record: RunRecord,
    step_key: str | None,
    follow: bool,
    interval: float,
) -> bool:
    """Print the run's events page by page (with ``follow``, until it finishes); whether the
    run had finished when the last page was read."""
    run_id = record.run.run_id
    cursor = 0
    finished = record.run.is_finished
    while True:
        page = instance.get_events(run_id, after=cursor, limit=PAGE, step_key=step_key)
        printer.print_events(page.records)
        cursor = page.cursor
        if page.has_more:
            continue
        if finished or not follow:
            return finished
        # The run's status changes in the same transaction as its last event, so once it
        # reads as finished one more pass picks up everything that is left.
        finished = instance.get_run(run_id).run.is_finished
        if not finished:
            time.sleep(interval)


def _worker_log(instance: Instance, run_id: str) -> Path:
    # where run_worker.py sends a worker's own stdout and stderr
    return instance.compute_logs.run_dir(run_id) / "worker.log"


def _print_worker_output(instance: Instance, record: RunRecord) -> bool:
    """Print what the run's worker process wrote, under a heading; False if nothing."""
    from knoll.instance.monitor import RESUME_ATTEMPT_TAG

    run_id = record.run.run_id
    try:
        text = _worker_log(instance, run_id).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not text.strip():
        return False
    beat = instance.get_run_heartbeats([run_id]).get(run_id)
    who = "the run worker"
    if RESUME_ATTEMPT_TAG in record.run.tags:
        who = "the run workers"  # each resume appends to the same file
        pid = f" (the last: pid {beat.pid})" if beat is not None else ""
    else:
        pid = f" (pid {beat.pid})" if beat is not None else ""
    click.echo(f"--- output of {who}{pid} ---")
    click.echo(text.rstrip("\n"))
    click.echo(f"--- end of output of {who} ---")
    return True


def _unknown_step(instance: Instance, run_id: str, step_key: str) -> None:
    from knoll._utils import did_you_mean

    keys = sorted({e.event.step_key for e in _all_events(instance, run_id) if e.event.step_key})
    fail(
        f"run {run_id} has no step {step_key!r}.{did_you_mean(step_key, keys)} "
        f"Steps: {', '.join(keys) or 'none'}."
    )


# ---- launching and cancelling ----------------------------------------------------------------

_STEP_LINES = frozenset(
    {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED", "ASSET_MATERIALIZATION"}
)


@run.command("launch")
@server_options(
    workspace_help="A workspace.yaml holding the location.",
    location_help="The location of --workspace that defines the job.",
)
@click.option("--job", "job_name", help="The job to run.")
@click.option("--select", help="The assets to run, e.g. 'orders+' (within --job if given).")
@click.option("--config", "config_path", help="Run config YAML file.")
@click.option("--tag", "tags", multiple=True, help="Run tag key=value (repeatable).")
@click.option("--partition", help="Partition key to run.")
@click.option("--partition-range", help="Partition key range START...END, in one run.")
@click.option("--queue", is_flag=True, help="Put the run in the run queue instead of starting it.")
@click.option("--wait/--no-wait", default=True, help="Wait for the run to finish (default).")
def run_launch(  # noqa: PLR0913 (one parameter per command-line option)
    servers: ServerChoice,
    job_name: str | None,
    select: str | None,
    config_path: str | None,
    tags: Sequence[str],
    partition: str | None,
    partition_range: str | None,
    queue: bool,
    wait: bool,
) -> None:
    """Launch a run in a worker process forked from the location's code server.

    Give the location with -w FILE [--location NAME] or -m MODULE / -f FILE (a code server is
    started for the command), or --socket PATH of a running code server. The run id is
    printed; unless --no-wait or --queue, the command then shows the run's steps and exits
    with 0 if it succeeded, 1 if not.
    """
    from knoll.instance.launcher import LaunchRequest

    if not job_name and not select:
        fail("say what to run: --job NAME, --select SELECTION, or both.")
    start, sep, end = (partition_range or "").partition("...")
    if partition_range and (not sep or not start or not end):
        fail(f"--partition-range {partition_range!r} must look like START...END.")
    if partition and partition_range:
        fail("give --partition or --partition-range, not both.")
    run_config: dict[str, object] = {}
    if config_path:
        from knoll.defs.run_config import load_run_config

        run_config = load_run_config(config_path)
    request = LaunchRequest(
        job_name=job_name,
        asset_selection=select,
        run_config=run_config,
        tags=parse_tags(tags),
        partition_key=partition,
        partition_range_start=start or None,
        partition_range_end=end or None,
    )
    instance = open_instance()
    with contextlib.ExitStack() as stack:
        client = code_servers(stack, servers).only
        record = instance.launch_run(request, client, queue=queue)
    run_id = record.run.run_id
    if queue:
        from knoll.cli._loop_status import queued_line

        click.echo(f"queued run {run_id}")
        click.echo(queued_line(instance, _queue_worker_command(servers)), err=True)
        return
    click.echo(f"launched run {run_id}")
    if wait:
        _follow(instance, run_id)


def _queue_worker_command(servers: ServerChoice) -> str:
    """The ``knoll run queue-worker`` command that serves the location given to launch."""
    import shlex

    options: list[str] = []
    if servers.socket_path is not None:
        options = ["--socket", servers.socket_path]
    elif servers.workspace_file is not None:
        options = ["-w", servers.workspace_file]
        options += ["--location", servers.location] if servers.location is not None else []
    else:
        options = ["-m", servers.module_name] if servers.module_name else []
        options += ["-f", servers.python_file] if servers.python_file else []
        wd = servers.working_directory
        options += ["-d", wd] if wd else []
    return shlex.join(["knoll", "run", "queue-worker", *options])


def _follow(instance: Instance, run_id: str) -> None:
    """Print the run's steps as its worker records them; exit 1 unless it succeeded."""
    from knoll.cli._common import EXIT_RUN_FAILED
    from knoll.cli._steps import format_event_line

    cursor = 0
    finished = False
    try:
        while True:
            page = instance.get_events(run_id, after=cursor, limit=PAGE)
            for record in page.records:
                if record.event.event_type.value in _STEP_LINES:
                    click.echo(format_event_line(record))
            cursor = page.cursor
            if page.has_more:
                continue
            if finished:
                break
            finished = instance.get_run(run_id).run.is_finished  # one more pass once it is
            if not finished:
                time.sleep(0.1)
    except KeyboardInterrupt:
        click.echo(
            f"\nrun {run_id} goes on in its worker; follow it with `knoll run logs {run_id} "
            f"--follow`, or stop it with `knoll run cancel {run_id}`.",
            err=True,
        )
        raise SystemExit(130) from None
    status = instance.get_run(run_id).run.status
    click.echo(f"run {run_id} {status.value}")
    if status.value != "SUCCESS":
        click.echo(f"see what happened: knoll run show {run_id}", err=True)
        raise SystemExit(EXIT_RUN_FAILED)


@run.command("cancel")
@click.argument("run_id", required=False)
@click.option("--last", is_flag=True, help="Cancel the newest run that has not finished.")
@click.option(
    "--grace",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds the run's worker has to stop after SIGTERM before it is killed.",
)
def run_cancel(run_id: str | None, last: bool, grace: float) -> None:
    """Cancel a queued or running run: RUN_ID (a unique prefix of the id will do), or with
    --last the newest run that has not finished."""
    if last == (run_id is not None):
        fail("give a run id, or --last for the newest run that has not finished.")
    instance = open_instance()
    if run_id is None:
        run_id = _newest_unfinished(instance)
    record = instance.cancel_run(run_id, grace_seconds=grace)
    if record.run.status.value == "CANCELED":
        click.echo(f"run {record.run.run_id} CANCELED")
    else:
        click.echo(
            f"run {record.run.run_id} finished ({record.run.status.value}) before it could be "
            "canceled."
        )


def _newest_unfinished(instance: Instance) -> str:
    """The id of the newest run that is queued, starting, started or canceling."""
    from knoll.execution.run import RunStatus
    from knoll.storage.base import RunsFilter

    unfinished = [status for status in RunStatus if not status.is_finished]
    page = instance.get_runs(RunsFilter(statuses=unfinished), limit=1)
    if not page.records:
        fail(
            f"no run to cancel in {instance.settings.storage.describe()}: none is queued or in "
            "progress. `knoll run list` shows the runs there are."
        )
    return page.records[0].run.run_id
