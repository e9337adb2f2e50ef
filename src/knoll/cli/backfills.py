"""``knoll backfill``: launch a backfill, list backfills, show one's progress, cancel, resume.

The daemon's ``backfills`` duty (``knoll daemon run``) submits the runs of a launched backfill
to the run queue; these commands only read and change what is stored."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import click

from knoll.cli._common import fail, format_time, open_instance, parse_tags, table
from knoll.cli._servers import ServerChoice, code_servers, server_options

if TYPE_CHECKING:
    from knoll.daemon.backfill import BackfillRequest

SHOWN_RUN_IDS = 10  # run ids printed per state and group; --runs prints every one


@click.group()
def backfill() -> None:
    """Materialize many partitions: launch a backfill (the daemon submits its runs), list
    backfills, show one's progress, cancel or resume it."""


@backfill.command("launch")
@server_options(
    workspace_help="A workspace.yaml holding the location.",
    location_help="The location of --workspace that defines the assets or the job.",
)
@click.option("--select", help="The assets to backfill, e.g. 'orders+'.")
@click.option("--job", "job_name", help="The partitioned job to backfill (one run per partition).")
@click.option("--partitions", "key_range", help="The partitions FIRST..LAST (both included).")
@click.option("--partition", "keys", multiple=True, help="A partition key (repeatable).")
@click.option("--all", "all_partitions", is_flag=True, help="Every partition.")
@click.option("--from", "start", help="With --to: the time partitions from this time (ISO 8601).")
@click.option("--to", "end", help="With --from: the time partitions up to this time.")
@click.option("--tag", "tags", multiple=True, help="Run tag key=value (repeatable).")
@click.option("--config", "config_path", help="Run config YAML file for every run.")
def backfill_launch(  # noqa: PLR0913 (one parameter per command-line option)
    servers: ServerChoice,
    select: str | None,
    job_name: str | None,
    key_range: str | None,
    keys: Sequence[str],
    all_partitions: bool,
    start: str | None,
    end: str | None,
    tags: Sequence[str],
    config_path: str | None,
) -> None:
    """Check a backfill against the location's definitions and store it; its id is printed.

    Give what to run (--select or --job), which partitions (--partitions, --partition, --all,
    or --from and --to), and the location (-w FILE [--location NAME], -m MODULE, -f FILE or
    --socket PATH). The partitions apply to the selection's roots; assets downstream of them
    get the partitions their partition mappings give. `knoll daemon run` submits the runs."""
    from knoll.daemon.backfill import launch_backfill

    request = _request(select, job_name, key_range, keys, all_partitions, (start, end), tags)
    if config_path:
        from dataclasses import replace

        from knoll.defs.run_config import load_run_config

        request = replace(request, run_config=load_run_config(config_path))
    instance = open_instance()
    with contextlib.ExitStack() as stack:
        client = code_servers(stack, servers).only
        stored = launch_backfill(instance, client, request)
    click.echo(f"launched backfill {stored.backfill_id}")
    click.echo(
        f"the daemon submits its runs (`knoll daemon run`); follow it with `knoll backfill show "
        f"{stored.backfill_id}`",
        err=True,
    )


def _request(
    select: str | None,
    job_name: str | None,
    key_range: str | None,
    keys: Sequence[str],
    all_partitions: bool,
    window: tuple[str | None, str | None],
    tags: Sequence[str],
) -> BackfillRequest:
    from knoll.daemon.backfill import BackfillRequest

    if (select is None) == (job_name is None):
        fail("say what to backfill: --select SELECTION or --job NAME (one of them).")
    start, end = window
    if (start is None) != (end is None):
        fail(
            "--from and --to go together: give both times, e.g. --from 2024-01-01 --to 2024-02-01."
        )
    ways = [key_range is not None, bool(keys), all_partitions, start is not None]
    if sum(ways) != 1:
        fail(
            "say which partitions in one way: --partitions FIRST..LAST, --partition KEY "
            "(repeatable), --all, or --from TIME --to TIME."
        )
    partition_range = None
    if key_range is not None:
        partition_range = _split_range(key_range)
    time_window = None
    if start is not None and end is not None:
        time_window = (_time("--from", start), _time("--to", end))
    return BackfillRequest(
        selection=select,
        job_name=job_name,
        partition_keys=list(keys) if keys else None,
        partition_range=partition_range,
        all_partitions=all_partitions,
        time_window=time_window,
        tags=parse_tags(tags),
    )


def _split_range(text: str) -> tuple[str, str]:
    for separator in ("...", ".."):
        first, found, last = text.partition(separator)
        if found:
            if not first or not last:
                break
            return first, last
    fail(f"--partitions {text!r} must look like FIRST..LAST, e.g. 2024-01-01..2024-01-31.")


