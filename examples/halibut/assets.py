"""The halibut team's assets: weekly landings of fish by vessel, per species, and a report."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from examples.halibut.config import GROUP_NAME, OWNERS, PROJECT_METADATA, TEAM_TAGS, WEEKS_START
from knoll import (
    AssetExecutionContext,
    Config,
    MetadataValue,
    WeeklyPartitionsDefinition,
    asset,
)

LANDINGS_CSV = Path(__file__).parent / "data" / "landings.csv"

weekly_partitions = WeeklyPartitionsDefinition(start_date=WEEKS_START, day_offset=1)
"""One partition per week, Monday to Sunday; keys are the Mondays (``2024-01-08``)."""

Landing = dict[str, Any]
"""One landing: ``date`` (ISO text), ``vessel``, ``species``, ``kg`` (a float) and ``port``."""


class HalibutConfig(Config):
    """How ``landings`` loads its data."""

    data_start_date: str
    """The first day (ISO date, like ``2024-01-01``) whose landings are trusted and loaded."""

    full_refresh: bool = False
    """Load everything from ``data_start_date`` to the end of the week, not only the week."""


def read_landings(path: Path = LANDINGS_CSV) -> list[Landing]:
    """Every landing in the bundled CSV file, ``kg`` as a number."""
    with path.open(newline="") as handle:
        return [{**row, "kg": float(row["kg"])} for row in csv.DictReader(handle)]


@asset(
    partitions_def=weekly_partitions,
    group_name=GROUP_NAME,
    owners=OWNERS,
    tags=TEAM_TAGS,
    kinds=["csv"],
    metadata={**PROJECT_METADATA, "source": MetadataValue.path(LANDINGS_CSV)},
)
def landings(context: AssetExecutionContext, config: HalibutConfig) -> list[Landing]:
    """The landings of the partition's week (from ``data_start_date`` on)."""
    window = context.partition_time_window
    first_trusted = date.fromisoformat(config.data_start_date)
    start = first_trusted if config.full_refresh else max(first_trusted, window.start.date())
    end = window.end.date()
    rows = [r for r in read_landings() if start <= date.fromisoformat(r["date"]) < end]
    context.add_output_metadata(
        {
            "rows": len(rows),
            "mode": "full refresh" if config.full_refresh else "incremental",
            "first_day": start.isoformat(),
        }
    )
    return rows


@asset(
    partitions_def=weekly_partitions,
    group_name=GROUP_NAME,
    owners=OWNERS,
    tags=TEAM_TAGS,
    kinds=["python"],
    metadata=PROJECT_METADATA,
)
def landings_by_species(landings: list[Landing]) -> dict[str, float]:
    """Kilograms landed per species, heaviest first."""
    totals: dict[str, float] = defaultdict(float)
    for landing in landings:
        totals[landing["species"]] += landing["kg"]
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    return {species: round(kg, 1) for species, kg in ranked}


@asset(
    partitions_def=weekly_partitions,
    group_name=GROUP_NAME,
    owners=OWNERS,
    tags={**TEAM_TAGS, "audience": "fleet"},
    kinds=["markdown"],
    metadata=PROJECT_METADATA,
)
def weekly_landings_report(
    context: AssetExecutionContext, landings: list[Landing], landings_by_species: dict[str, float]
) -> str:
    """A short markdown report of the week for the fleet managers."""
    vessels = sorted({landing["vessel"] for landing in landings})
    lines = [
        f"# Landings, week of {context.partition_key}",
        "",
        f"{len(landings)} landings by {len(vessels)} vessels ({', '.join(vessels) or 'none'}).",
        "",
        "| species | kg |",
        "| --- | --- |",
        *(f"| {species} | {kg:.1f} |" for species, kg in landings_by_species.items()),
    ]
    report = "\n".join(lines)
    context.add_output_metadata(
        {
            "total_kg": round(sum(landings_by_species.values()), 1),
            "report": MetadataValue.md(report),
        }
    )
    return report
