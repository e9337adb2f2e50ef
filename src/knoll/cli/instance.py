"""``knoll instance``: what the instance is, upgrading its database, pruning old runs."""

from __future__ import annotations

import click

from knoll.cli._common import open_instance

DEFAULT_RETENTION_DAYS = 30


@click.group()
def instance() -> None:
    """Inspect and maintain the instance (KNOLL_HOME: storage, compute logs, settings)."""


@instance.command("info")
def instance_info() -> None:
    """Print where the instance keeps its runs, events and logs, and its schema revision."""
    info = open_instance().info()
    width = max((len(k) for k in info), default=0)
    for key, value in info.items():
        click.echo(f"{key + ':':<{width + 1}}  {value}")


@instance.command("migrate")
def instance_migrate() -> None:
    """Upgrade the instance's database to the schema this version of knoll expects."""
    before, after = open_instance().migrate()
    if before == after:
        click.echo(f"the database is up to date (revision {after}).")
    else:
        click.echo(f"migrated the database from revision {before or '(empty)'} to {after}.")


@instance.command("prune")
@click.option(
    "--older-than",
    help="Prune runs that finished longer ago than this: 30d, 12h, 90m, 2w. "
    f"Default: retention.older_than in knoll.yaml, else {DEFAULT_RETENTION_DAYS}d.",
)
def instance_prune(older_than: str | None) -> None:
    """Delete old runs' events and compute logs, keeping the asset history.

    Materializations, observations and check results are kept; the other events and the
    compute logs of runs that finished before the cut-off are deleted, and the database is
    compacted.
    """
    import datetime

    from knoll.instance.retention import parse_duration

    inst = open_instance()
    if older_than is not None:
        age = parse_duration(older_than, what="--older-than")
    else:
        age = inst.settings.retention or datetime.timedelta(days=DEFAULT_RETENTION_DAYS)
    click.echo(inst.prune(age).summary())
