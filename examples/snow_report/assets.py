"""The snow report assets: one raw report per resort (made by a factory), then daily views."""

from __future__ import annotations

from typing import Any

from examples.snow_report.resources import SnowApiClient, SnowReport
from knoll import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    DailyPartitionsDefinition,
    MetadataValue,
    asset,
)

RESORTS = ("powder_ridge", "glacier_bowl", "pine_valley")
"""The resorts the report covers, by API id."""

daily_partitions = DailyPartitionsDefinition(start_date="2024-01-15")

Conditions = dict[str, Any]
"""One resort on one day: ``resort``, ``name`` and the day's reading."""


def raw_report_key(resort: str) -> AssetKey:
    """The asset key of ``resort``'s raw report: ``raw/<resort>``."""
    return AssetKey(["raw", resort])


def build_raw_report_asset(resort: str) -> AssetsDefinition:
    """An asset holding the latest raw report of ``resort``, fetched through the snow API."""

    @asset(
        key=raw_report_key(resort),
        group_name="raw_snow",
        kinds=["json"],
        tags={"resort": resort},
        description=f"The latest snow report of {resort}, as the snow API returns it.",
    )
    def raw_report(context: AssetExecutionContext, snow_api: SnowApiClient) -> SnowReport:
        report = snow_api.get_report(resort)
        context.add_output_metadata({"readings": len(report["readings"])})
        return report

    return raw_report


raw_reports = [build_raw_report_asset(resort) for resort in RESORTS]


@asset(
    partitions_def=daily_partitions,
    group_name="snow_report",
    ins={resort: AssetIn(key=raw_report_key(resort)) for resort in RESORTS},
)
def conditions(context: AssetExecutionContext, **reports: SnowReport) -> list[Conditions]:
    """Every resort's reading on the partition's day (resorts without one are left out)."""
    day = context.partition_key
    out: list[Conditions] = []
    for resort, report in sorted(reports.items()):
        reading = next((r for r in report["readings"] if r["date"] == day), None)
        if reading is None:
            context.log.warning(f"{resort} has no reading for {day}")
            continue
        out.append({"resort": resort, "name": report["name"], **reading})
    context.add_output_metadata({"resorts": len(out)})
    return out


@asset(partitions_def=daily_partitions, group_name="snow_report")
def summary(context: AssetExecutionContext, conditions: list[Conditions]) -> dict[str, Any]:
    """The day in one record: where the most fresh snow fell, and the totals."""
    day = context.partition_key
    if not conditions:
        context.add_output_metadata({"report": MetadataValue.md(f"No readings for {day}.")})
        return {"day": day, "resorts": 0, "best_resort": None, "total_new_snow_cm": 0}
    best = max(conditions, key=lambda c: (c["new_snow_cm"], c["base_depth_cm"]))
    lines = [f"# Snow report for {day}", "", "| resort | new snow (cm) | base (cm) | °C |"]
    lines.append("| --- | --- | --- | --- |")
    for c in sorted(conditions, key=lambda c: c["new_snow_cm"], reverse=True):
        lines.append(
            f"| {c['name']} | {c['new_snow_cm']} | {c['base_depth_cm']} | {c['temperature_c']} |"
        )
    context.add_output_metadata(
        {"best_resort": best["name"], "report": MetadataValue.md("\n".join(lines))}
    )
    return {
        "day": day,
        "resorts": len(conditions),
        "best_resort": best["resort"],
        "total_new_snow_cm": sum(c["new_snow_cm"] for c in conditions),
        "coldest_resort": min(conditions, key=lambda c: c["temperature_c"])["resort"],
    }
