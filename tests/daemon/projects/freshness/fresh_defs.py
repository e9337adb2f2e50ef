"""A code location for freshness tests: assets with a time-window and a cron freshness
policy, and one without."""

from datetime import timedelta

from knoll import AssetSpec, Definitions, FreshnessPolicy, asset, define_asset_job


@asset(
    freshness_policy=FreshnessPolicy.time_window(
        fail_window=timedelta(hours=24), warn_window=timedelta(hours=12)
    )
)
def orders() -> int:
    return 1


@asset(
    freshness_policy=FreshnessPolicy.cron(
        deadline_cron="0 9 * * *", lower_bound_delta=timedelta(hours=2)
    )
)
def report() -> int:
    return 2


@asset
def scratch() -> int:
    return 3


partner_feed = AssetSpec(
    "partner_feed", freshness_policy=FreshnessPolicy.time_window(fail_window=timedelta(days=2))
)

defs = Definitions(
    assets=[orders, report, scratch, partner_feed],
    jobs=[define_asset_job("everything", selection=["orders", "report", "scratch"])],
)
