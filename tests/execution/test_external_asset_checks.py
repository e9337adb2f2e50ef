"""Checks of external assets (AssetSpec, or keys only named in deps=) run, as in Dagster.

The raw tables here are real files written by "another tool" (sqlite3 and json, outside
knoll) before the run; the checks read them through a resource or through an IO manager.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetSelection,
    AssetSpec,
    ConfigurableIOManager,
    ConfigurableResource,
    Definitions,
    EventType,
    asset,
    asset_check,
    define_asset_job,
    materialize,
    multi_asset_check,
)
from knoll.defs.executor import in_process_executor, multiprocess_executor
from knoll.defs.io_manager import InputContextLike, OutputContextLike
from knoll.errors import DefinitionError, RunFailedError
from knoll.execution.plan import build_plan
from knoll.execution.reexecution import execute_job
from knoll.instance import Instance

EXECUTORS = [
    pytest.param(in_process_executor, id="in_process"),
    pytest.param(multiprocess_executor(max_concurrent=2), id="multiprocess"),
]


# ---- "another tool": a loader that writes the raw table outside knoll ----------------------


def _load_raw_orders(db: Path, loaded_at: datetime, rows: int) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS raw_orders (id INTEGER, loaded_at TEXT)")
        conn.executemany(
            "INSERT INTO raw_orders VALUES (?, ?)",
            [(i, loaded_at.isoformat()) for i in range(rows)],
        )
    conn.close()


class Warehouse(ConfigurableResource):
    path: str

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


class JsonLanding(ConfigurableIOManager):
    """Reads (and for knoll's own assets writes) ``<base_dir>/<key>.json``."""

    base_dir: str

    def _path(self, key: AssetKey) -> Path:
        return Path(self.base_dir) / f"{key.to_user_string().replace('/', '__')}.json"

    def handle_output(self, context: OutputContextLike, obj: Any) -> None:
        self._path(context.asset_key).write_text(json.dumps(obj))

    def load_input(self, context: InputContextLike) -> Any:
        return json.loads(self._path(context.asset_key).read_text())


raw_orders = AssetSpec("raw_orders", description="Loaded into the warehouse by the ingest tool.")


@asset_check(asset=raw_orders, description="Loaded in the last day, and not empty.")
def raw_orders_fresh(warehouse: Warehouse) -> AssetCheckResult:
    count, latest = warehouse.query("SELECT COUNT(*), MAX(loaded_at) FROM raw_orders")[0]
    age = datetime.now(UTC) - datetime.fromisoformat(latest)
    return AssetCheckResult(
        passed=count > 0 and age < timedelta(days=1),
        metadata={"rows": count, "latest_load": latest, "pid": os.getpid()},
    )


@asset(deps=[raw_orders])
def order_report(warehouse: Warehouse) -> int:
    return int(warehouse.query("SELECT COUNT(*) FROM raw_orders")[0][0])


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    with Instance.get(tmp_path / "home") as inst:  # SQLite storage under KNOLL_HOME
        yield inst


def _warehouse(tmp_path: Path, loaded_at: datetime, rows: int = 3) -> Warehouse:
    db = tmp_path / "warehouse.db"
    _load_raw_orders(db, loaded_at, rows)
    return Warehouse(path=str(db))


# ---- which jobs run the check -------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_the_default_job_runs_the_check_of_an_asset_spec_and_stores_it(
    tmp_path: Path, instance: Instance, executor: Any
) -> None:
    defs = Definitions(
        assets=[raw_orders, order_report],
        asset_checks=[raw_orders_fresh],
        resources={"warehouse": _warehouse(tmp_path, datetime.now(UTC))},
        executor=executor,
    )
    job = defs.get_implicit_global_asset_job_def()
    assert sorted(build_plan(job).step_keys) == ["order_report", "raw_orders_raw_orders_fresh"]
    result = execute_job(job, instance)
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_key == AssetCheckKey(AssetKey("raw_orders"), "raw_orders_fresh")
    assert evaluation.passed
    assert evaluation.metadata["rows"].value == 3
    ran_in = evaluation.metadata["pid"].value
    assert (ran_in == os.getpid()) is (executor is in_process_executor)
    # knoll materialized its own asset only, never the external one
    materialized = [e.materialization.asset_key for e in result.get_asset_materialization_events()]
    assert materialized == [AssetKey("order_report")]
    stored = instance.get_latest_check_results([evaluation.check_key])[evaluation.check_key]
    assert stored.passed
    assert stored.metadata["rows"].value == 3
    assert stored.metadata["latest_load"].value == evaluation.metadata["latest_load"].value
    events = instance.get_events(result.run_id).records
    [check_event] = [
        r.event for r in events if r.event.event_type is EventType.ASSET_CHECK_EVALUATION
    ]
    assert check_event.step_key == "raw_orders_raw_orders_fresh"
    assert check_event.data == evaluation


