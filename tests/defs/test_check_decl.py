"""Declaring asset checks: ``@asset_check``, ``AssetCheckSpec``, results and evaluations."""

from __future__ import annotations

import pytest

from knoll import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    AssetKey,
    AssetSelection,
    AssetSpec,
    DefinitionError,
    Definitions,
    DuplicateKeyError,
    MetadataValue,
    RetryPolicy,
    asset,
    asset_check,
    define_asset_job,
)


@asset
def orders() -> list[int]:
    return [1, 2]


@asset
def customers() -> list[str]:
    return ["ana"]


@asset_check(asset=orders, description="Orders exist.")
def has_rows(orders: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=bool(orders), metadata={"rows": len(orders)})


def test_a_check_is_keyed_by_its_asset_and_name() -> None:
    assert isinstance(has_rows, AssetChecksDefinition)
    assert has_rows.key == AssetCheckKey(AssetKey("orders"), "has_rows")
    assert has_rows.key.to_user_string() == "orders:has_rows"
    assert str(has_rows.key) == "orders:has_rows"
    assert has_rows.asset_key == AssetKey("orders")
    assert has_rows.check_keys == frozenset({has_rows.key})
    assert has_rows.spec.description == "Orders exist."
    assert not has_rows.spec.blocking


def test_the_one_data_parameter_receives_the_checked_asset() -> None:
    assert has_rows.asset_input == "orders"
    assert has_rows.input_keys == {"orders": AssetKey("orders")}
    assert has_rows.dep_keys == ()


def test_the_op_is_named_after_the_asset_and_check() -> None:
    assert has_rows.op.name == "orders_has_rows"
    assert has_rows.op.kind == "asset check"
    assert has_rows.op.describe() == "asset check 'orders_has_rows'"


def test_options_land_on_the_spec_and_op() -> None:
    policy = RetryPolicy(max_retries=1)

    @asset_check(
        asset="raw/orders",
        name="fresh",
        blocking=True,
        metadata={"sla": "1h"},
        required_resource_keys=["warehouse"],
        retry_policy=policy,
        additional_deps=["calendar"],
    )
    def check_freshness() -> AssetCheckResult:
        """Orders landed within the hour."""
        return AssetCheckResult(passed=True)

    assert check_freshness.key.to_user_string() == "raw/orders:fresh"
    assert check_freshness.spec.blocking
    assert check_freshness.spec.description == "Orders landed within the hour."
    assert check_freshness.asset_input is None
    assert check_freshness.dep_keys == (AssetKey("calendar"),)
    assert check_freshness.op.name == "raw__orders_fresh"
    assert check_freshness.op.required_resource_keys == frozenset({"warehouse"})
    assert check_freshness.op.retry_policy is policy


def test_additional_ins_map_further_parameters_to_assets() -> None:
    @asset_check(asset=orders, additional_ins={"people": AssetIn(key="customers")})
    def joined(orders: list[int], people: list[str]) -> AssetCheckResult:
        return AssetCheckResult(passed=len(orders) >= len(people))

    assert joined.asset_input == "orders"
    assert joined.input_keys == {"orders": AssetKey("orders"), "people": AssetKey("customers")}


def test_two_unmapped_parameters_are_an_error() -> None:
    def both(orders: list[int], customers: list[str]) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(
        DefinitionError,
        match=r"asset check 'orders:both' \(.*:\d+\) has parameters \['orders', 'customers'\]; "
        r"only one can receive the checked asset\. Map the others with "
        r"additional_ins=\{'customers': AssetIn\('\.\.\.'\)\}",
    ):
        asset_check(asset=orders)(both)


def test_invalid_check_names() -> None:
    def compute() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(DefinitionError, match=r"asset check name 'has rows' is not valid"):
        asset_check(asset=orders, name="has rows")(compute)
    with pytest.raises(DefinitionError, match=r"asset check name 'has-rows' is not valid"):
        AssetCheckSpec("has-rows", asset="orders")


def test_the_checked_asset_must_be_a_key() -> None:
    def compute() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(DefinitionError, match=r"cannot make an asset key from 3"):
        asset_check(asset=3)(compute)


def test_additional_deps_listed_twice() -> None:
    def compute() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(DefinitionError, match=r"asset check 'orders:compute' lists 'x' twice"):
        asset_check(asset=orders, additional_deps=["x", "x"])(compute)


def test_asset_check_spec_accepts_an_asset() -> None:
    check_spec = AssetCheckSpec("positive", asset=orders, blocking=True)
    assert check_spec.asset_key == AssetKey("orders")
    assert check_spec.key == AssetCheckKey(AssetKey("orders"), "positive")


def test_a_check_can_be_called_directly() -> None:
    result = has_rows(orders=[1])
    assert isinstance(result, AssetCheckResult)
    assert result.passed
    assert result.metadata == {"rows": MetadataValue.int(1)}


# -- results and evaluations -----------------------------------------------------------------


