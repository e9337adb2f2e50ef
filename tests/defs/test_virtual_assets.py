"""Virtual assets (views): ``is_virtual=`` on @asset, AssetOut and AssetSpec, kept on the
graph node, looked through by the graph, automation conditions, run plans and the snapshot."""

from __future__ import annotations

import pytest

from knoll import (
    AssetKey,
    AssetOut,
    AssetSpec,
    DataVersion,
    Definitions,
    asset,
    definitions_snapshot,
    graph_multi_asset,
    multi_asset,
    observable_source_asset,
    op,
)
from knoll import AutomationCondition as AC
from knoll._serdes import deserialize, serialize
from knoll.errors import DefinitionError
from knoll.execution.plan import build_plan


# A dbt-like project: a table, a view over it, a view over the view, a model over the views.
@asset(kinds=["sql"])
def raw_orders() -> None:
    return None


@asset(deps=[raw_orders], is_virtual=True)
def stg_orders() -> None:
    return None


@asset(deps=[stg_orders], is_virtual=True)
def int_orders() -> None:
    return None


@asset(deps=[int_orders, AssetSpec("customers")])
def orders_summary() -> None:
    return None


DEFS = Definitions(assets=[raw_orders, stg_orders, int_orders, orders_summary])


def test_is_virtual_defaults_to_false_and_is_kept_on_the_spec_and_graph_node() -> None:
    graph = DEFS.get_asset_graph()
    assert raw_orders.specs[0].is_virtual is False
    assert stg_orders.specs[0].is_virtual is True
    assert AssetSpec("v", is_virtual=True).is_virtual is True
    assert [k.to_user_string() for k in graph.toposorted_keys if graph.node(k).is_virtual] == [
        "stg_orders",
        "int_orders",
    ]


def test_asset_out_and_multi_asset_specs_take_is_virtual() -> None:
    @multi_asset(outs={"table": AssetOut(), "view": AssetOut(is_virtual=True)})
    def both() -> tuple[None, None]:
        return None, None

    @multi_asset(specs=[AssetSpec("a"), AssetSpec("b", deps=["a"], is_virtual=True)])
    def from_specs() -> None:
        return None

    @op
    def compute() -> int:
        return 1

    @graph_multi_asset(outs={"g_view": AssetOut(is_virtual=True)})
    def from_graph() -> int:
        return compute()  # type: ignore[no-any-return]

    assert {s.key.to_user_string(): s.is_virtual for s in both.specs} == {
        "table": False,
        "view": True,
    }
    assert {s.key.to_user_string(): s.is_virtual for s in from_specs.specs} == {
        "a": False,
        "b": True,
    }
    assert from_graph.specs[0].is_virtual is True


def test_replace_attributes_sets_is_virtual_and_merge_attributes_keeps_it() -> None:
    view = AssetSpec("stg_payments", deps=["raw_payments"]).replace_attributes(is_virtual=True)
    assert view.is_virtual is True
    merged = view.merge_attributes(tags={"layer": "staging"}, owners=["team:data"])
    assert merged.is_virtual is True
    assert merged.tags == {"layer": "staging"}
    assert merged.replace_attributes(is_virtual=False).is_virtual is False


def test_is_virtual_must_be_a_bool() -> None:
    with pytest.raises(DefinitionError) as caught:
        AssetSpec("stg_orders", is_virtual="false")  # type: ignore[arg-type]
    assert str(caught.value) == (
        "is_virtual of asset 'stg_orders' must be True or False, got 'false': write "
        "is_virtual=True for a view, whose data is computed from its upstream assets whenever "
        "it is read."
    )
    with pytest.raises(DefinitionError, match="is_virtual of asset 'view' must be True or False"):

        @asset(is_virtual=1)  # type: ignore[call-overload, untyped-decorator]
        def view() -> None:
            return None


def test_non_virtual_ancestors_walk_through_chains_of_views() -> None:
    graph = DEFS.get_asset_graph()
    assert graph.get_non_virtual_ancestor_keys(AssetKey("orders_summary")) == {
        AssetKey("raw_orders"),
        AssetKey("customers"),
    }
    assert graph.get_non_virtual_ancestor_keys(AssetKey("stg_orders")) == {AssetKey("raw_orders")}
    assert graph.get_non_virtual_ancestor_keys(AssetKey("raw_orders")) == frozenset()
    # a view with nothing upstream of it resolves to nothing
    lone = Definitions(assets=[AssetSpec("lone_view", is_virtual=True), AssetSpec("x")])
    assert lone.get_asset_graph().get_non_virtual_ancestor_keys(AssetKey("lone_view")) == set()