def test_a_stale_raw_table_fails_the_check_but_not_the_run(
    tmp_path: Path, instance: Instance
) -> None:
    defs = Definitions(
        assets=[raw_orders, order_report],
        asset_checks=[raw_orders_fresh],
        resources={"warehouse": _warehouse(tmp_path, datetime(2020, 1, 1, tzinfo=UTC))},
    )
    result = execute_job(defs.get_implicit_global_asset_job_def(), instance)
    assert result.success  # not blocking: recorded, and order_report still ran
    assert result.asset_value("order_report") == 3
    key = raw_orders_fresh.key
    assert not instance.get_latest_check_results([key])[key].passed


def test_check_selections_plan_only_the_check_step(tmp_path: Path) -> None:
    defs = Definitions(
        assets=[raw_orders, order_report],
        asset_checks=[raw_orders_fresh],
        jobs=[
            define_asset_job("by_asset", selection=AssetSelection.checks_for_assets(raw_orders)),
            define_asset_job("by_check", selection=AssetSelection.checks(raw_orders_fresh)),
            define_asset_job("by_key", selection=AssetSelection.checks(raw_orders_fresh.key)),
            define_asset_job("every_check", selection=AssetSelection.all_asset_checks()),
            define_asset_job("assets_only", selection=AssetSelection.all()),
        ],
        resources={"warehouse": _warehouse(tmp_path, datetime.now(UTC))},
    )
    for name in ("by_asset", "by_check", "by_key", "every_check"):
        job = defs.get_job_def(name)
        assert build_plan(job).step_keys == ("raw_orders_raw_orders_fresh",), name
        result = job.execute_in_process()
        assert [e.check_name for e in result.get_asset_check_evaluations()] == ["raw_orders_fresh"]
        assert result.get_asset_materialization_events() == []
    # as in Dagster, AssetSelection.all() holds the materializable assets and their checks
    assert build_plan(defs.get_job_def("assets_only")).step_keys == ("order_report",)


def test_materialize_runs_the_check_when_the_selection_holds_it(tmp_path: Path) -> None:
    resources = {"warehouse": _warehouse(tmp_path, datetime.now(UTC))}
    # as in Dagster: without a selection, materialize runs the materializable assets only
    nothing = materialize([raw_orders, raw_orders_fresh], resources=resources)
    assert nothing.success
    assert nothing.get_asset_check_evaluations() == []
    result = materialize(
        [raw_orders, raw_orders_fresh],
        resources=resources,
        selection=AssetSelection.checks_for_assets(raw_orders),
    )
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]
    both = materialize(
        [raw_orders, order_report, raw_orders_fresh],
        resources=resources,
        selection=AssetSelection.assets(order_report) | AssetSelection.checks(raw_orders_fresh),
    )
    assert both.asset_value("order_report") == 3
    assert len(both.get_asset_check_evaluations()) == 1


def test_selecting_the_external_asset_itself_says_how_to_run_its_checks(tmp_path: Path) -> None:
    resources = {"warehouse": _warehouse(tmp_path, datetime.now(UTC))}
    with pytest.raises(
        DefinitionError,
        match=r"asset 'raw_orders' is external \(declared with AssetSpec\): knoll does not "
        r"materialize it\. Leave it out of the selection; to run its checks, select "
        r"AssetSelection\.checks_for_assets\('raw_orders'\)\.",
    ):
        materialize([raw_orders, raw_orders_fresh], resources=resources, selection=["raw_orders"])

    @asset(deps=["vendor/prices"])
    def priced() -> None:
        pass

    defs = Definitions(
        assets=[priced],
        jobs=[define_asset_job("everything", AssetSelection.all(include_sources=True))],
    )
    with pytest.raises(
        DefinitionError,
        match=r"asset 'vendor/prices' is external \(no definition provides it\).*"
        r"AssetSelection\.checks_for_assets\('vendor/prices'\)\.",
    ):
        defs.get_job_def("everything").execute_in_process()


