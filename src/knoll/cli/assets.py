"""``knoll asset``: materialize assets into the instance, list them, show one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

import click

from knoll.cli._common import (
    fail,
    format_time,
    load_definitions,
    location_options,
    metadata_text,
    open_instance,
    parse_tags,
    short,
)

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions
    from knoll.defs.keys import AssetKey
    from knoll.defs.partitions import PartitionKeyRange, PartitionsDefinition
    from knoll.instance import Instance
    from knoll.storage.base import AssetRecord, EventRecord, PartitionStatus

HISTORY = 10  # materializations shown by `asset show`
SHOWN_PARTITIONS = 10  # failed / in-progress partition keys named by `asset show`


@click.group()
def asset() -> None:
    """Materialize and inspect assets."""


@asset.command("materialize")
@location_options
@click.option("--select", default="*", show_default=True, help="Asset selection, e.g. 'a+'.")
@click.option("--partition", help="Partition key to materialize.")
@click.option("--partition-range", help="Partition key range START...END, in one run.")
@click.option("--config", "config_path", help="Run config YAML file.")
@click.option("--tag", "tags", multiple=True, help="Run tag key=value (repeatable).")
def asset_materialize(
    module_name: str | None,
    python_file: str | None,
    working_directory: str | None,
    select: str,
    partition: str | None,
    partition_range: str | None,
    config_path: str | None,
    tags: Sequence[str],
) -> None:
    """Materialize the selected assets in this process, recording the run in the instance."""
    from knoll.cli._execute import execute_job

    run_tags = parse_tags(tags)
    key_range = _partition_range(partition_range)
    if partition and key_range is not None:
        fail("give --partition or --partition-range, not both.")
    defs = load_definitions(module_name, python_file, working_directory)
    from knoll.defs.run_config import load_run_config

    job = defs.get_implicit_asset_job(select)
    run_config = load_run_config(config_path) if config_path else None
    instance = open_instance()
    count = len(job.asset_selection or ())
    execute_job(
        job,
        instance,
        headline=f"materializing {count} asset{'s' if count != 1 else ''} ({select})",
        run_config=run_config,
        partition_key=partition,
        partition_key_range=key_range,
        tags=run_tags,
    )


def _partition_range(text: str | None) -> PartitionKeyRange | None:
    if not text:
        return None
    from knoll.defs.partitions import PartitionKeyRange

    start, sep, end = text.partition("...")
    if not sep or not start or not end:
        fail(f"--partition-range {text!r} must look like START...END.")
    return PartitionKeyRange(start, end)


@asset.command("list")
@location_options
@click.option("--stale", is_flag=True, help="Only assets that are stale, with the reasons.")
def asset_list(
    module_name: str | None, python_file: str | None, working_directory: str | None, stale: bool
) -> None:
    """List assets with their group, dependencies and latest materialization.

    With -m/-f the assets of that code location are listed in dependency order; without, every
    asset the instance has a record of.
    """
    defs = (
        load_definitions(module_name, python_file, working_directory)
        if module_name or python_file
        else None
    )
    if stale and defs is None:
        fail(
            "--stale compares the code with what was materialized: give the code location "
            "(-m MODULE or -f FILE)."
        )
    instance = open_instance()
    if defs is None:
        _list_recorded(instance)
    elif stale:
        _list_stale(instance, defs)
    else:
        _list_defined(instance, defs)


def _list_defined(instance: Instance, defs: Definitions) -> None:
    graph = defs.get_asset_graph()
    records = {r.asset_key: r for r in instance.get_asset_records(list(graph.toposorted_keys))}
    for key in graph.toposorted_keys:
        node = graph.node(key)
        deps = ", ".join(p.to_user_string() for p in node.parents) or "-"
        kind = "" if node.is_executable else " (external)"
        click.echo(
            f"{key.to_user_string()}{kind}  group={node.group_name}  deps={deps}  "
            f"{_last_materialized(records.get(key))}"
        )


def _list_recorded(instance: Instance) -> None:
    records = sorted(instance.get_asset_records(), key=lambda r: r.asset_key)
    if not records:
        click.echo(
            "no assets recorded in this instance yet. List the assets of your code with "
            "`knoll asset list -m MODULE`."
        )
        return
    for record in records:
        click.echo(f"{record.asset_key.to_user_string()}  {_last_materialized(record)}")


def _list_stale(instance: Instance, defs: Definitions) -> None:
    stale = instance.get_stale_assets(defs)
    if not stale:
        count = len(defs.get_asset_graph().executable_keys)
        click.echo(f"no stale assets ({count} checked).")
        return
    order = {k: i for i, k in enumerate(defs.get_asset_graph().toposorted_keys)}
    for key in sorted(stale, key=lambda k: order.get(k, len(order))):
        click.echo(f"{key.to_user_string()}  stale: {'; '.join(stale[key])}")


def _last_materialized(record: AssetRecord | None) -> str:
    if record is None or record.last_materialization is None:
        return "never materialized"
    event = record.last_materialization.event
    return f"materialized {format_time(event.timestamp)} (run {event.run_id[:8]})"


@asset.command("show")
@click.argument("key")
@location_options
def asset_show(
    key: str, module_name: str | None, python_file: str | None, working_directory: str | None
) -> None:
    """Show an asset: its latest materialization with metadata, the status of its partitions
    and its recent history.

    KEY is the asset key with '/' between parts (``raw/orders``). With -m/-f the asset's
    definition is used too: its group, dependencies, code version, and the partitions that
    were never materialized.
    """
    from knoll.defs.keys import AssetKey

    defs = (
        load_definitions(module_name, python_file, working_directory)
        if module_name or python_file
        else None
    )
    instance = open_instance()
    asset_key = AssetKey.from_user_string(key)
    known = (
        defs.get_asset_graph().keys
        if defs is not None
        else frozenset(r.asset_key for r in instance.get_asset_records())
    )
    if asset_key not in known:
        _unknown_asset(key, known, defs is not None)
    click.echo(f"asset {asset_key.to_user_string()}")
    partitions_def = None
    if defs is not None:
        node = defs.get_asset_graph().node(asset_key)
        partitions_def = node.assets_def.partitions_def
        deps = ", ".join(p.to_user_string() for p in node.parents) or "-"
        click.echo(f"  group:         {node.group_name}")
        click.echo(f"  deps:          {deps}")
        click.echo(f"  code version:  {node.spec.code_version or '-'}")
        if node.spec.description:
            click.echo(f"  description:   {short(node.spec.description, 80)}")
        if node.spec.automation_condition is not None:
            click.echo(f"  automation:    {node.spec.automation_condition.describe()}")
    records = instance.get_asset_records([asset_key])
    record = records[0] if records else None
    _show_latest(record)
    _show_checks(record)
    statuses = instance.get_partition_status(asset_key, partitions_def)
    if partitions_def is not None or statuses:
        _show_partitions(statuses, partitions_def)
    _show_history(instance.get_materializations(asset_key, limit=HISTORY))


def _unknown_asset(text: str, known: frozenset[AssetKey], from_code: bool) -> NoReturn:
    from knoll._utils import did_you_mean

    names = sorted(k.to_user_string() for k in known)
    where = "in these definitions" if from_code else "recorded in this instance"
    hint = (
        ""
        if from_code
        else " To look up an asset that has never been materialized, give its code location "
        "(-m MODULE or -f FILE)."
    )
    suggestion = did_you_mean(text, names) or (
        f" See them with `knoll asset list{' -m MODULE' if from_code else ''}`."
    )
    fail(f"no asset {text!r} {where}.{suggestion}{hint}")


def _show_latest(record: AssetRecord | None) -> None:
    if record is not None and record.last_run_id is not None:
        latest = record.last_materialization
        if latest is None or latest.event.run_id != record.last_run_id:
            click.echo(f"  last run:      {record.last_run_id} (without a materialization)")
    if record is None or record.last_materialization is None:
        click.echo("  materializations: none yet")
        return
    event = record.last_materialization.event
    mat = event.materialization
    click.echo(f"  materializations: {record.materialization_count}")
    click.echo("latest materialization:")
    click.echo(f"  at:            {format_time(event.timestamp)}")
    click.echo(f"  run:           {event.run_id}")
    if mat.partition:
        click.echo(f"  partition:     {mat.partition}")
    if mat.description:
        click.echo(f"  description:   {short(mat.description, 80)}")
    if mat.data_version is not None:
        click.echo(f"  data version:  {short(mat.data_version, 80)}")
    _show_pairs("tags", {name: short(text, 80) for name, text in mat.tags.items()})
    _show_pairs(
        "metadata", {name: metadata_text(value, 80) for name, value in mat.metadata.items()}
    )


def _show_pairs(title: str, pairs: Mapping[str, str]) -> None:
    if not pairs:
        return
    click.echo(f"  {title}:")
    width = max(len(k) for k in pairs)
    for name, text in pairs.items():
        click.echo(f"    {name.ljust(width)}  {text}")


def _show_checks(record: AssetRecord | None) -> None:
    if record is None or not record.check_results:
        return
    click.echo("checks:")
    for name in sorted(record.check_results):
        evaluation = record.check_results[name]
        outcome = "passed" if evaluation.passed else f"failed ({evaluation.severity.value})"
        where = f" [{evaluation.partition}]" if evaluation.partition else ""
        click.echo(f"  {name}{where}: {outcome}")


def _show_partitions(
    statuses: Mapping[str, PartitionStatus], partitions_def: PartitionsDefinition | None
) -> None:
    from knoll.storage.base import PartitionStatus

    counts = dict.fromkeys(PartitionStatus, 0)
    for status in statuses.values():
        counts[status] += 1
    parts = [
        f"{counts[PartitionStatus.MATERIALIZED]} materialized",
        f"{counts[PartitionStatus.FAILED]} failed",
        f"{counts[PartitionStatus.IN_PROGRESS]} in progress",
    ]
    if partitions_def is not None:
        parts.append(f"{counts[PartitionStatus.MISSING]} missing")
        click.echo(f"partitions ({partitions_def.describe()}): {len(statuses)}")
    else:
        click.echo(f"partitions (recorded): {len(statuses)}")
    click.echo("  " + ", ".join(parts))
    for status in (PartitionStatus.FAILED, PartitionStatus.IN_PROGRESS):
        keys = [k for k, s in statuses.items() if s is status]
        if keys:
            extra = len(keys) - SHOWN_PARTITIONS
            more = f" and {extra} more" if extra > 0 else ""
            label = status.value.lower().replace("_", " ")
            click.echo(f"  {label}: {', '.join(keys[:SHOWN_PARTITIONS])}{more}")


def _show_history(history: Sequence[EventRecord]) -> None:
    if not history:
        return
    click.echo(f"recent materializations (newest first, up to {HISTORY}):")
    for item in history:
        mat = item.event.materialization
        where = f"  [{mat.partition}]" if mat.partition else ""
        click.echo(f"  {format_time(item.event.timestamp)}  run {item.event.run_id}{where}")