def _time(option: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        fail(
            f"{option} {text!r} is not a time: write it in ISO 8601, e.g. 2024-01-01 or "
            "2024-01-01T06:00 (in the partitions' timezone unless it says +00:00)."
        )


@backfill.command("list")
@click.option("--status", help="Only backfills with this status: REQUESTED, COMPLETED, FAILED, "
              "CANCELING, CANCELED.")  # fmt: skip
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
def backfill_list(status: str | None, limit: int) -> None:
    """List backfills, newest first."""
    from knoll.daemon.backfill.model import BackfillBody
    from knoll.storage.base import BackfillStatus

    wanted = None
    if status is not None:
        try:
            wanted = BackfillStatus(status.upper())
        except ValueError:
            names = ", ".join(s.value for s in BackfillStatus)
            fail(f"--status {status!r} is not a backfill status: use one of {names}.")
    instance = open_instance()
    rows = []
    for stored in instance.storage.get_backfills(status=wanted, limit=limit):
        body = BackfillBody.from_json(stored.body)
        rows.append(
            [
                stored.backfill_id,
                stored.status.value,
                format_time(stored.created_timestamp),
                body.describe(),
                body.requested,
            ]
        )
    if not rows:
        click.echo("no backfills")
        return
    for line in table(rows, ["ID", "STATUS", "CREATED", "WHAT", "PARTITIONS"]):
        click.echo(line)


@backfill.command("show")
@click.argument("backfill_id")
@click.option("--runs", "every_run", is_flag=True, help="Print every run id, not the first 10.")
@click.option(
    "--partitions",
    "every_partition",
    is_flag=True,
    help="Also print each partition's state and run.",
)
def backfill_show(backfill_id: str, every_run: bool, every_partition: bool) -> None:
    """Print a backfill's progress: for each asset (or the job), its partitions by state
    (requested, in progress, materialized, failed, canceled, skipped) and the run ids; with
    --partitions, each partition with its state and run."""
    from knoll.daemon.backfill import backfill_progress
    from knoll.daemon.backfill.control import STATE_NAMES

    instance = open_instance()
    progress = backfill_progress(instance, backfill_id)
    stored, body = progress.backfill, progress.body
    click.echo(f"backfill {stored.backfill_id}: {stored.status.value}")
    click.echo(f"  {body.describe()} in location {body.location!r}, partitions {body.requested}")
    click.echo(f"  created {format_time(stored.created_timestamp)}")
    if body.tags:
        click.echo(f"  tags: {', '.join(f'{k}={v}' for k, v in sorted(body.tags.items()))}")
    if body.error:
        click.echo(f"  last error: {body.error}")
    names = list(STATE_NAMES.values())
    rows = [
        [asset, *(str(group.partitions.get(n, 0)) for n in names)]
        for group in progress.groups
        for asset in group.assets
    ]
    header = ["ASSET" if body.kind == "assets" else "JOB", *(n.upper() for n in names)]
    for line in table(rows, header):
        click.echo(f"  {line}")
    for group in progress.groups:
        for state, run_ids in group.run_ids.items():
            shown = run_ids if every_run else run_ids[:SHOWN_RUN_IDS]
            more = len(run_ids) - len(shown)
            suffix = f" ... and {more} more (--runs prints them)" if more else ""
            click.echo(f"  {group.name} {state} runs: {' '.join(shown)}{suffix}")
    if every_partition:
        rows = [
            [group.name, key, state, run_id or "-"]
            for group in progress.groups
            for key, state, run_id in group.by_partition
        ]
        for line in table(rows, ["ASSETS" if body.kind == "assets" else "JOB", "PARTITION",
                                 "STATE", "RUN"]):  # fmt: skip
            click.echo(f"  {line}")


@backfill.command("cancel")
@click.argument("backfill_id")
def backfill_cancel(backfill_id: str) -> None:
    """Stop a backfill: the daemon requests no more of its runs, cancels its queued runs
    (runs already started finish) and marks it CANCELED. `knoll backfill resume` goes on."""
    from knoll.daemon.backfill import cancel_backfill

    canceling = cancel_backfill(open_instance(), backfill_id)
    click.echo(f"backfill {canceling.backfill_id} {canceling.status.value}")


@backfill.command("resume")
@click.argument("backfill_id")
def backfill_resume(backfill_id: str) -> None:
    """Request again what a FAILED or CANCELED backfill did not materialize (failed, canceled,
    skipped and never-requested partitions); the daemon submits their runs."""
    from knoll.daemon.backfill import resume_backfill

    again = resume_backfill(open_instance(), backfill_id)
    click.echo(f"backfill {backfill_id} REQUESTED again: {again} partitions to materialize")
