"""``knoll instance``: what the instance is, upgrading its database, pruning old runs, and the
limits of its concurrency pools."""

from __future__ import annotations

import click

from knoll.cli._common import fail, format_time, open_instance, table

DEFAULT_RETENTION_DAYS = 30


@click.group()
def instance() -> None:
    """Inspect and maintain the instance (KNOLL_HOME: storage, compute logs, settings)."""


@instance.command("info")
def instance_info() -> None:
    """Print where the instance keeps its runs, events and logs, its schema revision, and
    whether a run monitor, a queue worker and a daemon are running (pid, host, last
    heartbeat)."""
    from knoll.cli._loop_status import loop_lines
    from knoll.cli.daemon import daemon_line

    inst = open_instance()
    info = {**inst.info(), **loop_lines(inst), "daemon": daemon_line(inst)}
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


@instance.group("pool")
def pool() -> None:
    """Limit how many steps of a concurrency pool (``pool="name"`` on an asset or op) run at
    once, across all runs of the instance."""


# ignore_unknown_options lets a negative LIMIT through to the check that explains it
@pool.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("limit")
def pool_set(name: str, limit: str) -> None:
    """Let at most LIMIT steps of pool NAME run at once (0 holds them all back)."""
    try:
        slots = int(limit)
    except ValueError:
        fail(
            f"limit {limit!r} of concurrency pool {name!r} is not a whole number: give the "
            f"number of slots, 0 or more, e.g. `knoll instance pool set {name} 2`."
        )
    inst = open_instance()
    inst.storage.set_pool_limit(name, slots)
    step_word = "step" if slots == 1 else "steps"
    click.echo(f"concurrency pool {name!r}: at most {slots} {step_word} at once.")


@pool.command("list")
def pool_list() -> None:
    """List the pools with their limits, and the slots steps hold now (run and step)."""
    storage = open_instance().storage
    limits = storage.get_pool_limits()
    if not limits:
        click.echo("no concurrency pools. Limit one: knoll instance pool set NAME LIMIT")
        return
    slots = {name: storage.get_pool_slots(name) for name in limits}
    rows = [[name, str(limit), str(len(slots[name]))] for name, limit in sorted(limits.items())]
    for line in table(rows, ["POOL", "LIMIT", "IN USE"]):
        click.echo(line)
    held = [
        [name, s.run_id, s.step_key, format_time(s.claimed_at), format_time(s.expires_at)]
        for name in sorted(slots)
        for s in slots[name]
    ]
    if held:
        click.echo("slots in use:")
        for line in table(held, ["POOL", "RUN ID", "STEP", "SINCE", "LEASE UNTIL"]):
            click.echo(f"  {line}")


@pool.command("delete")
@click.argument("name")
def pool_delete(name: str) -> None:
    """Remove the limit of pool NAME: its steps are no longer held back."""
    from knoll._utils import did_you_mean

    storage = open_instance().storage
    limits = storage.get_pool_limits()
    if name not in limits:
        known = ", ".join(sorted(limits)) or "none"
        fail(
            f"there is no concurrency pool {name!r} in this instance.{did_you_mean(name, limits)}"
            f" Pools: {known} (see `knoll instance pool list`)."
        )
    storage.delete_pool_limit(name)
    click.echo(f"deleted concurrency pool {name!r}: its steps are no longer limited.")
