"""``@asset``, ``AssetSpec`` and the ``AssetsDefinition`` they make: keys, dependencies,
attributes, external assets, factories, loaders, and every error a user can trigger."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from knoll import (
    AllPartitionMapping,
    AssetCheckSpec,
    AssetDep,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    BackfillPolicy,
    CronError,
    DailyPartitionsDefinition,
    DefinitionError,
    Definitions,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
    graph_asset,
    load_assets_from_modules,
    materialize,
    multi_asset,
    op,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


def keys_of(*defs: AssetsDefinition | AssetSpec) -> list[str]:
    out: list[str] = []
    for item in defs:
        keys = [item.key] if isinstance(item, AssetSpec) else list(item.keys)
        out.extend(k.to_user_string() for k in keys)
    return sorted(out)


# -- keys ------------------------------------------------------------------------------------


def test_the_function_name_is_the_key() -> None:
    @asset
    def orders() -> list[int]:
        return [1]

    assert orders.key == AssetKey("orders")
    assert orders.keys == frozenset({AssetKey("orders")})
    assert orders.is_executable
    assert orders.node_name == "orders"
    assert repr(orders) == "<AssetsDefinition asset 'orders'>"


def test_name_and_key_prefix_build_the_key() -> None:
    @asset(name="daily_orders", key_prefix=["warehouse", "sales"])
    def compute() -> int:
        return 1

    assert compute.key == AssetKey(["warehouse", "sales", "daily_orders"])
    assert compute.key.to_user_string() == "warehouse/sales/daily_orders"
    # the op is named after the whole key, so that prefixed assets never clash as steps
    assert compute.node_name == "warehouse__sales__daily_orders"


def test_a_string_key_prefix_is_one_part() -> None:
    @asset(key_prefix="raw")
    def events() -> int:
        return 1

    assert events.key == AssetKey(["raw", "events"])


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("orders", ["orders"]),
        ("raw/orders", ["raw", "orders"]),
        (["raw", "orders"], ["raw", "orders"]),
        (AssetKey(["a", "b", "c"]), ["a", "b", "c"]),
    ],
)
def test_key_accepts_every_coercible_form(key: Any, expected: list[str]) -> None:
    @asset(key=key)
    def compute() -> int:
        return 1

    assert compute.key.path == tuple(expected)


def test_key_cannot_be_combined_with_name_or_prefix() -> None:
    def compute() -> int:
        return 1

    with pytest.raises(DefinitionError, match=r"@asset on compute \(.*test_asset\.py:\d+\)"):
        asset(key="a", name="b")(compute)
    with pytest.raises(
        DefinitionError, match=r"sets key= together with name= or key_prefix=; use key= alone"
    ):
        asset(key="a", key_prefix="p")(compute)


@pytest.mark.parametrize("name", ["my orders", "ünïcode", "raw/orders", ".."])
def test_invalid_asset_names_are_named_with_a_suggestion(name: str) -> None:
    def compute() -> int:
        return 1

    with pytest.raises(
        DefinitionError,
        match=rf"asset name {re.escape(repr(name))} of @asset on compute is not valid: use only "
        r"letters, digits, '_', '-' and '\.'",
    ):
        asset(name=name)(compute)


def test_asset_names_take_dashes_and_dots_as_dagster_does() -> None:
    def compute() -> int:
        return 1

    dashed = asset(name="daily-orders")(compute)
    assert (dashed.key, dashed.op.name if dashed.op else None) == (
        AssetKey("daily-orders"),
        "daily_orders",
    )
    assert materialize([dashed]).asset_value("daily-orders") == 1

    def landing() -> Any:
        return _one()

    dotted = graph_asset(name="s3.landing")(landing)
    assert dotted.key == AssetKey("s3.landing")
    assert asset(name="")(compute).key == AssetKey("compute")  # empty: the function's name


@op
def _one() -> int:
    return 1


def test_key_parts_take_what_dagster_takes_but_not_dot_dot() -> None:
    def compute() -> int:
        return 1

    dashed = asset(key=["raw", "daily-orders"])(compute)
    assert dashed.key.to_user_string() == "raw/daily-orders"
    assert dashed.key.to_python_identifier() == "raw__daily_orders"
    with pytest.raises(
        DefinitionError,
        match=r"asset key part '\.\.' in 'raw/\.\.' is not valid: a part is a non-empty string",
    ):
        asset(key=["raw", ".."])(compute)


# -- inputs and dependencies -----------------------------------------------------------------


def test_parameters_are_upstream_assets() -> None:
    @asset
    def summary(orders: list[int], customers: list[str]) -> int:
        return len(orders) + len(customers)

    assert summary.input_keys == {"orders": AssetKey("orders"), "customers": AssetKey("customers")}
    assert summary.specs[0].dep_keys == (AssetKey("orders"), AssetKey("customers"))


def test_ins_map_a_parameter_to_another_key() -> None:
    @asset(
        ins={
            "rows": AssetIn(key="raw/orders"),
            "people": AssetIn(key_prefix=["crm"], metadata={"columns": ["id"]}),
        }
    )
    def cleaned(rows: list[int], people: list[str]) -> int:
        return len(rows) + len(people)

    assert cleaned.input_keys == {
        "rows": AssetKey(["raw", "orders"]),
        "people": AssetKey(["crm", "people"]),
    }
    assert cleaned.op is not None
    assert cleaned.op.input_defs["people"].metadata == {
        "columns": MetadataValue.json(["id"]),
    }


def test_asset_in_carries_its_partition_mapping_onto_the_dependency() -> None:
    mapping = AllPartitionMapping()

    @asset(ins={"daily": AssetIn(partition_mapping=mapping)})
    def rollup(daily: list[int]) -> int:
        return sum(daily)

    assert rollup.partition_mapping_for(AssetKey("daily")) is mapping
    assert rollup.partition_mapping_for(AssetKey("other")) is None


def test_deps_accept_keys_strings_specs_assets_and_asset_deps() -> None:
    @asset
    def upstream_asset() -> int:
        return 1

    mapping = AllPartitionMapping()

    @asset(
        deps=[
            "plain",
            "raw/path",
            AssetKey(["by", "key"]),
            AssetSpec("a_spec"),
            upstream_asset,
            AssetDep("mapped", partition_mapping=mapping),
        ]
    )
    def downstream() -> None:
        pass

    assert [k.to_user_string() for k in downstream.specs[0].dep_keys] == [
        "plain",
        "raw/path",
        "by/key",
        "a_spec",
        "upstream_asset",
        "mapped",
    ]
    assert downstream.input_keys == {}
    assert downstream.partition_mapping_for(AssetKey("mapped")) is mapping


def test_inputs_come_before_deps_in_the_dependency_list() -> None:
    @asset(deps=["ordering_only"])
    def both(data: int) -> int:
        return data

    assert both.specs[0].dep_keys == (AssetKey("data"), AssetKey("ordering_only"))


def test_a_dependency_given_both_as_input_and_in_deps_is_an_error() -> None:
    def joined(orders: list[int]) -> int:
        return len(orders)

    with pytest.raises(
        DefinitionError,
        match=r"asset 'joined' names 'orders' both as an input and in deps=; keep it as an input",
    ):
        asset(deps=["orders"])(joined)


def test_deps_must_be_a_list() -> None:
    def compute() -> None:
        pass

    with pytest.raises(
        DefinitionError, match=r"deps of asset 'compute' must be a list, got 'orders': "
    ):
        asset(deps="orders")(compute)


def test_a_dependency_listed_twice_is_an_error() -> None:
    def compute() -> None:
        pass

    with pytest.raises(DefinitionError, match=r"asset 'compute' lists 'orders' twice"):
        asset(deps=["orders", AssetKey("orders")])(compute)


def test_a_dependency_that_is_not_a_key_names_the_asset() -> None:
    def compute() -> None:
        pass

    with pytest.raises(
        DefinitionError,
        match=r"dependency of asset 'compute': cannot make an asset key from 3: give a string",
    ):
        asset(deps=[3])(compute)


def test_a_dependency_on_a_multi_asset_must_name_one_of_its_assets() -> None:
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def both() -> tuple[int, int]:
        return 1, 2

    def compute() -> None:
        pass

    with pytest.raises(
        DefinitionError,
        match=r"asset 'compute' depends on a definition of 2 assets; name the one it depends on",
    ):
        asset(deps=[both])(compute)


def test_ins_for_a_parameter_that_does_not_exist() -> None:
    def cleaned(rows: list[int]) -> int:
        return len(rows)

    with pytest.raises(
        DefinitionError,
        match=r"asset 'cleaned' \(.*:\d+\) declares input 'rowz' in ins=, but its function has "
        r"no parameter 'rowz'\. Did you mean 'rows'\?",
    ):
        asset(ins={"rowz": AssetIn("raw")})(cleaned)


def test_ins_values_must_be_asset_ins() -> None:
    def cleaned(rows: list[int]) -> int:
        return len(rows)

    with pytest.raises(
        DefinitionError, match=r"ins\['rows'\] must be an AssetIn\(\.\.\.\), got str"
    ):
        asset(ins={"rows": "raw"})(cleaned)  # type: ignore[dict-item]


def test_asset_in_with_key_and_key_prefix_is_an_error() -> None:
    def cleaned(rows: list[int]) -> int:
        return len(rows)

    with pytest.raises(
        DefinitionError, match=r"AssetIn for input 'rows' sets both key= and key_prefix=; keep one"
    ):
        asset(ins={"rows": AssetIn(key="a", key_prefix="b")})(cleaned)


def test_star_args_are_rejected_because_inputs_are_passed_by_name() -> None:
    def compute(*frames: int) -> int:
        return sum(frames)

    with pytest.raises(
        DefinitionError, match=r"asset 'compute' \(.*\) takes \*frames: knoll passes inputs by name"
    ):
        asset(compute)


def test_the_context_parameter_is_not_an_input() -> None:
    @asset
    def with_context(context: Any, orders: list[int]) -> int:
        return len(orders)

    assert list(with_context.input_keys) == ["orders"]


def test_a_context_parameter_that_is_not_first() -> None:
    def late(orders: list[int], context: Any) -> int:
        return len(orders)

    with pytest.raises(
        DefinitionError,
        match=r"asset 'late' \(.*:\d+\): the context parameter 'context' must come first",
    ):
        asset(late)


# -- attributes ------------------------------------------------------------------------------


def test_descriptive_attributes_land_on_the_spec() -> None:
    condition = AutomationCondition.eager()

    @asset(
        group_name="sales",
        description="All orders.",
        metadata={"rows": 12, "owner_note": "x"},
        tags={"tier": "gold", "example.com/team": "core"},
        owners=["ana@example.com", "team:data-eng"],
        kinds=["python", "duckdb"],
        code_version="3",
        automation_condition=condition,
    )
    def orders() -> int:
        return 1

    spec = orders.specs[0]
    assert spec.group_name == "sales"
    assert spec.effective_group == "sales"
    assert spec.description == "All orders."
    assert spec.metadata == {"rows": MetadataValue.int(12), "owner_note": MetadataValue.text("x")}
    assert spec.tags == {"tier": "gold", "example.com/team": "core"}
    assert spec.owners == ("ana@example.com", "team:data-eng")
    assert spec.kinds == frozenset({"python", "duckdb"})
    assert spec.code_version == "3"
    assert spec.automation_condition is condition


def test_an_automation_condition_with_a_bad_cron_fails_where_it_is_written() -> None:
    with pytest.raises(
        CronError,
        match=r"AutomationCondition\.on_cron\('0 25 \* \* \*'\): invalid cron string "
        r"'0 25 \* \* \*': hour field '25' is out of range 0-23",
    ):
        AutomationCondition.on_cron("0 25 * * *")


def test_the_docstring_is_the_default_description() -> None:
    @asset
    def documented() -> int:
        """Counts the orders of the day."""
        return 1

    assert documented.specs[0].description == "Counts the orders of the day."
    assert documented.op is not None
    assert documented.op.description == "Counts the orders of the day."


def test_without_a_group_an_asset_is_in_the_default_group() -> None:
    @asset
    def plain() -> int:
        return 1

    assert plain.specs[0].group_name is None
    assert plain.specs[0].effective_group == "default"


def test_execution_attributes_land_on_the_op_and_definition() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    policy = RetryPolicy(max_retries=2)
    backfill = BackfillPolicy.single_run()

    @asset(
        partitions_def=daily,
        io_manager_key="warehouse_io",
        required_resource_keys=["warehouse"],
        op_tags={"kind": "heavy"},
        retry_policy=policy,
        backfill_policy=backfill,
        pool="db",
    )
    def loaded() -> int:
        return 1

    assert loaded.partitions_def is daily
    assert loaded.specs[0].partitions_def is daily
    assert loaded.backfill_policy is backfill
    assert loaded.op is not None
    assert loaded.op.kind == "asset"
    assert loaded.op.output_defs["result"].io_manager_key == "warehouse_io"
    assert loaded.op.required_resource_keys == frozenset({"warehouse"})
    assert loaded.op.tags == {"kind": "heavy"}
    assert loaded.op.retry_policy is policy
    assert loaded.op.pool == "db"


@pytest.mark.parametrize("annotation", [None, MaterializeResult])
def test_an_asset_that_returns_nothing_outputs_a_materialize_result(annotation: Any) -> None:
    def writes_itself() -> None:
        pass

    writes_itself.__annotations__["return"] = annotation
    assets_def = asset(writes_itself)
    assert assets_def.op is not None
    assert assets_def.op.output_defs["result"].type is MaterializeResult


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"bad key!": "v"}, r"tag key 'bad key!' of asset 'tagged' is not valid: use letters"),
        ({"k": 1}, r"tag 'k' of asset 'tagged' has the int value 1: tag values must be strings"),
        ({"a" * 64: "v"}, r"tag key 'a{64}' of asset 'tagged' is not valid"),
        ({"k": "x" * (63 * 1024 + 1)}, r"tag 'k' of asset 'tagged' is longer than 64512"),
    ],
)
def test_invalid_tags_name_the_asset(tags: dict[str, Any], message: str) -> None:
    def tagged() -> int:
        return 1

    with pytest.raises(DefinitionError, match=message):
        asset(tags=tags)(tagged)


def test_invalid_op_tags_name_the_op() -> None:
    def tagged() -> int:
        return 1

    with pytest.raises(DefinitionError, match=r"tag 'k' of asset 'tagged' has the int value 2"):
        asset(op_tags={"k": 2})(tagged)  # type: ignore[dict-item]


@pytest.mark.parametrize("owner", ["bob", "team-data", "team:", "bob@localhost", ""])
def test_owners_are_emails_or_teams(owner: str) -> None:
    def owned() -> int:
        return 1

    with pytest.raises(
        DefinitionError,
        match=rf"owner {owner!r} of asset 'owned' is not valid: use an email address "
        r"\('ana@example\.com'\) or a team \('team:data-eng'\)",
    ):
        asset(owners=[owner])(owned)


def test_owners_must_be_a_list() -> None:
    def owned() -> int:
        return 1

    with pytest.raises(
        DefinitionError, match=r"owners of asset 'owned' must be a list: owners=\['ana@x\.io'\]"
    ):
        asset(owners="ana@x.io")(owned)


def test_kinds_must_be_a_short_list_of_non_empty_strings() -> None:
    def kinded() -> int:
        return 1

    with pytest.raises(
        DefinitionError, match=r"kinds of asset 'kinded' must be a list: kinds=\['duckdb'\]"
    ):
        asset(kinds="duckdb")(kinded)
    with pytest.raises(DefinitionError, match=r"kind '' of asset 'kinded' must be a non-empty"):
        asset(kinds=[""])(kinded)
    with pytest.raises(DefinitionError, match=r"asset 'kinded' has 4 kinds; at most 3 are allowed"):
        asset(kinds=["a", "b", "c", "d"])(kinded)


def test_an_invalid_group_name_names_the_asset() -> None:
    def grouped() -> int:
        return 1

    with pytest.raises(
        DefinitionError,
        match=r"group name 'sales team' of asset 'grouped' is not valid: .* 'sales_team'",
    ):
        asset(group_name="sales team")(grouped)


def test_metadata_that_cannot_be_recorded_names_the_entry() -> None:
    def described() -> int:
        return 1

    with pytest.raises(
        DefinitionError,
        match=r"metadata entry 'conn' of asset 'described' has a object value that knoll cannot "
        r"record",
    ):
        asset(metadata={"conn": object()})(described)


# -- check specs -----------------------------------------------------------------------------


def test_check_specs_declare_checks_the_asset_reports() -> None:
    @asset(check_specs=[AssetCheckSpec("has_rows", asset="orders")])
    def orders() -> int:
        return 1

    assert [k.to_user_string() for k in orders.check_keys] == ["orders:has_rows"]


def test_a_check_spec_for_another_asset_is_an_error() -> None:
    def orders() -> int:
        return 1

    with pytest.raises(
        DefinitionError,
        match=r"check 'has_rows' in check_specs of asset 'orders' targets 'customers', which "
        r"asset 'orders' does not produce",
    ):
        asset(check_specs=[AssetCheckSpec("has_rows", asset="customers")])(orders)


def test_a_check_spec_given_twice_is_an_error() -> None:
    def orders() -> int:
        return 1

    spec = AssetCheckSpec("has_rows", asset="orders")
    with pytest.raises(DefinitionError, match=r"asset 'orders' declares check 'has_rows' twice"):
        asset(check_specs=[spec, spec])(orders)


# -- AssetSpec -------------------------------------------------------------------------------


def test_asset_spec_normalises_what_it_is_given() -> None:
    spec = AssetSpec(
        "raw/orders",
        deps=["upstream"],
        metadata={"rows": 1},
        tags={"a": "b"},
        owners=["team:x"],
        kinds=["s3"],
    )
    assert spec.key == AssetKey(["raw", "orders"])
    assert spec.deps == (AssetDep("upstream"),)
    assert spec.metadata == {"rows": MetadataValue.int(1)}
    assert spec.owners == ("team:x",)
    assert spec.kinds == frozenset({"s3"})


def test_asset_spec_replace_changes_some_attributes_and_validates_again() -> None:
    spec = AssetSpec("orders", group_name="raw", tags={"a": "1"})
    changed = spec.replace(group_name="sales", key="sales/orders", deps=["raw_orders"])
    assert changed.key == AssetKey(["sales", "orders"])
    assert changed.group_name == "sales"
    assert changed.tags == {"a": "1"}
    assert changed.dep_keys == (AssetKey("raw_orders"),)
    assert spec.group_name == "raw"  # the original is unchanged
    with pytest.raises(DefinitionError, match=r"tag 'a' of asset 'orders' has the int value"):
        spec.replace(tags={"a": 1})


def test_asset_spec_replace_of_an_unknown_attribute() -> None:
    with pytest.raises(DefinitionError, match=r"AssetSpec has no attribute 'grup_name' to replace"):
        AssetSpec("orders").replace(grup_name="sales")


def test_asset_spec_merge_attributes_adds_to_what_is_there() -> None:
    spec = AssetSpec("orders", tags={"a": "1"}, owners=["ana@example.com"], kinds=["python"])
    merged = spec.merge_attributes(
        tags={"b": "2"},
        owners=["ana@example.com", "team:data"],
        kinds=["duckdb"],
        metadata={"rows": 3},
    )
    assert merged.tags == {"a": "1", "b": "2"}
    assert merged.owners == ("ana@example.com", "team:data")
    assert merged.kinds == frozenset({"python", "duckdb"})
    assert merged.metadata == {"rows": MetadataValue.int(3)}


# -- external assets -------------------------------------------------------------------------


def test_an_asset_spec_in_definitions_is_an_external_asset() -> None:
    raw = AssetSpec("raw_orders", group_name="raw")

    @asset(deps=[raw])
    def orders() -> int:
        return 1

    defs = Definitions(assets=[raw, orders])
    external = defs.get_assets_def("raw_orders")
    assert not external.is_executable
    assert external.op is None
    assert external.describe() == "asset 'raw_orders'"
    assert defs.get_asset_graph().executable_keys == frozenset({AssetKey("orders")})
    with pytest.raises(DefinitionError, match=r"asset 'raw_orders' is external and cannot be"):
        external()
    with pytest.raises(DefinitionError, match=r"asset 'raw_orders' is external: it has no op"):
        _ = external.node_name


# -- factories and loaders -------------------------------------------------------------------


def make_count_asset(table: str) -> AssetsDefinition:
    """An asset factory: a plain function that returns a new asset each call."""

    @asset(name=f"{table}_count", key_prefix="counts", deps=[table], group_name="counts")
    def _count() -> int:
        return 1

    return _count


def test_asset_factories_make_independent_assets() -> None:
    made = [make_count_asset(t) for t in ("orders", "customers")]
    assert keys_of(*made) == ["counts/customers_count", "counts/orders_count"]
    assert [a.specs[0].dep_keys for a in made] == [(AssetKey("orders"),), (AssetKey("customers"),)]
    defs = Definitions(assets=[AssetSpec("orders"), AssetSpec("customers"), *made])
    assert defs.get_asset_graph().groups()["counts"] == frozenset(
        {AssetKey(["counts", "orders_count"]), AssetKey(["counts", "customers_count"])}
    )


@pytest.fixture
def shop() -> Iterator[dict[str, ModuleType]]:
    """The modules of the fixture project ``knoll_fixture_shop``, imported as a user would."""
    sys.path.insert(0, str(FIXTURES))
    try:
        yield {
            name: importlib.import_module(f"knoll_fixture_shop.{name}")
            for name in ("raw", "reports")
        }
    finally:
        sys.path.remove(str(FIXTURES))
        for name in [m for m in sys.modules if m.startswith("knoll_fixture_shop")]:
            del sys.modules[name]


def test_load_assets_from_modules_finds_assets_specs_and_lists(
    shop: dict[str, ModuleType],
) -> None:
    loaded = load_assets_from_modules([shop["raw"], shop["reports"]], include_specs=True)
    assert keys_of(*loaded) == [
        "orders",
        "raw_orders",
        "regions/north_order_count",
        "regions/south_order_count",
        "revenue",
    ]
    # loading the same module twice gives each asset once
    assert len(load_assets_from_modules([shop["raw"], shop["raw"]], include_specs=True)) == 2
    # without include_specs, as in Dagster, module-level AssetSpecs are left out
    assert keys_of(*load_assets_from_modules([shop["raw"]])) == ["orders"]


def test_load_assets_from_modules_with_a_group_and_a_prefix(shop: dict[str, ModuleType]) -> None:
    loaded = load_assets_from_modules(
        [shop["raw"]], group_name="shop", key_prefix="shop", include_specs=True
    )
    by_key = {}
    for item in loaded:
        if isinstance(item, AssetSpec):
            by_key[item.key.to_user_string()] = item
        else:
            by_key[item.key.to_user_string()] = item.specs[0]
    # external assets keep their key (they are named by the system that makes them)
    assert sorted(by_key) == ["raw_orders", "shop/orders"]
    assert by_key["raw_orders"].group_name == "shop"
    assert by_key["shop/orders"].group_name == "shop"
    assert by_key["shop/orders"].dep_keys == (AssetKey("raw_orders"),)
    # the module's own objects are unchanged
    assert shop["raw"].orders.key == AssetKey("orders")


def test_a_prefix_moves_dependencies_between_the_loaded_assets(
    shop: dict[str, ModuleType],
) -> None:
    loaded = load_assets_from_modules(
        [shop["raw"], shop["reports"]], key_prefix="shop", include_specs=True
    )
    defs = Definitions(assets=loaded)
    graph = defs.get_asset_graph()
    revenue = defs.get_assets_def("shop/revenue")
    assert revenue.input_keys == {"orders": AssetKey(["shop", "orders"])}
    assert graph.parents(AssetKey(["shop", "revenue"])) == [AssetKey(["shop", "orders"])]
    assert set(graph.parents(AssetKey(["shop", "regions", "north_order_count"]))) == {
        AssetKey(["shop", "orders"]),
        AssetKey(["shop", "revenue"]),
    }
    assert revenue.node_name == "shop__revenue"


def test_loading_with_a_group_over_a_declared_group_is_an_error(
    shop: dict[str, ModuleType],
) -> None:
    with pytest.raises(
        DefinitionError,
        match=r"cannot set group 'shop' on 'revenue': it already declares group 'finance'",
    ):
        load_assets_from_modules([shop["reports"]], group_name="shop")


def test_with_attributes_prefixes_check_specs_too() -> None:
    @asset(check_specs=[AssetCheckSpec("positive", asset="amount")])
    def amount() -> int:
        return 1

    moved = amount.with_attributes(key_prefix=["finance"])
    assert moved.key == AssetKey(["finance", "amount"])
    assert [k.to_user_string() for k in moved.check_keys] == ["finance/amount:positive"]
