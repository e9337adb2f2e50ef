"""``AssetSelection``: the builders, the algebra, every string form, and selection errors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from knoll import (
    AssetGraph,
    AssetKey,
    AssetSelection,
    AssetSpec,
    Definitions,
    SelectionError,
    asset,
    define_asset_job,
)

# The graph every test selects from (external "src" feeds a chain and a branch):
#
#   src (external) -> a -> b -> raw/c -> d
#                     a -> e
#   f (alone, group "other")


@asset(
    deps=["src"],
    group_name="core",
    tags={"team": "x"},
    kinds=["duckdb"],
    owners=["team:data"],
)
def a() -> None:
    pass


@asset(deps=[a], group_name="core")
def b() -> None:
    pass


@asset(deps=[b], key_prefix="raw")
def c() -> None:
    pass


@asset(deps=[c])
def d() -> None:
    pass


@asset(deps=[a], tags={"team": "y", "flag": ""})
def e() -> None:
    pass


@asset(group_name="other", kinds=["python"], owners=["ana@example.com"])
def f() -> None:
    pass


SRC = AssetSpec("src", group_name="core", tags={"team": "x"})
GRAPH = AssetGraph([SRC, a, b, c, d, e, f])


def resolve(selection: Any) -> list[str]:
    return sorted(
        k.to_user_string() for k in AssetSelection.from_coercible(selection).resolve(GRAPH)
    )


# -- the string form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", ["a"]),
        ("raw/c", ["raw/c"]),
        ("key:raw/c", ["raw/c"]),
        ("+b", ["a", "b"]),
        ("++raw/c", ["a", "b", "raw/c"]),
        ("*d", ["a", "b", "d", "raw/c"]),
        ("b+", ["b", "raw/c"]),
        ("b++", ["b", "d", "raw/c"]),
        ("b*", ["b", "d", "raw/c"]),
        ("+b+", ["a", "b", "raw/c"]),
        ("*raw/c*", ["a", "b", "d", "raw/c"]),
        ("group:core", ["a", "b"]),
        ("group:default", ["d", "e", "raw/c"]),
        ('group:"other"', ["f"]),
        ("group:other+", ["f"]),
        ("tag:team=x", ["a"]),
        ("tag:team", ["a", "e"]),
        ("tag:flag=", ["e"]),
        ("kind:duckdb", ["a"]),
        ("owner:team:data", ["a"]),
        ("owner:ana@example.com", ["f"]),
        ("*", ["a", "b", "d", "e", "f", "raw/c"]),
        ("a, f", ["a", "f"]),
        ("group:other,e,raw/c", ["e", "f", "raw/c"]),
        ("a,", ["a"]),
    ],
)
def test_every_string_form(text: str, expected: list[str]) -> None:
    assert resolve(text) == expected


def test_an_external_asset_is_selected_only_by_name() -> None:
    assert resolve("src") == ["src"]
    assert resolve("src+") == ["a", "src"]
    # walks, groups, tags and "*" leave external assets out: a job cannot materialize them
    assert resolve("+a") == ["a"]
    assert "src" not in resolve("group:core")
    assert "src" not in resolve("tag:team=x")


def test_a_string_and_a_list_of_strings_mean_the_same() -> None:
    assert resolve(["a", "raw/c"]) == resolve("a, raw/c") == ["a", "raw/c"]


def test_coercible_values() -> None:
    assert resolve(AssetKey("f")) == ["f"]
    assert resolve(b) == ["b"]
    assert resolve([a, AssetKey(["raw", "c"]), "f"]) == ["a", "f", "raw/c"]
    assert resolve([]) == []
    assert resolve(AssetSelection.keys("d")) == ["d"]


# -- builders and algebra --------------------------------------------------------------------


def test_builders() -> None:
    S = AssetSelection
    assert resolve(S.keys("a", "raw/c", ["d"])) == ["a", "d", "raw/c"]
    assert resolve(S.assets(a, c, "f")) == ["a", "f", "raw/c"]
    assert resolve(S.groups("core", "other")) == ["a", "b", "f"]
    assert resolve(S.key_prefixes("raw")) == ["raw/c"]
    assert resolve(S.key_prefixes(["raw", "c"])) == ["raw/c"]
    assert resolve(S.tag("team", "y")) == ["e"]
    assert resolve(S.tag("team")) == ["a", "e"]
    assert resolve(S.kind("python")) == ["f"]
    assert resolve(S.owner("team:data")) == ["a"]


def test_include_sources() -> None:
    S = AssetSelection
    assert resolve(S.all(include_sources=True)) == ["a", "b", "d", "e", "f", "raw/c", "src"]
    assert resolve(S.groups("core", include_sources=True)) == ["a", "b", "src"]
    assert resolve(S.tag("team", "x", include_sources=True)) == ["a", "src"]
    assert resolve(S.all(include_sources=True).roots()) == ["f", "src"]


def test_walks_with_depth_and_without_self() -> None:
    S = AssetSelection
    assert resolve(S.keys("d").upstream(depth=2)) == ["b", "d", "raw/c"]
    assert resolve(S.keys("d").upstream(depth=2, include_self=False)) == ["b", "raw/c"]
    assert resolve(S.keys("a").downstream(include_self=False)) == ["b", "d", "e", "raw/c"]
    assert resolve(S.keys("a").downstream(depth=1)) == ["a", "b", "e"]
    assert resolve(S.keys("f").downstream()) == ["f"]


def test_union_intersection_and_difference() -> None:
    S = AssetSelection
    assert resolve(S.keys("a") | S.keys("f")) == ["a", "f"]
    assert resolve(S.groups("core") & S.keys("b", "d")) == ["b"]
    assert resolve(S.keys("a").downstream() - S.keys("raw/c").downstream()) == ["a", "b", "e"]
    assert resolve(S.all() - S.groups("default")) == ["a", "b", "f"]


def test_roots_and_sinks_within_the_selection() -> None:
    S = AssetSelection
    assert resolve(S.groups("default").roots()) == ["e", "raw/c"]
    assert resolve(S.groups("core").sinks()) == ["b"]
    assert resolve(S.all().sinks()) == ["d", "e", "f"]


def test_resolve_checks_takes_the_checks_of_selected_assets() -> None:
    from knoll import AssetCheckResult, asset_check

    @asset_check(asset=a)
    def a_ok() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    graph = AssetGraph([SRC, a, b, c, d, e, f], [a_ok])
    checks = AssetSelection.from_string("+b").resolve_checks(graph)
    assert [k.to_user_string() for k in checks] == ["a:a_ok"]
    assert AssetSelection.keys("f").resolve_checks(graph) == frozenset()


def test_describe_reads_like_the_selection() -> None:
    S = AssetSelection
    assert S.all().describe() == "*"
    assert S.from_string("*a").describe() == "*(a)"
    assert S.from_string("a++").describe() == "(a)++"
    assert (S.keys("a") | S.groups("g")).describe() == "(a | group:g)"
    assert (S.keys("a") - S.tag("t", "v")).describe() == "(a - tag:t=v)"
    assert repr(S.kind("duckdb")) == "AssetSelection(kind:duckdb)"
    assert S.keys().describe() == "(nothing)"


# -- errors ----------------------------------------------------------------------------------


def test_a_misspelled_key_gets_a_suggestion() -> None:
    with pytest.raises(
        SelectionError,
        match=r"asset selection names 'bb', which is not an asset in these definitions\. Did "
        r"you mean 'b'\?",
    ):
        resolve("bb")
    with pytest.raises(SelectionError, match=r"names 'rw/c', .* Did you mean 'raw/c'\?"):
        resolve("+rw/c")


def test_a_key_without_its_prefix_suggests_the_full_key() -> None:
    with pytest.raises(SelectionError, match=r"names 'c', .* Did you mean 'raw/c'\?"):
        resolve("*c")


def test_an_unknown_group_lists_the_groups() -> None:
    with pytest.raises(
        SelectionError,
        match=r"asset selection names group 'cor', which has no assets\. Did you mean 'core'\? "
        r"Groups: core, default, other\.",
    ):
        resolve("group:cor")


def test_an_unknown_attribute() -> None:
    with pytest.raises(
        SelectionError,
        match=r"unknown attribute 'grup' in asset selection 'grup:core'\. Did you mean "
        r"'group'\? Use one of: group, tag, kind, owner, key\.",
    ):
        resolve("grup:core")


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_selection(text: str) -> None:
    with pytest.raises(
        SelectionError, match=r"asset selection '\s*' is empty: name an asset \('orders'\)"
    ):
        AssetSelection.from_string(text)


def test_a_selection_of_only_commas() -> None:
    with pytest.raises(
        SelectionError, match=r"asset selection ' , ' names nothing between its commas"
    ):
        AssetSelection.from_string(" , ")


@pytest.mark.parametrize("text", ["a+b", "**a", "a**", "+*a"])
def test_clauses_that_cannot_be_read(text: str) -> None:
    with pytest.raises(
        SelectionError,
        match=rf"cannot read {re.escape(repr(text))} in asset selection {re.escape(repr(text))}: "
        r"write a key \('orders', "
        r"'raw/orders'\), optionally with '\+' or '\*'",
    ):
        AssetSelection.from_string(text)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("raw//c", ""),
        ("orders, raw/..", ".."),
        ("key:raw/./orders", "."),
    ],
)
def test_invalid_keys_in_a_selection(text: str, part: str) -> None:
    with pytest.raises(
        SelectionError, match=rf"in asset selection {text!r}: asset key part {part!r}"
    ):
        AssetSelection.from_string(text)


@pytest.mark.parametrize(
    ("text", "attribute", "example"),
    [
        ("group:", "group", "sales"),
        ("tag: ", "tag", "team=core"),
        ('kind:""', "kind", "duckdb"),
        ("a, owner:", "owner", "team:data"),
        ("key:+", "key", "raw/orders"),
    ],
)
def test_an_attribute_without_a_value(text: str, attribute: str, example: str) -> None:
    with pytest.raises(
        SelectionError,
        match=rf"in asset selection {re.escape(repr(text))} names no {attribute}: write "
        rf"{attribute}:NAME, for example {attribute}:{example}\.",
    ):
        AssetSelection.from_string(text)


def test_a_job_over_upstream_of_an_asset_leaves_external_sources_out() -> None:
    defs = Definitions(assets=[SRC, a, b], jobs=[define_asset_job("up_to_b", "*b")])
    selected = defs.get_job_def("up_to_b").asset_selection
    assert selected == frozenset({AssetKey("a"), AssetKey("b")})
