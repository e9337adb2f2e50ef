"""An asset partitioned by day and by region."""

import dagster as dg

by_day_and_region = dg.MultiPartitionsDefinition(
    {
        "date": dg.DailyPartitionsDefinition(start_date="2024-05-01", end_date="2024-05-04"),
        "region": dg.StaticPartitionsDefinition(["eu", "us"]),
    }
)


@dg.asset(partitions_def=by_day_and_region)
def sales(context: dg.AssetExecutionContext) -> str:
    keys = context.partition_key.keys_by_dimension
    return f"{keys['region']} on {keys['date']}"


defs = dg.Definitions(assets=[sales])
