"""TableColumnLineage: column-level lineage recorded as metadata under knoll/column_lineage."""

from __future__ import annotations

import pytest

from knoll import (
    AssetKey,
    AssetSpec,
    DefinitionError,
    MaterializeResult,
    MetadataValue,
    TableColumnDep,
    TableColumnLineage,
    asset,
    materialize,
)
from knoll._serdes import deserialize, serialize
from knoll.cli._common import metadata_text
from knoll.codeloc.snapshot import definitions_snapshot
from knoll.defs.definitions import Definitions
from knoll.defs.metadata import COLUMN_LINEAGE_METADATA_KEY, TableColumnLineageMetadataValue

LINEAGE = TableColumnLineage(
    {
        "revenue": [
            TableColumnDep("refunds", "amount"),
            TableColumnDep(["raw", "orders"], "amount"),
        ],
        "order_id": [TableColumnDep(["raw", "orders"], "id")],
    }
)


def test_deps_are_keyed_and_sorted_and_read_as_text() -> None:
    deps = LINEAGE.deps_by_column["revenue"]
    assert [d.asset_key for d in deps] == [AssetKey(["raw", "orders"]), AssetKey("refunds")]
    assert str(LINEAGE) == (
        "revenue <- raw/orders.amount, refunds.amount; order_id <- raw/orders.id"
    )
    same = TableColumnLineage(
        {
            "order_id": [TableColumnDep(["raw", "orders"], "id")],
            "revenue": [
                TableColumnDep(["raw", "orders"], "amount"),
                TableColumnDep("refunds", "amount"),
            ],
        }
    )
    assert same == LINEAGE


def test_a_materialization_records_it_and_it_round_trips() -> None:
    raw_orders, refunds = AssetSpec(["raw", "orders"]), AssetSpec("refunds")

    @asset(deps=[raw_orders, refunds])
    def net_revenue() -> MaterializeResult:
        return MaterializeResult(metadata={COLUMN_LINEAGE_METADATA_KEY: LINEAGE})

    result = materialize([raw_orders, refunds, net_revenue])
    [mat] = result.asset_materializations_for_node("net_revenue")
    value = mat.metadata["knoll/column_lineage"]
    assert isinstance(value, TableColumnLineageMetadataValue)
    assert value.value == LINEAGE
    assert MetadataValue.column_lineage(LINEAGE) == value
    assert deserialize(serialize(value), TableColumnLineageMetadataValue) == value
    assert metadata_text(value, 80) == (
        "revenue <- raw/orders.amount, refunds.amount; order_id <- raw/orders.id"
    )


def test_definition_metadata_shows_in_the_snapshot() -> None:
    spec = AssetSpec("orders_mart", metadata={"knoll/column_lineage": LINEAGE})
    snapshot = definitions_snapshot(Definitions(assets=[spec]))
    [entry] = snapshot["assets"]
    packed = entry["metadata"]["knoll/column_lineage"]
    assert packed["__class__"] == "TableColumnLineageMetadataValue"
    assert packed["lineage"]["deps_by_column"]["order_id"][0]["column_name"] == "id"


def test_bad_lineage_is_named() -> None:
    with pytest.raises(DefinitionError) as twice:
        TableColumnLineage({"id": [TableColumnDep("orders", "id"), TableColumnDep("orders", "id")]})
    assert str(twice.value) == (
        "TableColumnLineage column 'id' lists orders.id twice; list each upstream column once."
    )
    with pytest.raises(DefinitionError) as single:
        TableColumnLineage({"id": TableColumnDep("orders", "id")})  # type: ignore[dict-item]
    assert str(single.value) == (
        "TableColumnLineage column 'id': map a column name (str) to a list of TableColumnDep, "
        "such as [TableColumnDep('orders', 'amount')]."
    )
    with pytest.raises(DefinitionError, match="its dependencies must be a list of TableColumnDep"):
        TableColumnLineage({"id": [("orders", "id")]})  # type: ignore[list-item]
    with pytest.raises(DefinitionError) as blank:
        TableColumnDep("orders", "")
    assert str(blank.value) == (
        "TableColumnDep('orders', ''): give the upstream column's name as a non-empty string."
    )
