"""``@multi_asset``: one function, several assets, declared with ``outs=`` or ``specs=``."""

from __future__ import annotations

import pytest

from knoll import (
    AssetCheckSpec,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetSpec,
    DailyPartitionsDefinition,
    DefinitionError,
    Definitions,
    MaterializeResult,
    Out,
    StaticPartitionsDefinition,
    define_asset_job,
    multi_asset,
)


def user_strings(keys: frozenset[AssetKey]) -> list[str]:
    return sorted(k.to_user_string() for k in keys)


@multi_asset(
    outs={
        "orders": AssetOut(),
        "refunds": AssetOut(key=["finance", "refunds"], group_name="finance", is_required=False),
        "stats": AssetOut(key_prefix="reports", io_manager_key="warehouse_io"),
    },
    group_name="sales",
)
def split_orders() -> tuple[int, int, int]:
    return 1, 2, 3


@multi_asset(specs=[AssetSpec("left"), AssetSpec("right", deps=["left"])], can_subset=True)
def halves() -> None:
    pass


def test_outs_name_the_assets() -> None:
    assert user_strings(split_orders.keys) == ["finance/refunds", "orders", "reports/stats"]
    assert split_orders.output_for(AssetKey("orders")) == "orders"
    assert split_orders.output_for(AssetKey(["reports", "stats"])) == "stats"
    assert split_orders.spec_for(AssetKey(["finance", "refunds"])).skippable
    assert split_orders.node_name == "split_orders"
    assert split_orders.op is not None
    assert split_orders.op.kind == "multi-asset"
    assert split_orders.op.output_defs["stats"].io_manager_key == "warehouse_io"
    assert not split_orders.op.output_defs["refunds"].is_required


def test_an_asset_outs_group_wins_over_the_multi_assets_group() -> None:
    groups = {s.key.to_user_string(): s.group_name for s in split_orders.specs}
    assert groups == {"orders": "sales", "finance/refunds": "finance", "reports/stats": "sales"}


def test_specs_name_the_assets_and_keep_their_own_deps() -> None:
    assert user_strings(halves.keys) == ["left", "right"]
    assert halves.spec_for(AssetKey("right")).dep_keys == (AssetKey("left"),)
    assert halves.op is not None
    assert halves.op.output_defs["left"].type is MaterializeResult
    assert halves.can_subset


def test_ins_and_deps_are_shared_by_every_asset() -> None:
    @multi_asset(
        outs={"a": AssetOut(), "b": AssetOut()},
        ins={"rows": AssetIn(key="raw/orders")},
        deps=["calendar"],
    )
    def both(rows: list[int]) -> tuple[int, int]:
        return len(rows), sum(rows)

    assert both.input_keys == {"rows": AssetKey(["raw", "orders"])}
    for spec in both.specs:
        assert spec.dep_keys == (AssetKey(["raw", "orders"]), AssetKey("calendar"))


def test_a_multi_asset_has_no_single_key() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"multi-asset 'split_orders' \(finance/refunds, orders, reports/stats\) produces 3 "
        r"assets; use \.keys or name the asset you mean",
    ):
        _ = split_orders.key


def test_spec_for_an_asset_it_does_not_produce() -> None:
    with pytest.raises(DefinitionError, match=r"multi-asset 'halves' .* does not produce 'middle'"):
        halves.spec_for(AssetKey("middle"))
    with pytest.raises(DefinitionError, match=r"does not produce 'middle'"):
        halves.output_for(AssetKey("middle"))


def test_exactly_one_of_outs_and_specs() -> None:
    def compute() -> None:
        pass

    message = r"multi-asset 'compute' \(.*:\d+\) needs exactly one of outs= \(a dict of AssetOut\)"
    with pytest.raises(DefinitionError, match=message):
        multi_asset()(compute)
    with pytest.raises(DefinitionError, match=message):
        multi_asset(outs={"a": AssetOut()}, specs=[AssetSpec("b")])(compute)


def test_outs_must_be_asset_outs() -> None:
    def compute() -> None:
        pass

    with pytest.raises(
        DefinitionError, match=r"outs\['a'\] of multi-asset 'compute' must be an AssetOut, got Out"
    ):
        multi_asset(outs={"a": Out()})(compute)  # type: ignore[dict-item]


def test_two_outs_with_one_key_is_an_error() -> None:
    def compute() -> None:
        pass

    with pytest.raises(
        DefinitionError,
        match=r"multi-asset 'compute' produces 'same' twice \(outputs 'a' and 'b'\)",
    ):
        multi_asset(outs={"a": AssetOut(key="same"), "b": AssetOut(key="same")})(compute)