# ---- an implicit external asset: a key only named in deps= --------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_check_of_a_key_only_named_in_deps_runs(
    tmp_path: Path, instance: Instance, executor: Any
) -> None:
    feed = tmp_path / "vendor_feed.csv"
    feed.write_text("sku,price\nA,3\nB,4\n")  # dropped by the vendor's SFTP job

    @asset(deps=["vendor_feed"])
    def prices() -> int:
        return len(feed.read_text().splitlines()) - 1

    @asset_check(asset="vendor_feed")
    def vendor_feed_has_header() -> AssetCheckResult:
        header = feed.read_text().splitlines()[0]
        return AssetCheckResult(passed=header == "sku,price", metadata={"header": header})

    defs = Definitions(assets=[prices], asset_checks=[vendor_feed_has_header], executor=executor)
    assert AssetKey("vendor_feed") in defs.get_asset_graph().implicit_external_keys
    result = execute_job(defs.get_implicit_global_asset_job_def(), instance)
    assert result.success
    assert result.asset_value("prices") == 2
    (evaluation,) = result.get_asset_check_evaluations()
    assert (evaluation.asset_key, evaluation.passed) == (AssetKey("vendor_feed"), True)
    key = vendor_feed_has_header.key
    assert instance.get_latest_check_results([key])[key].metadata["header"].value == "sku,price"


# ---- blocking checks ----------------------------------------------------------------------


@asset_check(asset=raw_orders, blocking=True)
def raw_orders_not_empty(warehouse: Warehouse) -> AssetCheckResult:
    (count,) = warehouse.query("SELECT COUNT(*) FROM raw_orders")[0]
    return AssetCheckResult(passed=count > 0, metadata={"rows": count})


@asset
def exchange_rates() -> dict[str, float]:
    return {"EUR": 1.0}


def _blocking_defs(tmp_path: Path, rows: int, executor: Any) -> Definitions:
    return Definitions(
        assets=[raw_orders, order_report, exchange_rates],
        asset_checks=[raw_orders_not_empty],
        resources={"warehouse": _warehouse(tmp_path, datetime.now(UTC), rows=rows)},
        executor=executor,
    )


@pytest.mark.parametrize("executor", EXECUTORS)
def test_failed_blocking_check_of_an_external_asset_skips_its_downstream(
    tmp_path: Path, instance: Instance, executor: Any
) -> None:
    defs = _blocking_defs(tmp_path, rows=0, executor=executor)
    plan = build_plan(defs.get_implicit_global_asset_job_def())
    report = plan.step("order_report")
    assert report.upstream == ("raw_orders_raw_orders_not_empty",)
    assert report.blocking_checks_upstream == (raw_orders_not_empty.key,)
    result = execute_job(defs.get_implicit_global_asset_job_def(), instance)
    assert not result.success
    assert [e.step_key for e in result.get_step_skipped_events()] == ["order_report"]
    assert result.asset_value("exchange_rates") == {"EUR": 1.0}  # not downstream: it ran
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.blocking
    assert not evaluation.passed
    assert evaluation.blocks_downstream
    key = raw_orders_not_empty.key
    stored = instance.get_latest_check_results([key])[key]
    assert (stored.passed, stored.blocking, stored.metadata["rows"].value) == (False, True, 0)
    assert not instance.get_run(result.run_id).run.is_success


def test_failed_blocking_check_of_an_external_asset_raises_naming_it(tmp_path: Path) -> None:
    defs = _blocking_defs(tmp_path, rows=0, executor=in_process_executor)
    with pytest.raises(
        RunFailedError,
        match=r"blocking check raw_orders:raw_orders_not_empty failed, so the assets downstream "
        r"of it did not run \(skipped steps: order_report\)\. Fix the data, or make the check "
        r"non-blocking\.",
    ):
        defs.get_implicit_global_asset_job_def().execute_in_process()


