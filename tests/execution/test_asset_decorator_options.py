"""Dagster's further decorator options: compute_kind, internal_asset_deps, partitioned checks
and @multi_asset_check, each run end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from knoll import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    AssetKey,
    AssetOut,
    DailyPartitionsDefinition,
    DefinitionError,
    Definitions,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    asset,
    asset_check,
    materialize_to_memory,
    multi_asset,
    multi_asset_check,
)
from knoll.defs.compute_kind import COMPUTE_KIND_TAG

# ---- compute_kind ---------------------------------------------------------------------------


def test_compute_kind_is_recorded_as_a_kind_and_an_op_tag() -> None:
    @asset(compute_kind="pandas")
    def cleaned_orders() -> list[int]:
        return [1, 2]

    assert cleaned_orders.specs[0].kinds == frozenset({"pandas"})
    assert cleaned_orders.op is not None
    assert cleaned_orders.op.tags[COMPUTE_KIND_TAG] == "pandas"
    assert materialize_to_memory([cleaned_orders]).asset_value("cleaned_orders") == [1, 2]


def test_compute_kind_together_with_kinds_is_refused_as_in_dagster() -> None:
    with pytest.raises(DefinitionError) as info:

        @asset(compute_kind="pandas", kinds=["snowflake"])
        def orders() -> int:
            return 1

    message = str(info.value)
    assert "asset 'orders' sets both compute_kind='pandas' and kinds=['snowflake']" in message
    assert "keep kinds=[...] alone" in message


def test_multi_asset_compute_kind_applies_to_every_output() -> None:
    @multi_asset(outs={"users": AssetOut(), "teams": AssetOut()}, compute_kind="dbt")
    def directory() -> tuple[int, int]:
        return 3, 1

    assert {s.key.to_user_string(): s.kinds for s in directory.specs} == {
        "users": frozenset({"dbt"}),
        "teams": frozenset({"dbt"}),
    }


# ---- internal_asset_deps ----------------------------------------------------------------


@asset
def raw_users() -> list[str]:
    return ["ada", "bob"]


@asset
def raw_teams() -> list[str]:
    return ["core"]


@multi_asset(
    outs={"users": AssetOut(), "teams": AssetOut(), "memberships": AssetOut()},
    internal_asset_deps={
        "users": {AssetKey("raw_users")},
        "teams": {"raw_teams"},
        "memberships": {AssetKey("users"), AssetKey("teams")},
    },
)
def staged(raw_users: list[str], raw_teams: list[str]) -> tuple[list[str], list[str], int]:
    return raw_users, raw_teams, len(raw_users) * len(raw_teams)


def test_internal_asset_deps_shape_the_asset_graph() -> None:
    graph = Definitions(assets=[raw_users, raw_teams, staged]).get_asset_graph()
    assert graph.parents(AssetKey("users")) == [AssetKey("raw_users")]
    assert graph.parents(AssetKey("teams")) == [AssetKey("raw_teams")]
    assert set(graph.parents(AssetKey("memberships"))) == {AssetKey("users"), AssetKey("teams")}
    # the multi-asset still runs as one step
    result = materialize_to_memory([raw_users, raw_teams, staged])
    assert result.success
    assert result.asset_value("memberships") == 2


def test_internal_asset_deps_errors_name_the_output_and_the_fix() -> None:
    with pytest.raises(DefinitionError) as info:

        @multi_asset(outs={"a": AssetOut()}, internal_asset_deps={"b": {AssetKey("x")}})
        def one() -> int:
            return 1

    assert "internal_asset_deps of multi-asset 'one' names output 'b'" in str(info.value)
    with pytest.raises(DefinitionError) as info:

        @multi_asset(outs={"a": AssetOut()}, internal_asset_deps={"a": {"elsewhere"}})
        def two() -> int:
            return 1

    assert "lists 'elsewhere', which is neither an input, a dep nor another output" in str(
        info.value
    )
    assert "Add it to ins= or deps=" in str(info.value)


# ---- partitioned checks --------------------------------------------------------------------

days = DailyPartitionsDefinition(start_date="2024-05-01")


@asset(partitions_def=days)
def daily_signups() -> int:
    return 4


@asset_check(asset=daily_signups, partitions_def=days)
def signups_recorded(
    context: AssetCheckExecutionContext, daily_signups: int | dict[str, int]
) -> AssetCheckResult:
    # one partition gives its value; a range gives a dict of them, keyed by partition
    counts = daily_signups if isinstance(daily_signups, dict) else {"": daily_signups}
    return AssetCheckResult(
        passed=min(counts.values()) > 0, metadata={"days": len(context.partition_keys)}
    )


def test_a_partitioned_check_is_recorded_for_its_partition() -> None:
    result = materialize_to_memory([daily_signups, signups_recorded], partition_key="2024-05-02")
    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.partition, evaluation.passed) == (
        "signups_recorded",
        "2024-05-02",
        True,
    )


def test_a_partitioned_check_over_a_range_is_recorded_per_partition() -> None:
    result = materialize_to_memory(
        [daily_signups, signups_recorded],
        partition_key_range=PartitionKeyRange("2024-05-01", "2024-05-03"),
    )
    partitions = [e.partition for e in result.get_asset_check_evaluations()]
    assert partitions == ["2024-05-01", "2024-05-02", "2024-05-03"]


def test_a_check_partitioned_unlike_its_asset_is_refused() -> None:
    regions = StaticPartitionsDefinition(["eu", "us"])

    @asset_check(asset=daily_signups, partitions_def=regions)
    def by_region(daily_signups: int) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(DefinitionError) as info:
        Definitions(assets=[daily_signups], asset_checks=[by_region])
    assert "asset check 'daily_signups:by_region' is partitioned by" in str(info.value)
    assert "Give the check the asset's partitions_def, or none." in str(info.value)


# ---- @multi_asset_check ------------------------------------------------------------------


@asset
def invoices() -> list[int]:
    return [120, 80, -5]


@asset
def payments() -> list[int]:
    return [120, 80]


@multi_asset_check(
    specs=[
        AssetCheckSpec("no_negative_amounts", asset="invoices"),
        AssetCheckSpec("has_rows", asset="payments"),
        AssetCheckSpec("all_paid", asset="invoices", additional_deps=["payments"]),
    ],
    ins={"invoices": AssetIn("invoices"), "payments": "payments"},
)
def billing_checks(invoices: list[int], payments: list[int]) -> Iterator[AssetCheckResult]:
    yield AssetCheckResult(
        check_name="no_negative_amounts",
        asset_key="invoices",
        passed=min(invoices) >= 0,
        severity=AssetCheckSeverity.WARN,
    )
    yield AssetCheckResult(check_name="has_rows", asset_key="payments", passed=bool(payments))
    yield AssetCheckResult(
        check_name="all_paid", asset_key="invoices", passed=sum(payments) >= sum(invoices)
    )


def test_a_multi_asset_check_reports_several_checks_in_one_step() -> None:
    result = materialize_to_memory([invoices, payments, billing_checks])
    assert result.success
    found = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    assert {k: e.passed for k, e in found.items()} == {
        ("invoices", "no_negative_amounts"): False,
        ("payments", "has_rows"): True,
        ("invoices", "all_paid"): True,
    }
    assert found[("invoices", "no_negative_amounts")].severity is AssetCheckSeverity.WARN
    assert [e.step_key for e in result.get_step_success_events()].count("billing_checks") == 1
    graph = Definitions(
        assets=[invoices, payments], asset_checks=[billing_checks]
    ).get_asset_graph()
    assert graph.check(AssetCheckKey(AssetKey("payments"), "has_rows")) is billing_checks


def test_a_multi_asset_check_that_leaves_a_check_out_fails_the_step() -> None:
    @multi_asset_check(
        specs=[AssetCheckSpec("a", asset="invoices"), AssetCheckSpec("b", asset="invoices")],
    )
    def half(context: AssetCheckExecutionContext) -> AssetCheckResult:
        return AssetCheckResult(check_name="a", passed=True)

    result = materialize_to_memory([invoices, half], raise_on_error=False)
    assert not result.success
    error = result.step_error("half")
    assert error is not None
    assert "did not return a result for check(s) invoices:b" in str(error)


def test_multi_asset_check_declaration_errors() -> None:
    with pytest.raises(DefinitionError, match="needs specs=\\[AssetCheckSpec"):

        @multi_asset_check(specs=[])
        def nothing() -> None: ...

    with pytest.raises(DefinitionError, match="has parameter 'invoices', which no entry of ins="):

        @multi_asset_check(specs=[AssetCheckSpec("a", asset="invoices")])
        def unmapped(invoices: list[int]) -> AssetCheckResult:
            return AssetCheckResult(passed=True)

    with pytest.raises(DefinitionError, match="lists check 'invoices:a' twice"):

        @multi_asset_check(
            specs=[AssetCheckSpec("a", asset="invoices"), AssetCheckSpec("a", asset="invoices")]
        )
        def twice() -> AssetCheckResult:
            return AssetCheckResult(passed=True)
