"""Staleness looks through virtual assets (views) to the assets behind them, on every backend.

The project is dbt-like: a table ``raw_orders``, a view ``stg_orders`` over it, and a model
``orders_summary`` that reads the view.
"""

from __future__ import annotations

from knoll import (
    AssetsDefinition,
    AssetSpec,
    DataVersion,
    Definitions,
    MaterializeResult,
    asset,
    materialize,
    observable_source_asset,
)
from knoll.instance import Instance


def table_with(version: str | None = None) -> AssetsDefinition:
    @asset(key="raw_orders")
    def raw_orders() -> MaterializeResult:
        return MaterializeResult(data_version=version)

    return raw_orders


def view_with(code_version: str | None = None) -> AssetsDefinition:
    @asset(key="stg_orders", deps=["raw_orders"], is_virtual=True, code_version=code_version)
    def stg_orders() -> None:
        return None  # CREATE VIEW stg_orders AS SELECT ... FROM raw_orders

    return stg_orders


@asset(deps=["stg_orders"])
def orders_summary() -> None:
    return None


def stale(instance: Instance, *assets: AssetsDefinition | AssetSpec) -> dict[str, list[str]]:
    defs = Definitions(assets=list(assets))
    return {k.to_user_string(): list(v) for k, v in instance.get_stale_assets(defs).items()}


def test_a_view_is_never_materialized_only_until_what_it_reads_holds_data(
    instance: Instance,
) -> None:
    project = (table_with(), view_with(), orders_summary)
    assert stale(instance, *project) == {
        "raw_orders": ["never materialized"],
        "stg_orders": ["never materialized"],
        "orders_summary": ["never materialized"],
    }
    # the view itself is never run: the table and the model are
    materialize(list(project), selection=["raw_orders", "orders_summary"], instance=instance)
    assert stale(instance, *project) == {}


def test_a_new_table_materialization_makes_the_model_behind_the_view_stale(
    instance: Instance,
) -> None:
    project = (table_with(), view_with(), orders_summary)
    materialize(list(project), selection=["raw_orders", "orders_summary"], instance=instance)
    later = materialize(list(project), selection=["raw_orders"], instance=instance)
    # the view computes from the table whenever it is read: it is not stale, the model is
    assert stale(instance, *project) == {
        "orders_summary": [
            "upstream 'raw_orders' (read through view 'stg_orders') was materialized after it "
            f"(run {later.run_id[:8]})"
        ]
    }
    materialize(list(project), selection=["orders_summary"], instance=instance)
    assert stale(instance, *project) == {}


def test_a_materialized_view_is_stale_only_when_its_code_version_changed(
    instance: Instance,
) -> None:
    materialize([table_with(), view_with("v1"), orders_summary], instance=instance)
    materialize([table_with(), view_with("v1")], selection=["raw_orders"], instance=instance)
    reasons = stale(instance, table_with(), view_with("v2"), orders_summary)
    assert reasons["stg_orders"] == ["code version changed from 'v1' to 'v2'"]
    assert list(reasons) == ["stg_orders", "orders_summary"]


def test_the_table_data_version_decides_through_the_view(instance: Instance) -> None:
    project = [table_with("2024-06-01"), view_with(), orders_summary]
    materialize(project, instance=instance)
    materialize([table_with("2024-06-01")], instance=instance)  # same data again
    assert stale(instance, *project) == {}
    materialize([table_with("2024-06-02")], instance=instance)
    assert stale(instance, *project) == {
        "orders_summary": [
            "upstream 'raw_orders' (read through view 'stg_orders') has a new data version "
            "('2024-06-02', was '2024-06-01')"
        ]
    }


def test_a_model_that_reads_the_table_and_the_view_gets_one_reason(instance: Instance) -> None:
    @asset(deps=["raw_orders", "stg_orders"])
    def both_ways() -> None:
        return None

    project = [table_with(), view_with(), both_ways]
    materialize(project, instance=instance)
    later = materialize(project, selection=["raw_orders"], instance=instance)
    assert stale(instance, *project) == {
        "both_ways": [f"upstream 'raw_orders' was materialized after it (run {later.run_id[:8]})"]
    }


def test_a_view_over_an_external_table_is_not_missing(instance: Instance) -> None:
    source = AssetSpec("raw_orders")
    project = (source, view_with(), orders_summary)
    assert stale(instance, *project) == {"orders_summary": ["never materialized"]}


def test_a_new_observed_version_behind_a_view_makes_the_model_stale(instance: Instance) -> None:
    export = {"version": "1"}

    @observable_source_asset(key="raw_orders")
    def raw_orders() -> DataVersion:
        return DataVersion(export["version"])

    project = [raw_orders, view_with(), orders_summary]
    # a source is assumed to hold data, observed or not: the view is not missing
    assert stale(instance, *project) == {"orders_summary": ["never materialized"]}
    materialize([raw_orders], instance=instance)
    materialize(project, selection=["orders_summary"], instance=instance)
    assert stale(instance, *project) == {}
    export["version"] = "2"
    materialize([raw_orders], instance=instance)
    assert stale(instance, *project) == {
        "orders_summary": [
            "upstream 'raw_orders' (read through view 'stg_orders') has a new data version "
            "('2', was '1')"
        ]
    }
