"""A daily partitioned op job with its schedule, and daily assets reading yesterday."""

import dagster as dg


@dg.daily_partitioned_config(start_date="2024-06-01", end_offset=0)
def day_config(start, end):
    return {"ops": {"load_day": {"config": {"day": start.strftime("%Y-%m-%d")}}}}


@dg.op(config_schema={"day": str})
def load_day(context: dg.OpExecutionContext) -> str:
    return f"loaded {context.op_config['day']}"


@dg.job(config=day_config)
def daily_load():
    load_day()


daily_load_schedule = dg.build_schedule_from_partitioned_job(daily_load, hour_of_day=2)

days = dg.DailyPartitionsDefinition(start_date="2024-06-01", end_date="2024-06-05")


@dg.asset(partitions_def=days)
def temperatures(context: dg.AssetExecutionContext) -> int:
    window = context.partition_time_window
    return 20 + window.start.day


@dg.asset(
    partitions_def=days,
    ins={
        "temperatures": dg.AssetIn(
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
        )
    },
)
def change(context: dg.AssetExecutionContext, temperatures: int) -> str:
    yesterday = context.asset_partition_key_range_for_input("temperatures")
    return f"{context.partition_key} after {yesterday.start}: {temperatures}"


@dg.asset_check(asset=temperatures, partitions_def=days)
def plausible(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"day": context.partition_key})


defs = dg.Definitions(
    assets=[temperatures, change],
    asset_checks=[plausible],
    jobs=[daily_load],
    schedules=[daily_load_schedule],
)
