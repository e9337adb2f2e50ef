"""Staleness per partition, through partition mappings, on every backend (Dagster's stale
status per asset partition)."""

from __future__ import annotations

import pytest

from knoll import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DailyPartitionsDefinition,
    DataVersion,
    Definitions,
    MaterializeResult,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
    materialize,
    observable_source_asset,
)
from knoll.errors import DefinitionError, PartitionKeyError
from knoll.instance import Instance, staleness
from knoll.instance.staleness import MAX_UPSTREAM_PARTITIONS, SHOWN_PARTITIONS

DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")


@asset(partitions_def=DAYS)
def page_views() -> MaterializeResult:
    return MaterializeResult()


@asset(partitions_def=DAYS, deps=[page_views])
def daily_sessions() -> None:
    return None


def test_each_partition_is_judged_with_the_partitions_it_read(instance: Instance) -> None:
    defs = Definitions(assets=[page_views, daily_sessions])
    for day in ("2024-01-01", "2024-01-02"):
        materialize([page_views, daily_sessions], partition_key=day, instance=instance)
    assert instance.get_stale_partitions(defs, "daily_sessions") == {
        "2024-01-03": ["never materialized"],
        "2024-01-04": ["never materialized"],
    }
    late = materialize([page_views], partition_key="2024-01-02", instance=instance)
    reason = (
        "upstream 'page_views' partition '2024-01-02' was materialized after it "
        f"(run {late.run_id[:8]})"
    )
    assert instance.get_stale_partitions(defs, daily_sessions.key) == {
        "2024-01-02": [reason],
        "2024-01-03": ["never materialized"],
        "2024-01-04": ["never materialized"],
    }
    # the asset-level answer lists stale partitions that were materialized; missing ones
    # are missing, not stale
    assert instance.get_stale_assets(defs) == {
        daily_sessions.key: [f"partition '2024-01-02': {reason}"]
    }
    assert instance.get_stale_partitions(defs, "daily_sessions", ["2024-01-01"]) == {}


def test_a_time_window_offset_reads_the_previous_day(instance: Instance) -> None:
    @asset(
        partitions_def=DAYS,
        deps=[AssetDep(page_views, partition_mapping=TimeWindowPartitionMapping(-1, -1))],
    )
    def day_over_day() -> None:
        return None

    defs = Definitions(assets=[page_views, day_over_day])
    materialize([page_views], partition_key="2024-01-01", instance=instance)
    materialize([page_views], partition_key="2024-01-02", instance=instance)
    materialize([day_over_day], partition_key="2024-01-02", instance=instance)
    # 2024-01-02 reads 2024-01-01: a new 2024-01-02 upstream does not matter to it
    materialize([page_views], partition_key="2024-01-02", instance=instance)
    assert instance.get_stale_partitions(defs, "day_over_day", ["2024-01-02"]) == {}
    late = materialize([page_views], partition_key="2024-01-01", instance=instance)
    assert instance.get_stale_partitions(defs, "day_over_day", ["2024-01-02"]) == {
        "2024-01-02": [
            "upstream 'page_views' partition '2024-01-01' was materialized after it "
            f"(run {late.run_id[:8]})"
        ]
    }
    # 2024-01-01 reads a day before the first one: nothing upstream, and never materialized
    assert instance.get_stale_partitions(defs, "day_over_day", ["2024-01-01"]) == {
        "2024-01-01": ["never materialized"]
    }


def test_a_static_mapping_and_data_versions_per_partition(instance: Instance) -> None:
    countries = StaticPartitionsDefinition(["nl", "be", "fr"])
    regions = StaticPartitionsDefinition(["benelux", "france"])
    mapping = StaticPartitionMapping({"nl": "benelux", "be": "benelux", "fr": "france"})

    def orders_at(versions: dict[str, str]) -> AssetsDefinition:
        @asset(key="orders", partitions_def=countries)
        def orders(context: AssetExecutionContext) -> MaterializeResult:
            return MaterializeResult(data_version=versions[context.partition_key])

        return orders

    @asset(partitions_def=regions, deps=[AssetDep("orders", partition_mapping=mapping)])
    def regional_revenue() -> None:
        return None

    def stale(orders: AssetsDefinition) -> dict[str, list[str]]:
        defs = Definitions(assets=[orders, regional_revenue])
        return {
            k: list(v) for k, v in instance.get_stale_partitions(defs, "regional_revenue").items()
        }

    v1 = orders_at({"nl": "1", "be": "1", "fr": "1"})
    for country in ("nl", "be", "fr"):
        materialize([v1], partition_key=country, instance=instance)
    for region in ("benelux", "france"):
        materialize([regional_revenue], partition_key=region, instance=instance)
    materialize([v1], partition_key="be", instance=instance)
    assert stale(v1) == {}  # the same data again
    v2 = orders_at({"nl": "1", "be": "2", "fr": "1"})
    materialize([v2], partition_key="be", instance=instance)
    assert stale(v2) == {
        "benelux": ["upstream 'orders' partition 'be' has a new data version ('2', was '1')"]
    }


