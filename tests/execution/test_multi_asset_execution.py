"""Multi-assets in runs: all outputs, subsets with ``can_subset``, optional outputs, checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from knoll import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetSpec,
    DefinitionError,
    EventType,
    ExecutionError,
    InMemoryIOManager,
    InvalidInvocationError,
    MaterializeResult,
    Output,
    asset,
    materialize,
    materialize_to_memory,
    multi_asset,
)

ran: Counter[str] = Counter()
selected: list[list[str]] = []


@pytest.fixture(autouse=True)
def reset() -> None:
    ran.clear()
    selected.clear()


@multi_asset(outs={"users": AssetOut(), "orders": AssetOut(key_prefix="shop")})
def extract() -> tuple[list[str], list[int]]:
    ran["extract"] += 1
    return ["ann", "bob"], [10, 20, 30]


@asset(deps=[AssetKey(["shop", "orders"])])
def orders_report() -> None:
    ran["orders_report"] += 1


@asset
def user_count(users: list[str]) -> int:
    return len(users)


def test_multi_asset_returning_a_tuple_materializes_every_asset() -> None:
    result = materialize_to_memory([extract, user_count])

    assert result.asset_value("users") == ["ann", "bob"]
    assert result.asset_value("shop/orders") == [10, 20, 30]
    assert result.asset_value("user_count") == 2
    keys = [e.materialization.asset_key for e in result.get_asset_materialization_events()]
    assert keys == [AssetKey("users"), AssetKey(["shop", "orders"]), AssetKey("user_count")]
    assert [m.asset_key for m in result.asset_materializations_for_node("extract")] == [
        AssetKey("users"),
        AssetKey(["shop", "orders"]),
    ]
    assert result.output_for_node("extract", "orders") == [10, 20, 30]


def test_multi_asset_is_one_step() -> None:
    result = materialize_to_memory([extract])
    starts = [e.step_key for e in result.events_of_type(EventType.STEP_START)]
    assert starts == ["extract"]
    assert ran == Counter(extract=1)


def test_multi_asset_without_subsetting_cannot_be_split() -> None:
    with pytest.raises(DefinitionError) as info:
        materialize_to_memory([extract], selection=["users"])
    assert str(info.value) == (
        "multi-asset 'extract' (shop/orders, users) cannot be split: the selection leaves out "
        "['shop/orders']. Select all of its assets, or declare it with can_subset=True and yield "
        "only context.selected_output_names."
    )


def test_wrong_number_of_returned_values() -> None:
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def short() -> Any:
        return (1,)

    with pytest.raises(InvalidInvocationError) as info:
        materialize_to_memory([short])
    assert str(info.value) == (
        "multi-asset 'short' has outputs ['a', 'b']: return a tuple of 2 values in that order "
        "(got a tuple), or yield Output(value, output_name=...)."
    )


# ---- subsets -------------------------------------------------------------------------------


@multi_asset(
    outs={"red": AssetOut(), "green": AssetOut(), "blue": AssetOut(is_required=False)},
    can_subset=True,
)
def colors(context: AssetExecutionContext) -> Iterator[Output[str]]:
    ran["colors"] += 1
    selected.append(sorted(context.selected_output_names))
    assert {k.to_user_string() for k in context.selected_asset_keys} == set(
        context.selected_output_names
    )
    for name in sorted(context.selected_output_names):
        yield Output(name.upper(), output_name=name)


@asset
def shout(green: str) -> str:
    return green + "!"


def test_subset_runs_only_the_selected_outputs() -> None:
    result = materialize_to_memory([colors, shout], selection=["green", "shout"])

    assert selected == [["green"]]
    assert result.asset_value("shout") == "GREEN!"
    keys = [e.materialization.asset_key for e in result.get_asset_materialization_events()]
    assert keys == [AssetKey("green"), AssetKey("shout")]
    with pytest.raises(InvalidInvocationError, match="asset 'red' was not computed"):
        result.asset_value("red")


def test_full_selection_runs_every_output() -> None:
    result = materialize_to_memory([colors])
    assert selected == [["blue", "green", "red"]]
    assert result.asset_value("blue") == "BLUE"


def test_unselected_outputs_are_loaded_from_their_io_manager() -> None:
    io = InMemoryIOManager()
    materialize([colors], resources={"io_manager": io})
    selected.clear()

    result = materialize([colors, shout], selection=["shout"], resources={"io_manager": io})

    assert selected == []
    assert result.asset_value("shout") == "GREEN!"


def test_subset_that_returns_every_value_is_told_to_yield() -> None:
    @multi_asset(outs={"x": AssetOut(), "y": AssetOut(), "z": AssetOut()}, can_subset=True)
    def ignores_selection() -> tuple[int, int, int]:
        return 1, 2, 3

    with pytest.raises(InvalidInvocationError) as info:
        materialize_to_memory([ignores_selection], selection=["x", "y"])
    assert str(info.value) == (
        "multi-asset 'ignores_selection' runs for a subset of its outputs (['x', 'y']) but "
        "returned a tuple: yield Output(value, output_name=name) for each name in "
        "context.selected_output_names."
    )


def test_yielding_an_unselected_output_fails() -> None:
    @multi_asset(outs={"x": AssetOut(), "y": AssetOut()}, can_subset=True)
    def yields_everything() -> Iterator[Output[int]]:
        yield Output(1, output_name="x")
        yield Output(2, output_name="y")

    with pytest.raises(InvalidInvocationError, match="returned output 'y', which is not selected"):
        materialize_to_memory([yields_everything], selection=["x"])


# ---- optional outputs ------------------------------------------------------------------------


@multi_asset(outs={"always": AssetOut(), "sometimes": AssetOut(is_required=False)})
def maybe_both() -> Iterator[Output[int]]:
    yield Output(1, output_name="always")


@asset
def needs_sometimes(sometimes: int) -> int:
    ran["needs_sometimes"] += 1
    return sometimes


@asset
def needs_always(always: int) -> int:
    return always + 1


def test_downstream_of_an_optional_output_that_was_not_produced_is_skipped() -> None:
    result = materialize_to_memory([maybe_both, needs_sometimes, needs_always])

    assert result.success
    assert ran == Counter()
    assert result.asset_value("needs_always") == 2
    [skipped] = result.get_step_skipped_events()
    assert skipped.step_key == "needs_sometimes"
    assert skipped.message == (
        "skipped asset 'needs_sometimes': input 'sometimes' needs output 'sometimes' of step "
        "'maybe_both', which is optional and was not produced"
    )
    keys = [e.materialization.asset_key for e in result.get_asset_materialization_events()]
    assert AssetKey("sometimes") not in keys


def test_missing_required_output_fails_the_step() -> None:
    @multi_asset(outs={"first": AssetOut(), "second": AssetOut()})
    def forgets() -> Iterator[Output[int]]:
        yield Output(1, output_name="first")

    with pytest.raises(ExecutionError, match="did not return required output 'second'"):
        materialize_to_memory([forgets])


# ---- specs, metadata and checks ----------------------------------------------------------


def test_specs_with_materialize_results() -> None:
    @multi_asset(specs=[AssetSpec("table_a"), AssetSpec("table_b")])
    def writes_tables() -> Iterator[MaterializeResult]:
        yield MaterializeResult(asset_key="table_a", metadata={"rows": 1})
        yield MaterializeResult(asset_key="table_b", metadata={"rows": 2})

    result = materialize_to_memory([writes_tables])

    rows = {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata["rows"].value
        for e in result.get_asset_materialization_events()
    }
    assert rows == {"table_a": 1, "table_b": 2}
    assert result.events_of_type(EventType.HANDLED_OUTPUT) == []


def test_output_metadata_needs_an_output_name_in_a_multi_asset() -> None:
    messages: list[str] = []

    @multi_asset(outs={"p": AssetOut(), "q": AssetOut()})
    def annotated(context: AssetExecutionContext) -> tuple[int, int]:
        with pytest.raises(InvalidInvocationError) as info:
            context.add_output_metadata({"n": 1})
        messages.append(str(info.value))
        with pytest.raises(InvalidInvocationError) as info:
            _ = context.asset_key
        messages.append(str(info.value))
        context.add_output_metadata({"n": 2}, output_name="q")
        return 1, 2

    result = materialize_to_memory([annotated])

    assert messages == [
        "multi-asset 'annotated' (p, q) has several outputs; name one: "
        "add_output_metadata(..., output_name=...) with one of ['p', 'q'].",
        "multi-asset 'annotated' (p, q) computes 2 assets; use context.asset_key_for_output(name) "
        "or context.selected_asset_keys.",
    ]
    [q] = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == AssetKey("q")
    ]
    assert q.metadata["n"].value == 2


def test_check_specs_of_a_multi_asset_name_their_asset() -> None:
    @multi_asset(
        outs={"left": AssetOut(), "right": AssetOut()},
        check_specs=[AssetCheckSpec("ok", asset="left"), AssetCheckSpec("ok", asset="right")],
    )
    def checked() -> Iterator[Any]:
        yield Output(1, output_name="left")
        yield Output(2, output_name="right")
        yield AssetCheckResult(asset_key="left", check_name="ok", passed=True)
        yield AssetCheckResult(asset_key="right", check_name="ok", passed=False)

    result = materialize_to_memory([checked])
    outcomes = {
        e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()
    }
    assert outcomes == {"left": True, "right": False}


def test_check_result_without_asset_key_in_a_multi_asset_fails() -> None:
    @multi_asset(
        outs={"left": AssetOut(), "right": AssetOut()},
        check_specs=[AssetCheckSpec("ok", asset="left")],
    )
    def unclear() -> Iterator[Any]:
        yield Output(1, output_name="left")
        yield Output(2, output_name="right")
        yield AssetCheckResult(passed=True)

    with pytest.raises(InvalidInvocationError, match=r"set AssetCheckResult\(asset_key=...\)"):
        materialize_to_memory([unclear])


def test_deps_on_one_output_of_a_multi_asset_order_the_steps() -> None:
    result = materialize_to_memory([orders_report, extract])
    assert result.success
    assert ran == Counter(extract=1, orders_report=1)
    starts = [e.step_key for e in result.events_of_type(EventType.STEP_START)]
    assert starts == ["extract", "orders_report"]
