"""``AssetGraph``: edges, topological order, cycles, missing and duplicate keys, and size."""

from __future__ import annotations

import re
from typing import Any

import pytest

from knoll import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetGraph,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    CycleError,
    DefinitionError,
    DuplicateKeyError,
    asset,
    asset_check,
)


def K(text: str) -> AssetKey:
    return AssetKey.from_user_string(text)


def spec(key: str, *deps: str, **kwargs: Any) -> AssetSpec:
    return AssetSpec(key, deps=list(deps), **kwargs)


def computed(key: str, *deps: str) -> AssetsDefinition:
    """An executable asset named ``key`` that depends on ``deps``."""

    def compute() -> None:
        pass

    return asset(key=key, deps=list(deps))(compute)


def test_edges_point_both_ways() -> None:
    graph = AssetGraph([spec("a"), computed("b", "a"), computed("c", "a", "b")])
    assert graph.keys == frozenset({K("a"), K("b"), K("c")})
    assert graph.parents(K("c")) == [K("a"), K("b")]
    assert graph.children(K("a")) == [K("b"), K("c")]
    assert graph.parents(K("a")) == []
    assert graph.has(K("b"))
    assert not graph.has(K("z"))
    assert graph.node(K("b")).is_executable
    assert not graph.node(K("a")).is_executable
    assert graph.executable_keys == frozenset({K("b"), K("c")})


def test_topological_order_puts_parents_first_and_is_stable() -> None:
    assets = [computed("d", "b", "c"), computed("c", "a"), computed("b", "a"), computed("a")]
    order = AssetGraph(assets).toposorted_keys
    assert order[0] == K("a")
    assert order[-1] == K("d")
    assert AssetGraph(list(reversed(assets))).toposorted_keys[0] == K("a")
    position = {key: i for i, key in enumerate(order)}
    for key in order:
        for parent in AssetGraph(assets).parents(key):
            assert position[parent] < position[key]


def test_nodes_know_their_group_and_spec() -> None:
    graph = AssetGraph([spec("a", group_name="raw"), computed("b", "a")])
    assert graph.node(K("a")).group_name == "raw"
    assert graph.node(K("b")).group_name == "default"
    assert graph.groups() == {"raw": frozenset({K("a")}), "default": frozenset({K("b")})}
    assert graph.node(K("a")).spec.key == K("a")
    assert graph.assets_def_for(K("b")).key == K("b")


def test_upstream_downstream_roots_and_sinks() -> None:
    graph = AssetGraph(
        [computed("a"), computed("b", "a"), computed("c", "b"), computed("d", "c"), computed("x")]
    )
    assert graph.upstream([K("d")]) == {K("a"), K("b"), K("c"), K("d")}
    assert graph.upstream([K("d")], depth=1) == {K("c"), K("d")}
    assert graph.downstream([K("b")]) == {K("b"), K("c"), K("d")}
    assert graph.downstream([K("a")], depth=0) == {K("a")}
    assert graph.roots([K("b"), K("c"), K("x")]) == {K("b"), K("x")}
    assert graph.sinks([K("a"), K("b"), K("x")]) == {K("b"), K("x")}


def test_looking_up_a_missing_asset_suggests_a_key() -> None:
    graph = AssetGraph([computed("orders")])
    with pytest.raises(
        DefinitionError, match=r"no asset 'order' in these definitions\. Did you mean 'orders'\?"
    ):
        graph.node(K("order"))


# -- cycles ----------------------------------------------------------------------------------


def test_a_cycle_prints_its_path_from_the_smallest_key() -> None:
    with pytest.raises(
        CycleError,
        match=r"assets depend on each other in a cycle: p -> r -> q -> p\. Remove one of these "
        r"dependencies \(an input or a deps= entry\)\.",
    ):
        AssetGraph([computed("p", "q"), computed("q", "r"), computed("r", "p")])


def test_a_cycle_behind_other_assets_prints_only_the_cycle() -> None:
    # root -> b -> c -> d -> b, and e hangs below the cycle
    assets = [
        computed("root"),
        computed("b", "root", "d"),
        computed("c", "b"),
        computed("d", "c"),
        computed("e", "d"),
    ]
    with pytest.raises(CycleError, match=r"in a cycle: b -> c -> d -> b\. Remove"):
        AssetGraph(assets)


def test_an_asset_that_depends_on_itself() -> None:
    with pytest.raises(CycleError, match=r"in a cycle: loop -> loop\."):
        AssetGraph([computed("loop", "loop")])


def test_a_cycle_through_prefixed_keys_shows_paths() -> None:
    with pytest.raises(CycleError, match=r"in a cycle: raw/a -> sales/b -> raw/a\."):
        AssetGraph([computed("raw/a", "sales/b"), computed("sales/b", "raw/a")])


