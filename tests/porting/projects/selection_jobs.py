"""Jobs that pick assets by group, by key and by downstream selection."""

import dagster as dg


@dg.asset(group_name="sources")
def stations() -> list:
    return ["north", "south"]


@dg.asset(group_name="sources")
def readings() -> dict:
    return {"north": 3, "south": 4}


@dg.asset(group_name="marts")
def station_totals(stations: list, readings: dict) -> dict:
    return {s: readings[s] for s in stations}


@dg.asset(group_name="marts")
def grand_total(station_totals: dict) -> int:
    return sum(station_totals.values())


sources_job = dg.define_asset_job("sources_job", selection=dg.AssetSelection.groups("sources"))
totals_job = dg.define_asset_job(
    "totals_job", selection=dg.AssetSelection.assets(station_totals).downstream()
)

defs = dg.Definitions(
    assets=[stations, readings, station_totals, grand_total], jobs=[sources_job, totals_job]
)