def test_an_unpartitioned_upstream_counts_for_every_partition(instance: Instance) -> None:
    many = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-15")

    @asset
    def exchange_rates() -> None:
        return None

    @asset(partitions_def=many, deps=[exchange_rates])
    def converted() -> None:
        return None

    defs = Definitions(assets=[exchange_rates, converted])
    materialize([exchange_rates], instance=instance)
    days = many.get_partition_keys()
    for day in days:
        materialize([converted], partition_key=day, instance=instance)
    assert instance.get_stale_assets(defs) == {}
    late = materialize([exchange_rates], instance=instance)
    reason = f"upstream 'exchange_rates' was materialized after it (run {late.run_id[:8]})"
    reasons = instance.get_stale_assets(defs)[converted.key]
    assert reasons[:SHOWN_PARTITIONS] == [f"partition {d!r}: {reason}" for d in days[:10]]
    assert reasons[SHOWN_PARTITIONS:] == [
        f"and {len(days) - SHOWN_PARTITIONS} more stale partitions"
    ]
    assert list(instance.get_stale_partitions(defs, converted.key)) == list(days)


def test_an_unpartitioned_asset_reads_every_upstream_partition(instance: Instance) -> None:
    @asset(deps=[AssetDep(page_views, partition_mapping=AllPartitionMapping())])
    def all_time_sessions() -> None:
        return None

    defs = Definitions(assets=[page_views, all_time_sessions])
    materialize([page_views], partition_key="2024-01-01", instance=instance)
    materialize([all_time_sessions], instance=instance)
    assert instance.get_stale_assets(defs) == {}
    late = materialize([page_views], partition_key="2024-01-03", instance=instance)
    assert instance.get_stale_assets(defs) == {
        all_time_sessions.key: [
            "upstream 'page_views' partition '2024-01-03' was materialized after it "
            f"(run {late.run_id[:8]})"
        ]
    }


def test_a_partitioned_source_is_observed_per_partition(instance: Instance) -> None:
    shops = StaticPartitionsDefinition(["amsterdam", "brussels"])
    versions = {"amsterdam": "a1", "brussels": "b1"}

    @observable_source_asset(partitions_def=shops)
    def shop_exports(context: AssetExecutionContext) -> DataVersion:
        return DataVersion(versions[context.partition_key])

    @asset(partitions_def=shops, deps=[shop_exports])
    def shop_sales() -> None:
        return None

    defs = Definitions(assets=[shop_exports, shop_sales])
    for shop in shops.get_partition_keys():
        materialize([shop_exports], partition_key=shop, instance=instance)
        materialize([shop_sales], partition_key=shop, instance=instance)
    versions["brussels"] = "b2"
    for shop in shops.get_partition_keys():
        materialize([shop_exports], partition_key=shop, instance=instance)
    assert instance.get_stale_partitions(defs, "shop_sales") == {
        "brussels": [
            "upstream 'shop_exports' partition 'brussels' has a new data version ('b2', was 'b1')"
        ]
    }


def test_asking_about_partitions_that_do_not_apply_is_refused(instance: Instance) -> None:
    @asset
    def totals() -> None:
        return None

    defs = Definitions(assets=[page_views, totals])
    with pytest.raises(DefinitionError) as caught:
        instance.get_stale_partitions(defs, "totals")
    assert str(caught.value) == (
        "asset 'totals' is not partitioned: ask instance.get_stale_assets(defs) whether it is "
        "stale."
    )
    with pytest.raises(PartitionKeyError) as caught_key:
        instance.get_stale_partitions(defs, AssetKey("page_views"), ["2024-02-30"])
    assert str(caught_key.value) == (
        "asset 'page_views' has no partition '2024-02-30' "
        f"({DAYS.describe()}): ask about one of its partition keys."
    )
    with pytest.raises(DefinitionError, match="no asset 'page_view'"):
        instance.get_stale_partitions(defs, "page_view")


def test_many_upstream_partitions_are_compared_as_one_asset(instance: Instance) -> None:
    year = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-05-01")
    assert len(year.get_partition_keys()) >= MAX_UPSTREAM_PARTITIONS

    @asset(partitions_def=year)
    def clicks() -> None:
        return None

    @asset(deps=[clicks])
    def clicks_all_time() -> None:
        return None

    defs = Definitions(assets=[clicks, clicks_all_time])
    materialize([clicks], partition_key="2024-01-01", instance=instance)
    materialize([clicks_all_time], instance=instance)
    assert instance.get_stale_assets(defs) == {}
    late = materialize([clicks], partition_key="2024-04-30", instance=instance)
    assert instance.get_stale_assets(defs) == {
        clicks_all_time.key: [
            f"upstream 'clicks' was materialized after it (run {late.run_id[:8]})"
        ]
    }


def test_the_latest_of_each_partition_is_found_across_pages(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staleness, "_PAGE", 2)  # a page of two materializations per query
    defs = Definitions(assets=[page_views, daily_sessions])
    days = DAYS.get_partition_keys()
    for day in days:
        materialize([page_views, daily_sessions], partition_key=day, instance=instance)
    for _ in range(3):  # newer materializations of one partition fill the first pages
        materialize([page_views, daily_sessions], partition_key=days[-1], instance=instance)
    assert instance.get_stale_partitions(defs, "daily_sessions") == {}
    late = materialize([page_views], partition_key=days[0], instance=instance)
    assert instance.get_stale_partitions(defs, "daily_sessions") == {
        days[0]: [
            f"upstream 'page_views' partition {days[0]!r} was materialized after it "
            f"(run {late.run_id[:8]})"
        ]
    }
