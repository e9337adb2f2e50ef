"""Daily station readings stored as JSON files by a UPathIOManager; a weekly asset and an
unpartitioned one load many daily partitions at once, as a dict."""

import json

import dagster as dg
from upath import UPath


class JsonFileIOManager(dg.UPathIOManager):
    extension: str = ".json"

    def dump_to_path(self, context: dg.OutputContext, obj, path: UPath) -> None:
        path.write_text(json.dumps(obj, sort_keys=True))

    def load_from_path(self, context: dg.InputContext, path: UPath):
        return json.loads(path.read_text())


class LocalJsonFiles(dg.ConfigurableIOManagerFactory):
    base_path: str

    def create_io_manager(self, context) -> JsonFileIOManager:
        return JsonFileIOManager(base_path=UPath(self.base_path))


daily = dg.DailyPartitionsDefinition(start_date="2024-07-01", end_date="2024-07-15")
weekly = dg.WeeklyPartitionsDefinition(start_date="2024-07-01", end_date="2024-07-15", day_offset=1)


@dg.asset(partitions_def=daily, group_name="weather")
def station_readings(context: dg.AssetExecutionContext) -> list[int]:
    day = int(context.partition_key[-2:])
    return [10 + day, 15 + day, 12 + day]


@dg.asset(partitions_def=weekly, group_name="weather")
def weekly_peaks(context: dg.AssetExecutionContext, station_readings: dict) -> dict:
    context.log.info(f"week {context.partition_key}: {len(station_readings)} days")
    return {day: max(values) for day, values in station_readings.items()}


@dg.asset(
    group_name="weather",
    ins={"station_readings": dg.AssetIn(metadata={"allow_missing_partitions": True})},
)
def heatwave_days(station_readings: dict) -> list[str]:
    return sorted(day for day, values in station_readings.items() if max(values) >= 23)


defs = dg.Definitions(
    assets=[station_readings, weekly_peaks, heatwave_days],
    jobs=[
        dg.define_asset_job("daily_readings", selection=[station_readings], partitions_def=daily),
        dg.define_asset_job("weekly_report", selection=[weekly_peaks], partitions_def=weekly),
        dg.define_asset_job("heatwave_report", selection=[heatwave_days]),
    ],
    resources={"io_manager": LocalJsonFiles(base_path=dg.EnvVar("PORTING_OUTPUT_DIR"))},
)