def test_the_same_spec_twice_is_an_error() -> None:
    def compute() -> None:
        pass

    with pytest.raises(DefinitionError, match=r"multi-asset 'compute' lists 'a' twice in specs="):
        multi_asset(specs=[AssetSpec("a"), AssetSpec("a", group_name="g")])(compute)


def test_asset_out_with_key_and_key_prefix_is_an_error() -> None:
    def compute() -> None:
        pass

    with pytest.raises(
        DefinitionError, match=r"AssetOut for output 'a' sets both key= and key_prefix="
    ):
        multi_asset(outs={"a": AssetOut(key="k", key_prefix="p")})(compute)


def test_invalid_multi_asset_name() -> None:
    def compute() -> None:
        pass

    with pytest.raises(DefinitionError, match=r"multi-asset name 'split-orders' is not valid"):
        multi_asset(name="split-orders", outs={"a": AssetOut()})(compute)


def test_check_specs_must_target_one_of_its_assets() -> None:
    def compute() -> None:
        pass

    with pytest.raises(
        DefinitionError,
        match=r"check 'c' in check_specs of multi-asset 'compute' targets 'other', which "
        r"multi-asset 'compute' does not produce",
    ):
        multi_asset(outs={"a": AssetOut()}, check_specs=[AssetCheckSpec("c", asset="other")])(
            compute
        )


# -- partitions ------------------------------------------------------------------------------


def test_partitions_def_applies_to_every_asset() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()}, partitions_def=daily)
    def both() -> tuple[int, int]:
        return 1, 2

    assert both.partitions_def is daily
    assert [s.partitions_def for s in both.specs] == [daily, daily]


def test_specs_share_their_partitions_def() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @multi_asset(specs=[AssetSpec("a", partitions_def=daily), AssetSpec("b")])
    def both() -> None:
        pass

    assert both.partitions_def is daily
    assert both.spec_for(AssetKey("b")).partitions_def is daily


def test_specs_with_different_partitions_are_an_error() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    regions = StaticPartitionsDefinition(["eu", "us"])

    def both() -> None:
        pass

    with pytest.raises(
        DefinitionError,
        match=r"multi-asset 'both' mixes partitions \(daily partitions from 2024-01-01 \(UTC\) and "
        r"static partitions 'eu', 'us'\)\. One multi-asset computes one partition at a time",
    ):
        multi_asset(
            specs=[AssetSpec("a", partitions_def=daily), AssetSpec("b", partitions_def=regions)]
        )(both)


# -- subsetting ------------------------------------------------------------------------------


def test_a_subsettable_multi_asset_can_be_split() -> None:
    part = halves.subset_for([AssetKey("left")])
    assert part.keys == frozenset({AssetKey("left")})
    assert part.all_keys == frozenset({AssetKey("left"), AssetKey("right")})
    whole = halves.subset_for([AssetKey("left"), AssetKey("right"), AssetKey("elsewhere")])
    assert whole.selected_keys is None


def test_a_multi_asset_that_cannot_be_subset_says_what_the_selection_leaves_out() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"multi-asset 'split_orders' .* cannot be split: the selection leaves out "
        r"\['finance/refunds', 'reports/stats'\]\. Select all of its assets, or declare it with "
        r"can_subset=True",
    ):
        split_orders.subset_for([AssetKey("orders")])


def test_an_asset_job_over_part_of_an_unsplittable_multi_asset_fails_at_definition() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"asset job 'orders_only' selects part of a multi-asset: multi-asset "
        r"'split_orders' .* cannot be split",
    ):
        Definitions(assets=[split_orders], jobs=[define_asset_job("orders_only", "orders")])


def test_an_asset_job_over_part_of_a_subsettable_multi_asset() -> None:
    defs = Definitions(assets=[halves], jobs=[define_asset_job("left_only", "left")])
    assert defs.get_job_def("left_only").asset_selection == frozenset({AssetKey("left")})


def test_with_attributes_prefixes_every_asset_and_internal_deps() -> None:
    moved = halves.with_attributes(key_prefix="p", group_name="g")
    assert user_strings(moved.keys) == ["p/left", "p/right"]
    assert moved.spec_for(AssetKey(["p", "right"])).dep_keys == (AssetKey(["p", "left"]),)
    assert {s.group_name for s in moved.specs} == {"g"}
    assert moved.node_name == "p__halves"