def test_passing_blocking_check_of_an_external_asset_runs_first(
    tmp_path: Path, instance: Instance
) -> None:
    defs = _blocking_defs(tmp_path, rows=2, executor=in_process_executor)
    result = execute_job(defs.get_implicit_global_asset_job_def(), instance)
    assert result.success
    starts = [e.step_key for e in result.events_of_type(EventType.STEP_START)]
    assert starts.index("raw_orders_raw_orders_not_empty") < starts.index("order_report")
    assert result.asset_value("order_report") == 2


# ---- the check reads the external asset through an IO manager -----------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_check_parameter_loads_the_external_asset_through_its_io_manager(
    tmp_path: Path, instance: Instance, executor: Any
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "raw_customers.json").write_text(json.dumps([{"id": 1}, {"id": 2}, {"id": 2}]))
    raw_customers = AssetSpec("raw_customers").with_io_manager_key("landing")

    @asset_check(asset=raw_customers)
    def ids_unique(raw_customers: list[dict[str, int]]) -> AssetCheckResult:
        ids = [row["id"] for row in raw_customers]
        return AssetCheckResult(
            passed=len(ids) == len(set(ids)), metadata={"duplicates": len(ids) - len(set(ids))}
        )

    defs = Definitions(
        assets=[raw_customers],
        asset_checks=[ids_unique],
        resources={"landing": JsonLanding(base_dir=str(landing))},
        executor=executor,
    )
    result = execute_job(defs.get_implicit_global_asset_job_def(), instance)
    assert result.success
    (loaded,) = result.events_of_type(EventType.LOADED_INPUT)
    assert (loaded.step_key, loaded.message) == (
        "raw_customers_ids_unique",
        "loaded input 'raw_customers' with IO manager 'landing'",
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["duplicates"].value == 1
    stored = instance.get_latest_check_results([ids_unique.key])[ids_unique.key]
    assert stored.metadata["duplicates"].value == 1


@pytest.mark.parametrize("executor", EXECUTORS)
def test_multi_asset_check_of_two_external_assets(
    tmp_path: Path, instance: Instance, executor: Any
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "erp__invoices.json").write_text(json.dumps([120, 80]))
    (landing / "erp__payments.json").write_text(json.dumps([120]))
    invoices, payments = AssetSpec(["erp", "invoices"]), AssetSpec(["erp", "payments"])

    @multi_asset_check(
        specs=[
            AssetCheckSpec("has_rows", asset=invoices.key),
            AssetCheckSpec("all_paid", asset=invoices.key, additional_deps=[payments.key]),
        ],
        ins={"invoices": invoices.key, "payments": payments.key},
    )
    def billing(
        context: AssetCheckExecutionContext, invoices: list[int], payments: list[int]
    ) -> Iterator[AssetCheckResult]:
        yield AssetCheckResult(check_name="has_rows", passed=bool(invoices))
        yield AssetCheckResult(check_name="all_paid", passed=sum(payments) >= sum(invoices))

    defs = Definitions(
        assets=[invoices, payments],
        asset_checks=[billing],
        resources={"io_manager": JsonLanding(base_dir=str(landing))},
        jobs=[define_asset_job("erp_checks", AssetSelection.checks_for_assets(invoices))],
        executor=executor,
    )
    result = execute_job(defs.get_job_def("erp_checks"), instance)
    assert result.success
    outcome = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert outcome == {"has_rows": True, "all_paid": False}
    keys = [spec.key for spec in billing.specs]
    stored = instance.get_latest_check_results(keys)
    assert {k.name: v.passed for k, v in stored.items()} == outcome


def test_definitions_with_only_external_assets_and_checks_have_a_default_job(
    tmp_path: Path,
) -> None:
    resources = {"warehouse": _warehouse(tmp_path, datetime.now(UTC))}
    defs = Definitions(assets=[raw_orders], asset_checks=[raw_orders_fresh], resources=resources)
    result = defs.get_implicit_global_asset_job_def().execute_in_process()
    assert [e.check_name for e in result.get_asset_check_evaluations()] == ["raw_orders_fresh"]
    with pytest.raises(
        DefinitionError,
        match=r"the selection \(\* \| all_asset_checks\) holds no asset that knoll can "
        r"materialize and no asset check: fix the selection, or give Definitions an @asset or "
        r"an @asset_check\.",
    ):
        Definitions(assets=[raw_orders]).get_implicit_global_asset_job_def()
