"""AssetSpec.replace_attributes / merge_attributes / with_io_manager_key, map_asset_specs, and
OpDefinition.with_retry_policy, as a project that adjusts many definitions at once uses them."""

from __future__ import annotations

from typing import Any

import pytest

from knoll import (
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    DefinitionError,
    InputContext,
    IOManager,
    RetryPolicy,
    asset,
    map_asset_specs,
    materialize,
    multi_asset,
    op,
)


def test_replace_attributes_replaces_every_given_field_outright() -> None:
    spec = AssetSpec(
        "orders",
        deps=["raw_orders"],
        tags={"tier": "gold"},
        owners=["ana@example.com"],
        metadata={"rows": 10},
        kinds=["duckdb"],
    )
    replaced = spec.replace_attributes(
        key="sales/orders",
        deps=["raw_orders_v2"],
        tags={"pii": "yes"},
        owners=["team:sales"],
        metadata={"source": "crm"},
        kinds=["python"],
        automation_condition=AutomationCondition.eager(),
    )
    assert replaced.key == AssetKey(["sales", "orders"])
    assert replaced.dep_keys == (AssetKey("raw_orders_v2"),)
    assert replaced.tags == {"pii": "yes"}
    assert replaced.owners == ("team:sales",)
    assert set(replaced.metadata) == {"source"}
    assert replaced.kinds == {"python"}
    assert replaced.automation_condition == AutomationCondition.eager()
    # None clears an optional field
    assert (
        spec.replace_attributes(description="x").replace_attributes(description=None).description
        is None
    )
    with pytest.raises(DefinitionError, match="AssetSpec has no attribute 'grup_name' to replace"):
        spec.replace_attributes(grup_name="sales")


def test_merge_attributes_adds_deps_and_lets_new_tags_and_metadata_win() -> None:
    spec = AssetSpec("orders", deps=["raw_orders"], tags={"tier": "gold", "team": "a"})
    merged = spec.merge_attributes(
        deps=["raw_customers"],
        tags={"team": "b"},
        metadata={"rows": 3},
        owners=["team:sales"],
        kinds=["duckdb"],
    )
    assert merged.dep_keys == (AssetKey("raw_orders"), AssetKey("raw_customers"))
    assert merged.tags == {"tier": "gold", "team": "b"}
    assert merged.metadata["rows"].value == 3
    assert merged.owners == ("team:sales",)
    assert merged.kinds == {"duckdb"}
    with pytest.raises(DefinitionError, match="lists 'raw_orders' twice"):
        spec.merge_attributes(deps=["raw_orders"])


class _Warehouse(IOManager):
    """Serves the rows of tables that knoll does not materialize."""

    def handle_output(self, context: Any, obj: Any) -> None:
        raise AssertionError("external assets are never written")

    def load_input(self, context: Any) -> Any:
        assert isinstance(context, InputContext)
        assert context.asset_key is not None
        return [f"{context.asset_key.to_user_string()}-row"]


def test_with_io_manager_key_loads_an_external_asset_with_that_io_manager() -> None:
    raw = AssetSpec("raw_orders").with_io_manager_key("warehouse")
    assert raw.io_manager_key == "warehouse"
    assert raw.metadata["knoll/io_manager_key"].value == "warehouse"

    @asset
    def order_count(raw_orders: list[str]) -> int:
        return len(raw_orders)

    result = materialize([raw, order_count], resources={"warehouse": _Warehouse()})
    assert result.asset_value("order_count") == 1
    with pytest.raises(DefinitionError) as caught:
        AssetSpec("raw_orders").with_io_manager_key("")
    assert str(caught.value) == (
        "asset 'raw_orders': with_io_manager_key('') needs the resource key of an IO manager, "
        "such as 'warehouse_io_manager'."
    )


def test_map_asset_specs_over_specs_and_definitions() -> None:
    @asset(ins={"orders": AssetIn("raw_orders")})
    def revenue(orders: list[int]) -> int:
        return sum(orders)

    @multi_asset(outs={"eu": AssetOut(), "us": AssetOut()})
    def regions() -> tuple[int, int]:
        return 1, 2

    specs: list[AssetSpec | AssetsDefinition] = [AssetSpec("raw_orders"), revenue, regions]
    mapped = map_asset_specs(lambda s: s.merge_attributes(owners=["team:finance"]), specs)
    spec, revenue_def, regions_def = mapped
    assert isinstance(spec, AssetSpec)
    assert spec.owners == ("team:finance",)
    assert isinstance(regions_def, AssetsDefinition)
    assert isinstance(revenue_def, AssetsDefinition)
    assert [s.owners for s in regions_def.specs] == [("team:finance",), ("team:finance",)]
    assert revenue_def.specs[0].owners == ("team:finance",)
    assert revenue.specs[0].owners == ()  # the original is unchanged
    grouped = regions.map_asset_specs(lambda s: s.replace_attributes(group_name="geo"))
    assert {s.group_name for s in grouped.specs} == {"geo"}
    assert materialize([grouped]).asset_value("eu") == 1


def test_map_asset_specs_errors_name_the_asset() -> None:
    @asset(ins={"orders": AssetIn("raw_orders")}, deps=["audit_log"])
    def revenue(orders: list[int]) -> int:
        return sum(orders)

    with pytest.raises(DefinitionError) as renamed:
        revenue.map_asset_specs(lambda s: s.replace_attributes(key="revenue_v2"))
    assert str(renamed.value) == (
        "map_asset_specs on asset 'revenue': the function changed the key to 'revenue_v2'; it "
        "must keep keys (rename assets with key_prefix= or AssetOut(key=...) instead)."
    )
    with pytest.raises(DefinitionError) as dropped:
        revenue.map_asset_specs(lambda s: s.replace_attributes(deps=[]))
    assert str(dropped.value) == (
        "map_asset_specs on asset 'revenue': the function removed the dependency on "
        "'raw_orders', which parameter 'orders' loads; only deps that are not parameters can "
        "be changed or removed."
    )
    # deps that are not parameters can go
    kept = revenue.map_asset_specs(lambda s: s.replace_attributes(deps=["raw_orders"]))
    assert kept.specs[0].dep_keys == (AssetKey("raw_orders"),)
    with pytest.raises(DefinitionError, match="the function returned NoneType None"):
        map_asset_specs(lambda s: None, [AssetSpec("a")])  # type: ignore[arg-type,return-value]
    with pytest.raises(DefinitionError, match="map_asset_specs: got str 'a'; pass AssetSpecs"):
        map_asset_specs(lambda s: s, ["a"])  # type: ignore[list-item]


def test_with_retry_policy_copies_the_op() -> None:
    @op
    def fetch_rates() -> int:
        return 1

    retried = fetch_rates.with_retry_policy(RetryPolicy(max_retries=3, delay=2))
    assert retried.retry_policy == RetryPolicy(max_retries=3, delay=2)
    assert fetch_rates.retry_policy is None
    assert retried.name == "fetch_rates"
    with pytest.raises(DefinitionError) as caught:
        fetch_rates.with_retry_policy(3)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "op 'fetch_rates': with_retry_policy() takes a RetryPolicy, got int 3; for example "
        "RetryPolicy(max_retries=3, delay=5)."
    )