# -- missing and duplicate keys --------------------------------------------------------------


def test_a_dependency_defined_nowhere_is_an_external_asset_with_a_near_miss() -> None:
    graph = AssetGraph([computed("customers"), computed("mailing_list", "custmers")])
    missing = AssetKey("custmers")
    assert graph.implicit_external_keys == {missing}
    assert not graph.node(missing).is_executable
    assert graph.parents(AssetKey("mailing_list")) == [missing]
    assert graph.near_misses() == {missing: AssetKey("customers")}


def test_an_external_asset_may_depend_on_an_undeclared_one() -> None:
    graph = AssetGraph([spec("b", "a")])
    assert graph.implicit_external_keys == {AssetKey("a")}
    assert graph.executable_keys == frozenset()
    assert graph.near_misses() == {}


def test_a_key_defined_twice_names_both_definitions() -> None:
    @asset(name="orders")
    def first() -> None:
        pass

    @asset(key="orders")
    def second() -> None:
        pass

    assert first.source != second.source
    assert re.search(r"test_asset_graph\.py:\d+$", first.source)
    with pytest.raises(
        DuplicateKeyError,
        match=rf"asset key 'orders' is defined twice: by asset 'orders' at "
        rf"{re.escape(first.source)} and by asset 'orders' at {re.escape(second.source)}\. "
        r"Rename one of them "
        r"\(name=, key= or key_prefix=\)\.",
    ):
        AssetGraph([first, second])
    with pytest.raises(
        DuplicateKeyError,
        match=r"by asset 'orders' at .* and by external asset 'orders' \(an AssetSpec\)",
    ):
        AssetGraph([first, spec("orders")])


def test_the_same_object_twice_is_one_asset() -> None:
    orders = computed("orders")
    graph = AssetGraph([orders, orders, computed("b", "orders")])
    assert graph.assets_defs.count(orders) == 1
    assert len(graph.keys) == 2


def test_something_that_is_not_an_asset() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"Definitions\(assets=\.\.\.\) got a str \('orders'\): give assets made with "
        r"@asset or @multi_asset, or AssetSpec for external assets\.",
    ):
        AssetGraph(["orders"])  # type: ignore[list-item]


# -- checks ----------------------------------------------------------------------------------


def test_checks_are_indexed_by_key_and_asset() -> None:
    def orders() -> None:
        pass

    with_spec = asset(check_specs=[AssetCheckSpec("reported", asset="orders")])(orders)

    @asset_check(asset="orders")
    def separate() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    graph = AssetGraph([with_spec], [separate])
    assert sorted(k.to_user_string() for k in graph.check_keys) == [
        "orders:reported",
        "orders:separate",
    ]
    assert [k.name for k in graph.checks_for(K("orders"))] == ["reported", "separate"]
    assert graph.check(separate.key) is separate
    assert graph.checks_for(K("elsewhere")) == ()
    with pytest.raises(DefinitionError, match=r"no asset check 'orders:nope'"):
        graph.check(type(separate.key)(K("orders"), "nope"))


def test_the_same_check_object_twice_is_one_check() -> None:
    @asset_check(asset="orders")
    def once() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    graph = AssetGraph([computed("orders")], [once, once])
    assert graph.check_defs == (once,)


# -- size ------------------------------------------------------------------------------------


def test_ten_thousand_assets() -> None:
    """A 10,000-asset graph builds (in time linear in assets plus edges) and answers queries.

    Every asset depends on the one before it and on the one 100 before it, so there are
    about 20,000 edges and a 10,000-long chain through them.
    """
    count = 10_000
    specs = [spec("n0")]
    for i in range(1, count):
        deps = [f"n{i - 1}"] + ([f"n{i - 100}"] if i >= 100 else [])
        specs.append(spec(f"n{i}", *deps))
    graph = AssetGraph(specs)
    order = graph.toposorted_keys
    assert len(order) == count
    assert order[0] == K("n0")
    assert order[-1] == K(f"n{count - 1}")
    assert len(graph.upstream([K(f"n{count - 1}")])) == count
    assert graph.downstream([K("n9990")]) == {K(f"n{i}") for i in range(9990, count)}
    assert graph.roots(graph.keys) == {K("n0")}
    assert graph.sinks(graph.keys) == {K(f"n{count - 1}")}


def test_a_cycle_in_a_long_chain_is_found() -> None:
    count = 10_000
    specs = [spec(f"n{i}", f"n{i - 1}") for i in range(1, count)]
    specs.append(spec("n0", f"n{count - 1}"))
    with pytest.raises(CycleError, match=r"in a cycle: n0 -> n1 -> n2 -> .* -> n9999 -> n0\."):
        AssetGraph(specs)
