"""Observable source assets: observing records the data version, and staleness follows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from knoll import (
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    DefinitionError,
    Definitions,
    EventType,
    StaticPartitionsDefinition,
    asset,
    materialize,
    observable_source_asset,
)
from knoll.defs.observable import DATA_VERSION_TAG
from knoll.instance import Instance

#: what the "warehouse" holds; tests change it between observations
warehouse = {"version": "v1"}


@observable_source_asset(group_name="sources", description="Orders landed by the shop export.")
def raw_orders(context: AssetExecutionContext) -> DataVersion:
    context.log.info("looking at the export")
    return DataVersion(warehouse["version"])


@asset(deps=[raw_orders])
def order_summary() -> int:
    return 42


def test_observing_records_an_observation_with_the_data_version() -> None:
    warehouse["version"] = "v1"
    result = materialize([raw_orders])
    assert result.success
    assert len(result.events_of_type(EventType.ASSET_OBSERVATION)) == 1
    [observation] = result.asset_observations_for_node("raw_orders")
    assert observation.asset_key == AssetKey("raw_orders")
    assert observation.tags[DATA_VERSION_TAG] == "v1"
    assert result.get_asset_materialization_events() == []
    assert raw_orders.specs[0].group_name == "sources"


def test_downstream_staleness_follows_the_observed_data_version(tmp_path: Path) -> None:
    defs = Definitions(assets=[raw_orders, order_summary])
    with Instance.get(tmp_path / "home") as instance:

        def stale() -> list[str]:
            return list(instance.get_stale_assets(defs).get(AssetKey("order_summary"), []))

        warehouse["version"] = "v1"
        assert materialize([raw_orders], instance=instance).success
        assert stale() == ["never materialized"]
        assert materialize(
            [raw_orders, order_summary], selection=[order_summary], instance=instance
        ).success
        assert stale() == []
        # observed again with the same version: nothing changed downstream
        assert materialize([raw_orders], instance=instance).success
        assert stale() == []
        warehouse["version"] = "v2"
        assert materialize([raw_orders], instance=instance).success
        assert stale() == ["upstream 'raw_orders' has a new data version ('v2', was 'v1')"]
        assert materialize(
            [raw_orders, order_summary], selection=[order_summary], instance=instance
        ).success
        assert stale() == []
        assert materialize([raw_orders], instance=instance).success  # v2 again
        assert stale() == []
        # the source itself is never "stale": knoll observes it, it does not compute it
        assert AssetKey("raw_orders") not in instance.get_stale_assets(defs)


def test_a_partitioned_source_is_observed_per_partition() -> None:
    regions = StaticPartitionsDefinition(["eu", "us"])

    @observable_source_asset(partitions_def=regions)
    def regional_feed(context: AssetExecutionContext) -> DataVersion:
        return DataVersion(f"{context.partition_key}-7")

    result = materialize([regional_feed], partition_key="us")
    [observation] = result.asset_observations_for_node("regional_feed")
    assert (observation.partition, observation.tags[DATA_VERSION_TAG]) == ("us", "us-7")


def test_an_observation_function_that_returns_no_data_version_fails_its_step() -> None:
    @observable_source_asset
    def forgetful() -> DataVersion:
        return None  # type: ignore[return-value]

    result = materialize([forgetful], raise_on_error=False)
    assert not result.success
    error = result.step_error("forgetful")
    assert error is not None
    assert "DataVersion" in str(error)


def test_an_observation_function_reads_no_upstream_assets() -> None:
    with pytest.raises(DefinitionError) as info:

        @observable_source_asset
        def reads_orders(orders: list[int]) -> DataVersion:
            return DataVersion("x")

    assert "observable source asset 'reads_orders'" in str(info.value)
    assert "takes parameter 'orders'" in str(info.value)
