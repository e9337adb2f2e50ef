"""AssetSelection's check selections and the Dagster 1.13 methods beyond keys and groups."""

from __future__ import annotations

import pytest

from knoll import (
    AssetCheckKey,
    AssetCheckResult,
    AssetGraph,
    AssetKey,
    AssetOut,
    AssetSelection,
    AssetSpec,
    DefinitionError,
    SelectionError,
    asset,
    asset_check,
    multi_asset,
)

# warehouse/orders (external) -> orders_clean -> daily_revenue
#                                orders_clean -> (split_a, split_b: one multi-asset)
# customers (external) -> customer_ltv


@asset(deps=[AssetKey(["warehouse", "orders"])])
def orders_clean() -> None:
    pass


@asset(deps=[orders_clean])
def daily_revenue() -> None:
    pass


@multi_asset(outs={"split_a": AssetOut(), "split_b": AssetOut()}, deps=[orders_clean])
def splits() -> tuple[int, int]:
    return 1, 2


@asset(deps=["customers"])
def customer_ltv() -> None:
    pass


@asset_check(asset=orders_clean)
def orders_have_ids() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


@asset_check(asset=daily_revenue)
def revenue_positive() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


GRAPH = AssetGraph(
    [
        AssetSpec(["warehouse", "orders"]),
        AssetSpec("customers"),
        orders_clean,
        daily_revenue,
        splits,
        customer_ltv,
    ],
    [orders_have_ids, revenue_positive],
)


def keys(selection: AssetSelection) -> list[str]:
    return sorted(k.to_user_string() for k in selection.resolve(GRAPH))


def checks(selection: AssetSelection) -> list[str]:
    return sorted(k.to_user_string() for k in selection.resolve_checks(GRAPH))


def test_check_selections_hold_checks_and_no_assets() -> None:
    everything = AssetSelection.all_asset_checks()
    assert keys(everything) == []
    assert checks(everything) == ["daily_revenue:revenue_positive", "orders_clean:orders_have_ids"]
    for_orders = AssetSelection.checks_for_assets(orders_clean)
    assert keys(for_orders) == []
    assert checks(for_orders) == ["orders_clean:orders_have_ids"]
    named = AssetSelection.checks(revenue_positive)
    assert checks(named) == ["daily_revenue:revenue_positive"]
    by_key = AssetSelection.checks(AssetCheckKey(AssetKey("orders_clean"), "orders_have_ids"))
    assert checks(by_key) == ["orders_clean:orders_have_ids"]


def test_without_checks_and_unions_with_check_selections() -> None:
    chain = AssetSelection.keys("orders_clean").downstream()
    assert checks(chain) == ["daily_revenue:revenue_positive", "orders_clean:orders_have_ids"]
    bare = chain.without_checks()
    assert keys(bare) == keys(chain)
    assert checks(bare) == []
    one_check = AssetSelection.keys("orders_clean").without_checks() | AssetSelection.checks(
        revenue_positive
    )
    assert keys(one_check) == ["orders_clean"]
    assert checks(one_check) == ["daily_revenue:revenue_positive"]
    assert checks(chain & AssetSelection.checks_for_assets(daily_revenue)) == [
        "daily_revenue:revenue_positive"
    ]
    assert checks(chain - AssetSelection.checks(orders_have_ids)) == [
        "daily_revenue:revenue_positive"
    ]


def test_an_unknown_check_is_named_with_a_suggestion() -> None:
    missing = AssetCheckKey(AssetKey("orders_clean"), "orders_have_id")
    with pytest.raises(SelectionError) as caught:
        AssetSelection.checks(missing).resolve_checks(GRAPH)
    assert str(caught.value) == (
        "asset selection names check 'orders_clean:orders_have_id', which is not a check in "
        "these definitions. Did you mean 'orders_clean:orders_have_ids'?"
    )
    with pytest.raises(DefinitionError, match=r"pass AssetCheckKey\(asset_key, name\) values"):
        AssetSelection.checks("orders_clean:orders_have_ids")


def test_materializable_sources_and_upstream_source_assets() -> None:
    with_sources = AssetSelection.all(include_sources=True)
    assert keys(with_sources.materializable()) == keys(AssetSelection.all())
    assert keys(AssetSelection.keys("daily_revenue", "customer_ltv").upstream_source_assets()) == [
        "customers"
    ]
    assert keys(AssetSelection.keys("orders_clean").upstream_source_assets()) == [
        "warehouse/orders"
    ]
    chain = AssetSelection.keys("orders_clean", "daily_revenue")
    assert keys(chain.sources()) == keys(chain.roots()) == ["orders_clean"]


def test_required_multi_asset_neighbors_and_key_substring() -> None:
    one_split = AssetSelection.keys("split_a")
    assert keys(one_split.required_multi_asset_neighbors()) == ["split_a", "split_b"]
    assert keys(AssetSelection.keys("daily_revenue").required_multi_asset_neighbors()) == [
        "daily_revenue"
    ]
    assert keys(AssetSelection.key_substring("orders")) == ["orders_clean"]
    with_sources = AssetSelection.key_substring("orders", include_sources=True)
    assert keys(with_sources) == ["orders_clean", "warehouse/orders"]


def test_tag_string() -> None:
    @asset(tags={"tier": "gold"})
    def gold() -> None:
        pass

    @asset(tags={"tier": "silver"})
    def silver() -> None:
        pass

    graph = AssetGraph([gold, silver])
    assert AssetSelection.tag_string("tier=gold").resolve(graph) == {AssetKey("gold")}
    assert len(AssetSelection.tag_string("tier").resolve(graph)) == 2


def test_describe_of_the_new_selections() -> None:
    assert AssetSelection.all_asset_checks().describe() == "all_asset_checks"
    assert AssetSelection.checks_for_assets("a").describe() == "checks_for(a)"
    assert AssetSelection.keys("a").without_checks().describe() == "(a - all_asset_checks)"
    assert AssetSelection.keys("a").materializable().describe() == "materializable(a)"
