"""The cereal pipeline as assets: load the data, add sugar per cup, keep the sugariest quarter.

Materialize everything with ``materialize([...])`` or through ``defs`` (the CLI does this with
``knoll asset materialize -m examples.cereal.assets --select '*'``).
"""

from __future__ import annotations

import statistics

from examples.cereal.common import (
    Cereal,
    OutputDirectory,
    markdown_preview,
    read_cereals,
    sugar_per_cup,
    write_csv,
)
from knoll import (
    AssetCheckResult,
    AssetExecutionContext,
    Definitions,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

TOP_QUARTILE_FILE = "top_quartile_cereals.csv"


@asset(group_name="cereal", kinds=["csv"])
def cereals() -> list[Cereal]:
    """Every cereal of the bundled cereal.csv, one dict per row."""
    return read_cereals()


@asset(group_name="cereal")
def cereals_with_sugar_per_cup(cereals: list[Cereal]) -> list[Cereal]:
    """The cereals with one more column: grams of sugar per cup."""
    return [{**cereal, "sugar_per_cup": sugar_per_cup(cereal)} for cereal in cereals]


@asset(group_name="cereal")
def sugar_cutoff(cereals_with_sugar_per_cup: list[Cereal]) -> float:
    """The 75th percentile of sugar per cup: above it, a cereal is in the top quartile."""
    values: list[float] = [cereal["sugar_per_cup"] for cereal in cereals_with_sugar_per_cup]
    return statistics.quantiles(values, n=4)[2]


@asset(group_name="cereal")
def top_quartile_cereals(
    context: AssetExecutionContext, cereals_with_sugar_per_cup: list[Cereal], sugar_cutoff: float
) -> list[Cereal]:
    """The cereals with more sugar per cup than the cutoff, sugariest first."""
    top = [c for c in cereals_with_sugar_per_cup if c["sugar_per_cup"] > sugar_cutoff]
    top.sort(key=lambda c: c["sugar_per_cup"], reverse=True)
    context.log.info(f"{len(top)} cereals have more than {sugar_cutoff:.2f} g of sugar per cup")
    return top


@asset(group_name="cereal", kinds=["csv"])
def top_quartile_csv(
    top_quartile_cereals: list[Cereal], output_dir: OutputDirectory
) -> MaterializeResult:
    """The top-quartile cereals written out as a CSV file for the nutrition team."""
    path = output_dir.file(TOP_QUARTILE_FILE)
    write_csv(path, top_quartile_cereals)
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(path),
            "row_count": len(top_quartile_cereals),
            "preview": MetadataValue.md(
                markdown_preview(top_quartile_cereals, ["name", "mfr", "sugars", "sugar_per_cup"])
            ),
        }
    )


@asset_check(asset=cereals_with_sugar_per_cup)
def sugar_per_cup_is_non_negative(cereals_with_sugar_per_cup: list[Cereal]) -> AssetCheckResult:
    """No cereal has a negative amount of sugar per cup (a sign of a missing value)."""
    negative = [c["name"] for c in cereals_with_sugar_per_cup if c["sugar_per_cup"] < 0]
    return AssetCheckResult(
        passed=not negative,
        metadata={"negative_count": len(negative), "negative": ", ".join(negative) or "none"},
    )


defs = Definitions(
    assets=[
        cereals,
        cereals_with_sugar_per_cup,
        sugar_cutoff,
        top_quartile_cereals,
        top_quartile_csv,
    ],
    asset_checks=[sugar_per_cup_is_non_negative],
    resources={"output_dir": OutputDirectory()},
)
