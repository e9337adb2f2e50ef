"""A dependency on an asset no definition provides is an external asset, as in Dagster."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

from knoll import (
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetSelection,
    Definitions,
    FilesystemIOManager,
    IOManager,
    asset,
    define_asset_job,
    materialize,
)
from knoll.codeloc.snapshot import definitions_snapshot
from knoll.execution.events import EventType


@asset(deps=["raw_clicks"])
def sessions() -> int:
    return 3


@asset(deps=[AssetDep("crm_export")])
def contacts() -> int:
    return 2


@asset(ins={"rates": AssetIn(key=["finance", "fx_rates"])})
def revenue_eur(rates: dict[str, float]) -> float:
    return 100 * rates["EUR"]


@asset
def weekly_report(warehouse_orders: list[int]) -> int:
    return sum(warehouse_orders)


def test_each_way_of_depending_makes_an_external_asset() -> None:
    defs = Definitions(assets=[sessions, contacts, revenue_eur, weekly_report])
    graph = defs.get_asset_graph()
    external = {AssetKey("raw_clicks"), AssetKey("crm_export"), AssetKey("warehouse_orders")}
    external.add(AssetKey(["finance", "fx_rates"]))
    assert graph.implicit_external_keys == external
    assert all(not graph.node(key).is_executable for key in external)
    assert graph.parents(AssetKey("revenue_eur")) == [AssetKey(["finance", "fx_rates"])]
    assert AssetKey("raw_clicks") in graph.parents(AssetKey("sessions"))


def test_star_and_all_select_only_what_knoll_computes() -> None:
    defs = Definitions(assets=[sessions, contacts], jobs=[define_asset_job("everything", "*")])
    graph = defs.get_asset_graph()
    assert AssetSelection.all().resolve(graph) == {AssetKey("sessions"), AssetKey("contacts")}
    result = defs.get_job_def("everything").execute_in_process()
    assert result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {
        AssetKey("sessions"),
        AssetKey("contacts"),
    }


def test_materialize_accepts_an_undeclared_dependency() -> None:
    assert materialize([sessions]).success


def test_a_data_input_loads_a_file_the_filesystem_io_manager_finds(tmp_path: Path) -> None:
    (tmp_path / "warehouse_orders").write_bytes(pickle.dumps([5, 7, 11]))
    result = materialize(
        [weekly_report], resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    )
    assert result.output_for_node("weekly_report") == 23


class JsonLakeIOManager(IOManager):
    """Reads every input from ``<root>/<key path>.json``; keeps outputs in memory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stored: dict[str, Any] = {}

    def handle_output(self, context: Any, obj: Any) -> None:
        self.stored[context.asset_key.to_user_string()] = obj

    def load_input(self, context: Any) -> Any:
        path = self.root.joinpath(*context.asset_key.path).with_suffix(".json")
        return json.loads(path.read_text())


def test_a_data_input_loads_through_a_custom_io_manager(tmp_path: Path) -> None:
    (tmp_path / "finance").mkdir()
    (tmp_path / "finance" / "fx_rates.json").write_text(json.dumps({"EUR": 0.9}))
    manager = JsonLakeIOManager(tmp_path)
    result = materialize([revenue_eur], resources={"io_manager": manager})
    assert result.success
    assert manager.stored == {"revenue_eur": 90.0}


@asset(deps=["raw_order"])
def order_lines(context: AssetExecutionContext) -> int:
    return 1


@asset
def raw_orders() -> int:
    return 4


def test_a_key_one_edit_from_a_defined_key_records_a_warning() -> None:
    result = materialize([order_lines, raw_orders])
    assert result.success
    warnings = [
        e
        for e in result.all_events
        if e.event_type is EventType.LOG_MESSAGE and e.level == logging.WARNING
    ]
    assert [w.message for w in warnings] == [
        "asset 'order_lines' depends on 'raw_order', which no definition provides, so it is an "
        "external asset; did you mean 'raw_orders'? Fix the key, or declare "
        "AssetSpec('raw_order') in Definitions(assets=...) to silence this warning."
    ]
    assert warnings[0].step_key == "order_lines"


def test_a_key_far_from_every_defined_key_warns_of_nothing() -> None:
    result = materialize([sessions, raw_orders])
    assert not [e for e in result.all_events if e.level == logging.WARNING]


def test_the_snapshot_marks_undeclared_dependencies_external() -> None:
    snapshot = definitions_snapshot(Definitions(assets=[sessions]))
    by_key = {entry["user_string"]: entry for entry in snapshot["assets"]}
    assert by_key["raw_clicks"]["is_external"] is True
    assert by_key["raw_clicks"]["is_executable"] is False
    assert by_key["sessions"]["is_external"] is False
