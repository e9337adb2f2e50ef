"""``knoll asset automation KEY``: the latest automation evaluations of one asset, as trees."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from knoll.cli._common import fail, format_time, open_instance
from knoll.cli.assets import asset

if TYPE_CHECKING:
    from knoll.defs.automation_eval_records import (
        AutomationEvaluationRecord,
        ConditionNodeEvaluation,
    )

_INDENT = "  "


@asset.command("automation")
@click.argument("key")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="How many of the latest evaluations to show.",
)
def asset_automation(key: str, limit: int) -> None:
    """Show the latest evaluations of the automation condition of asset KEY (a/b/c): each
    node of the condition tree, true or false and for which partitions (skip: an AND before
    it left nothing to decide on), and the runs that were requested."""
    from knoll.defs.keys import AssetKey

    instance = open_instance()
    asset_key = AssetKey.from_user_string(key)
    records = instance.storage.get_automation_evaluations(asset_key, limit=limit)
    if not records:
        fail(
            f"no automation evaluation of asset {key!r} is recorded in this instance. The "
            "daemon evaluates assets that have an automation_condition: give the asset one "
            "(@asset(automation_condition=AutomationCondition.eager())) and start `knoll "
            "daemon run -m MODULE`."
        )
    for index, record in enumerate(records):
        if index:
            click.echo("")
        _show(record)


def _show(record: AutomationEvaluationRecord) -> None:
    from knoll.defs.automation_eval_records import shown_partitions

    click.echo(
        f"evaluation {record.evaluation_id} of location {record.location!r} at "
        f"{format_time(record.timestamp)}"
    )
    if record.requested_partitions:
        runs = ", ".join(record.run_ids) or "none"
        click.echo(f"requested: {shown_partitions(record.requested_partitions)} (runs: {runs})")
    else:
        click.echo("requested: nothing")
    if record.catch_up is not None:
        click.echo(f"catch-up: {record.catch_up}")
    _tree(record.condition, 0)


def _tree(node: ConditionNodeEvaluation, depth: int) -> None:
    from knoll.defs.automation_eval_records import shown_partitions

    # skip: an AND before it left nothing to decide on
    verdict = "skip " if node.candidates == 0 else "true " if node.is_true else "false"
    target = f"[{node.target}] " if node.target else ""
    partitions = ""
    if node.true_partitions and node.true_partitions != (None,):
        partitions = f" for {shown_partitions(node.true_partitions)}"
    count = f" ({len(node.true_partitions)}/{node.candidates})" if node.candidates > 1 else ""
    click.echo(f"{_INDENT * depth}{verdict} {target}{node.label}{partitions}{count}")
    for child in node.children:
        _tree(child, depth + 1)
