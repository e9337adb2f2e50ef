"""A project to backfill: hourly clicks under daily rollups, policies, a static def whose
'us' partition fails, an unpartitioned asset and a partitioned job."""

from knoll import (
    AssetExecutionContext,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Definitions,
    HourlyPartitionsDefinition,
    OpExecutionContext,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    job,
    op,
    static_partitioned_config,
)

hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00", end_date="2024-01-03-00:00")
daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")
regions = StaticPartitionsDefinition(["eu", "us", "asia"])


@asset(partitions_def=hourly)
def clicks(context: AssetExecutionContext) -> int:
    return len(context.partition_keys)


@asset(partitions_def=daily, deps=[clicks])
def daily_clicks() -> int:
    return 1


@asset(partitions_def=daily, backfill_policy=BackfillPolicy.single_run())
def daily_report(context: AssetExecutionContext) -> int:
    return len(context.partition_keys)


@asset(partitions_def=daily, backfill_policy=BackfillPolicy.multi_run(3))
def daily_scores(context: AssetExecutionContext) -> int:
    return len(context.partition_keys)


@asset
def plain() -> int:
    return 1


@asset(partitions_def=regions)
def fragile(context: AssetExecutionContext) -> str:
    if context.partition_key == "us":
        raise ValueError("the us warehouse is down")
    return context.partition_key


# its own policy (the default, spelled out) gives it runs of its own, after fragile's
@asset(partitions_def=regions, backfill_policy=BackfillPolicy.multi_run(1))
def after_fragile(fragile: str) -> str:
    return fragile


@static_partitioned_config(["north", "south"])
def zone_config(partition_key: str) -> dict[str, object]:
    return {"ops": {"load_zone": {"config": {"zone": partition_key}}}}


@op(config_schema={"zone": str})
def load_zone(context: OpExecutionContext) -> str:
    return str(context.op_config["zone"])


@job(config=zone_config)
def zones() -> None:  # its run config depends on the partition
    load_zone()


@job
def greet() -> None:  # not partitioned
    load_zone()


defs = Definitions(
    assets=[clicks, daily_clicks, daily_report, daily_scores, plain, fragile, after_fragile],
    jobs=[
        define_asset_job("daily_job", selection=[daily_report], partitions_def=daily),
        zones,
        greet,
    ],
)