def test_a_result_needs_a_real_bool() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"AssetCheckResult\(passed=1\): passed must be True or False, got int\. Use "
        r"bool\(\.\.\.\) on the condition\.",
    ):
        AssetCheckResult(passed=1)  # type: ignore[arg-type]


def test_a_result_carries_its_details() -> None:
    result = AssetCheckResult(
        passed=False,
        asset_key="raw/orders",
        check_name="fresh",
        severity=AssetCheckSeverity.WARN,
        description="late",
        metadata={"lag_minutes": 75},
    )
    assert result.asset_key == AssetKey(["raw", "orders"])
    assert result.severity is AssetCheckSeverity.WARN
    assert result.metadata == {"lag_minutes": MetadataValue.int(75)}
    assert repr(result) == (
        "AssetCheckResult(passed=False, check_name='fresh', asset_key=AssetKey(['raw', "
        "'orders']), severity=WARN)"
    )


@pytest.mark.parametrize(
    ("passed", "blocking", "severity", "blocks"),
    [
        (False, True, AssetCheckSeverity.ERROR, True),
        (False, True, AssetCheckSeverity.WARN, False),
        (False, False, AssetCheckSeverity.ERROR, False),
        (True, True, AssetCheckSeverity.ERROR, False),
    ],
)
def test_only_a_failed_blocking_error_blocks_downstream(
    passed: bool, blocking: bool, severity: AssetCheckSeverity, blocks: bool
) -> None:
    evaluation = AssetCheckEvaluation(
        AssetKey("orders"), "c", passed=passed, blocking=blocking, severity=severity
    )
    assert evaluation.blocks_downstream is blocks
    assert evaluation.check_key == AssetCheckKey(AssetKey("orders"), "c")


# -- checks in Definitions -------------------------------------------------------------------


def test_definitions_index_checks_and_jobs_select_them_with_their_asset() -> None:
    defs = Definitions(
        assets=[orders, customers],
        asset_checks=[has_rows],
        jobs=[define_asset_job("orders_job", "orders"), define_asset_job("people", "customers")],
    )
    graph = defs.get_asset_graph()
    assert graph.checks_for(AssetKey("orders")) == [has_rows.key]
    assert defs.get_job_def("orders_job").check_selection == frozenset({has_rows.key})
    assert defs.get_job_def("people").check_selection == frozenset()
    assert AssetSelection.all().resolve_checks(graph) == frozenset({has_rows.key})


def test_a_check_of_an_asset_no_definition_provides_makes_it_external() -> None:
    @asset_check(asset="warehouse_orders")
    def loaded_today() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    defs = Definitions(assets=[orders], asset_checks=[loaded_today])
    graph = defs.get_asset_graph()
    assert AssetKey("warehouse_orders") in graph.implicit_external_keys
    assert graph.checks_for(AssetKey("warehouse_orders")) == [loaded_today.key]
    assert graph.check(loaded_today.key) is loaded_today


def test_a_check_of_a_near_miss_key_is_reported_by_the_graph() -> None:
    @asset_check(asset="order")
    def misspelled() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    graph = Definitions(assets=[orders], asset_checks=[misspelled]).get_asset_graph()
    assert graph.near_misses() == {AssetKey("order"): AssetKey("orders")}


def test_a_check_input_or_dep_that_is_not_defined() -> None:
    @asset_check(asset=orders, additional_deps=["customer"])
    def with_dep() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(
        DefinitionError,
        match=r"asset check 'orders:with_dep' depends on 'customer', which is not among the "
        r"assets\. Did you mean 'customers'\? Add it to Definitions\(assets=\.\.\.\), as an "
        r"AssetSpec\('customer'\) if knoll does not compute it\.",
    ):
        Definitions(assets=[orders, customers], asset_checks=[with_dep])


def test_a_check_of_an_external_asset() -> None:
    @asset_check(asset="raw_orders")
    def source_ok() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    defs = Definitions(assets=[AssetSpec("raw_orders")], asset_checks=[source_ok])
    assert defs.get_asset_graph().check(source_ok.key) is source_ok


def test_two_checks_with_one_key() -> None:
    def has_rows_again() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    duplicate = asset_check(asset=orders, name="has_rows")(has_rows_again)
    with pytest.raises(
        DuplicateKeyError,
        match=r"asset check 'orders:has_rows' is defined twice; rename one of them",
    ):
        Definitions(assets=[orders], asset_checks=[has_rows, duplicate])


def test_a_check_spec_and_a_check_with_one_key() -> None:
    def reported() -> list[int]:
        return [1]

    with_spec = asset(name="orders", check_specs=[AssetCheckSpec("has_rows", asset="orders")])(
        reported
    )
    with pytest.raises(DuplicateKeyError, match=r"asset check 'orders:has_rows' is defined twice"):
        Definitions(assets=[with_spec], asset_checks=[has_rows])


def test_something_that_is_not_a_check() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"Definitions\(asset_checks=\.\.\.\) got a AssetCheckSpec: give checks made with "
        r"@asset_check",
    ):
        Definitions(assets=[orders], asset_checks=[AssetCheckSpec("c", asset="orders")])  # type: ignore[list-item]