def test_resolve_through_virtual_marks_every_deps_condition_of_the_tree() -> None:
    condition = AC.eager().resolve_through_virtual()
    assert condition.get_label() == "eager"
    deps = [o for o in condition.operands if o.name in {"not", "since"}]
    assert deps  # eager has deps conditions under NOT and since
    text = str(condition.tree())
    assert text.count("'resolves_virtual_deps': 'True'") == 3
    assert condition.resolve_through_virtual(False) == AC.eager()
    stored: object = deserialize(serialize(condition))
    assert stored == condition

    single = AC.any_deps_match(AC.missing()).resolve_through_virtual()
    assert single.resolves_virtual_deps is True
    assert single.describe() == "any_deps_match(missing, resolves_virtual_deps=True)"
    # as in Dagster, the operand of a deps condition is left alone
    nested = AC.any_deps_match(AC.all_deps_match(AC.missing())).resolve_through_virtual()
    assert nested.operands[0].resolves_virtual_deps is False
    # leaves under AND are left alone, deps conditions under it are marked
    both = (AC.missing() & AC.all_deps_match(AC.missing())).resolve_through_virtual()
    assert [o.resolves_virtual_deps for o in both.operands] == [False, True]


def test_resolve_through_virtual_on_a_condition_without_deps_is_refused() -> None:
    with pytest.raises(DefinitionError) as caught:
        AC.missing().resolve_through_virtual()
    assert str(caught.value) == (
        "missing.resolve_through_virtual(): only any_deps_match, all_deps_match and the AND, "
        "OR, NOT and since conditions around them have dependencies to resolve; call it on "
        "one of those."
    )
    with pytest.raises(DefinitionError, match=r"resolve_through_virtual\('yes'\): give True"):
        AC.any_deps_missing().resolve_through_virtual("yes")  # type: ignore[arg-type]


def test_a_step_reading_a_view_the_run_skips_waits_for_what_the_view_reads() -> None:
    job = DEFS.get_implicit_global_asset_job_def()
    selected = frozenset({AssetKey("raw_orders"), AssetKey("orders_summary")})
    plan = build_plan(job, asset_selection=selected)
    assert plan.step("orders_summary").upstream == ("raw_orders",)
    # without the view mark, nothing in the run connects the two
    plain = Definitions(
        assets=[
            raw_orders,
            stg_orders.map_asset_specs(lambda s: s.replace_attributes(is_virtual=False)),
            int_orders,
            orders_summary,
        ]
    )
    plan = build_plan(plain.get_implicit_global_asset_job_def(), asset_selection=selected)
    assert plan.step("orders_summary").upstream == ()


def test_a_multi_asset_with_a_view_between_its_own_outputs_does_not_wait_for_itself() -> None:
    @multi_asset(
        specs=[
            AssetSpec("table"),
            AssetSpec("view", deps=["table"], is_virtual=True),
            AssetSpec("model", deps=["view"]),
        ],
        can_subset=True,
    )
    def project() -> None:
        return None

    defs = Definitions(assets=[project])
    selected = frozenset({AssetKey("table"), AssetKey("model")})
    plan = build_plan(defs.get_implicit_global_asset_job_def(), asset_selection=selected)
    assert [s.key for s in plan.steps] == ["project"]
    assert plan.step("project").upstream == ()


def test_the_snapshot_marks_observable_and_virtual_assets() -> None:
    @observable_source_asset
    def shop_export() -> DataVersion:
        return DataVersion("1")

    @asset(deps=[shop_export], is_virtual=True)
    def export_view() -> None:
        return None

    data = definitions_snapshot(Definitions(assets=[shop_export, export_view, raw_orders]))
    flags = {
        a["user_string"]: (a["is_observable"], a["is_materializable"], a["is_virtual"])
        for a in data["assets"]
    }
    assert flags == {
        "shop_export": (True, False, False),
        "export_view": (False, True, True),
        "raw_orders": (False, True, False),
    }
