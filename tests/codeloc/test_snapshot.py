"""The definitions snapshot: content, determinism, JSON round trip, and no leaked secrets."""

from __future__ import annotations

import gc
import hashlib
import json
from typing import Any

import pytest

from knoll.codeloc.snapshot import (
    SNAPSHOT_VERSION,
    definitions_snapshot,
    definitions_snapshot_json,
    read_definitions_snapshot,
    snapshot_id,
)
from knoll.defs.asset import AssetOut, asset
from knoll.defs.asset_spec import AssetIn, AssetSpec
from knoll.defs.check import AssetCheckResult, AssetCheckSpec, asset_check
from knoll.defs.config import Config
from knoll.defs.definitions import Definitions
from knoll.defs.env_var import EnvVar
from knoll.defs.executor import ExecutorDefinition
from knoll.defs.graph import graph, job
from knoll.defs.job import define_asset_job
from knoll.defs.metadata import MetadataValue
from knoll.defs.multi_asset import multi_asset
from knoll.defs.op import op
from knoll.defs.partitions import DailyPartitionsDefinition, TimeWindowPartitionMapping
from knoll.defs.policies import AutomationCondition, BackfillPolicy, RetryPolicy
from knoll.defs.resource import ConfigurableResource
from knoll.defs.resource_definition import resource
from knoll.defs.run_request import RunRequest
from knoll.defs.schedule import ScheduleDefinition
from knoll.defs.sensor import SensorDefinition, sensor
from knoll.errors import SerializationError

SECRET_VALUE = "hunter2-very-secret-value"


class Warehouse(ConfigurableResource):
    """Where the tables live."""

    host: str
    password: str
    schema_name: str = "public"


class OrdersConfig(Config):
    limit: int = 100


def build_defs() -> Definitions:
    """A realistic code location. Called twice to check that snapshots are byte-identical."""
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    raw_customers = AssetSpec(
        ["raw", "customers"],
        description="Customers table loaded by the CRM sync.",
        group_name="raw",
        owners=["team:crm"],
        kinds=["postgres"],
    )

    @asset(
        key_prefix="raw",
        group_name="raw",
        owners=["ana@example.com", "team:data-eng"],
        tags={"tier": "gold", "domain": "sales"},
        kinds=["python", "postgres"],
        metadata={"rows": 12, "docs": MetadataValue.url("https://example.com/orders")},
        code_version="3",
        required_resource_keys=["warehouse"],
        retry_policy=RetryPolicy(max_retries=2, delay=1.0),
        pool="warehouse_pool",
        check_specs=[AssetCheckSpec("has_rows", asset=["raw", "orders"])],
    )
    def orders(config: OrdersConfig) -> list[int]:
        """Raw orders from the shop."""
        return list(range(config.limit))

    @asset(
        ins={"orders": AssetIn(["raw", "orders"])},
        deps=[["raw", "customers"]],
        group_name="marts",
        automation_condition=AutomationCondition.eager(),
    )
    def order_summary(orders: list[int]) -> int:
        return len(orders)

    @multi_asset(
        outs={
            "revenue": AssetOut(group_name="marts", io_manager_key="warehouse_io"),
            "refunds": AssetOut(group_name="marts"),
        },
        ins={"orders": AssetIn(["raw", "orders"])},
        can_subset=True,
    )
    def finance(orders: list[int]) -> tuple[int, int]:
        return sum(orders), 0

    @asset(partitions_def=daily, backfill_policy=BackfillPolicy.single_run())
    def events() -> None:
        return None

    @asset(
        partitions_def=daily,
        ins={"events": AssetIn(partition_mapping=TimeWindowPartitionMapping(-1, -1))},
    )
    def events_lagged(events: None) -> None:
        return None

    @asset_check(asset=order_summary, blocking=True, description="Summary is positive.")
    def summary_positive(order_summary: int) -> AssetCheckResult:
        return AssetCheckResult(passed=order_summary > 0)

    @op
    def extract() -> int:
        return 1

    @op(config_schema={"factor": int})
    def scale(value: int) -> int:
        return value * 2

    @op
    def load(value: int) -> None:
        return None

    @graph
    def transform(value: int) -> Any:
        return scale(value)

    @job(tags={"team": "etl"}, description="Extract, transform, load.")
    def etl() -> None:
        load(transform(extract()))

    orders_job = define_asset_job("orders_job", selection=[["raw", "orders"], "order_summary"])
    nightly = ScheduleDefinition(name="nightly", cron_schedule="0 2 * * *", job=orders_job)

    @sensor(job=etl, minimum_interval_seconds=60)
    def new_files() -> RunRequest:
        return RunRequest(run_key="file-1")

    @resource(config_schema={"bucket": str})
    def storage() -> str:
        return "s3"

    return Definitions(
        assets=[raw_customers, orders, order_summary, finance, events, events_lagged],
        asset_checks=[summary_positive],
        jobs=[etl, orders_job],
        schedules=[nightly],
        sensors=[new_files],
        resources={
            "warehouse": Warehouse(host="db.example.com", password=EnvVar("WAREHOUSE_SECRET")),
            "warehouse_io": storage,
            "storage": storage,
        },
        executor=ExecutorDefinition("multiprocess", {"max_concurrent": 4}),
    )


@pytest.fixture
def defs(monkeypatch: pytest.MonkeyPatch) -> Definitions:
    monkeypatch.setenv("WAREHOUSE_SECRET", SECRET_VALUE)
    return build_defs()


def _by_key(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["user_string"]: a for a in snapshot["assets"]}


def test_top_level_shape(defs: Definitions) -> None:
    snap = definitions_snapshot(defs)
    assert SNAPSHOT_VERSION == 1
    assert list(snap) == [
        "version",
        "assets",
        "asset_checks",
        "jobs",
        "schedules",
        "sensors",
        "resources",
        "executor",
    ]
    assert snap["version"] == 1
    assert snap["executor"] == {
        "name": "multiprocess",
        "config": {"max_concurrent": 4},
        "description": None,
    }
    assert [a["user_string"] for a in snap["assets"]] == [
        "events",
        "events_lagged",
        "order_summary",
        "raw/customers",
        "raw/orders",
        "refunds",
        "revenue",
    ]


def test_asset_entry(defs: Definitions) -> None:
    orders = _by_key(definitions_snapshot(defs))["raw/orders"]
    assert orders["key"] == ["raw", "orders"]
    assert orders["node_name"] == "raw__orders"
    assert orders["output_name"] == "result"
    assert orders["is_executable"] is True
    assert orders["deps"] == []
    assert orders["partition_mappings"] == []
    assert orders["children"] == [["order_summary"], ["refunds"], ["revenue"]]
    assert orders["group"] == "raw"
    assert orders["description"] == "Raw orders from the shop."
    assert orders["owners"] == ["ana@example.com", "team:data-eng"]
    assert orders["tags"] == {"domain": "sales", "tier": "gold"}
    assert list(orders["tags"]) == ["domain", "tier"]
    assert orders["kinds"] == ["postgres", "python"]
    assert orders["metadata"]["rows"]["__class__"] == "IntMetadataValue"
    assert orders["metadata"]["docs"]["url_value"] == "https://example.com/orders"
    assert orders["code_version"] == "3"
    assert orders["partitions"] is None
    assert orders["automation_condition"] is None
    assert orders["io_manager_key"] == "io_manager"
    assert orders["required_resource_keys"] == ["warehouse"]
    assert orders["config_schema"]["properties"]["limit"]["default"] == 100
    assert orders["retry_policy"] == {
        "max_retries": 2,
        "delay": 1.0,
        "backoff": None,
        "jitter": None,
    }
    assert orders["pool"] == "warehouse_pool"
    assert orders["check_keys"] == [{"asset_key": ["raw", "orders"], "name": "has_rows"}]
    path, line = orders["source"].rsplit(":", 1)
    assert path.endswith("test_snapshot.py")
    assert int(line) > 0
    assert orders["can_subset"] is False
    assert orders["multi_asset_keys"] == []


def test_deps_automation_and_checks_of_a_downstream_asset(defs: Definitions) -> None:
    summary = _by_key(definitions_snapshot(defs))["order_summary"]
    assert summary["deps"] == [["raw", "customers"], ["raw", "orders"]]
    assert summary["partition_mappings"] == []
    assert summary["automation_condition"] == "eager"
    tree = summary["automation_condition_tree"]
    assert tree["label"] == "eager"
    assert [o["name"] for o in tree["operands"]] == ["in_latest_time_window", "since", *["not"] * 3]
    assert summary["config_schema"] is None
    assert summary["group"] == "marts"
    assert summary["check_keys"] == [{"asset_key": ["order_summary"], "name": "summary_positive"}]


def test_external_asset(defs: Definitions) -> None:
    customers = _by_key(definitions_snapshot(defs))["raw/customers"]
    assert customers["is_executable"] is False
    assert customers["node_name"] is None
    assert customers["output_name"] is None
    assert customers["io_manager_key"] is None
    assert customers["source"] is None
    assert customers["children"] == [["order_summary"]]
    assert customers["owners"] == ["team:crm"]
    assert customers["kinds"] == ["postgres"]


def test_multi_asset(defs: Definitions) -> None:
    assets = _by_key(definitions_snapshot(defs))
    revenue, refunds = assets["revenue"], assets["refunds"]
    assert revenue["node_name"] == refunds["node_name"] == "finance"
    assert revenue["can_subset"] is True
    assert revenue["multi_asset_keys"] == [["refunds"]]
    assert refunds["multi_asset_keys"] == [["revenue"]]
    assert revenue["io_manager_key"] == "warehouse_io"
    assert refunds["io_manager_key"] == "io_manager"
    assert revenue["output_name"] == "revenue"


def test_partitions_and_mapping(defs: Definitions) -> None:
    assets = _by_key(definitions_snapshot(defs))
    events, lagged = assets["events"], assets["events_lagged"]
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert events["partitions"] == daily.to_snapshot()
    assert lagged["partitions"] == daily.to_snapshot()
    assert events["backfill_policy"] == {"max_partitions_per_run": None}
    assert lagged["backfill_policy"] is None
    assert lagged["deps"] == [["events"]]
    assert lagged["partition_mappings"] == [
        {"key": ["events"], "partition_mapping": TimeWindowPartitionMapping(-1, -1).to_snapshot()}
    ]
    assert events["partition_mappings"] == []


def test_checks(defs: Definitions) -> None:
    checks = definitions_snapshot(defs)["asset_checks"]
    assert [c["user_string"] for c in checks] == [
        "order_summary:summary_positive",
        "raw/orders:has_rows",
    ]
    own, in_asset = checks
    assert own["key"] == {"asset_key": ["order_summary"], "name": "summary_positive"}
    assert own["asset_key"] == ["order_summary"]
    assert own["blocking"] is True
    assert own["description"] == "Summary is positive."
    assert own["in_own_step"] is True
    assert own["node_name"] == "order_summary_summary_positive"
    assert own["additional_deps"] == []
    assert in_asset["in_own_step"] is False
    assert in_asset["blocking"] is False
    assert in_asset["node_name"] == "raw__orders"
    assert in_asset["required_resource_keys"] == ["warehouse"]


def test_op_job_flattens_nested_graphs(defs: Definitions) -> None:
    jobs = {j["name"]: j for j in definitions_snapshot(defs)["jobs"]}
    etl = jobs["etl"]
    assert etl["kind"] == "op"
    assert etl["tags"] == {"team": "etl"}
    assert etl["description"] == "Extract, transform, load."
    assert etl["asset_selection"] is None
    ops = {o["handle"]: o for o in etl["ops"]}
    assert list(ops) == ["extract", "transform.scale", "load"]
    assert ops["extract"]["upstream"] == []
    assert ops["transform.scale"]["op_name"] == "scale"
    assert ops["transform.scale"]["upstream"] == ["extract"]
    assert ops["transform.scale"]["inputs"] == [
        {"name": "value", "sources": [{"handle": "extract", "output": "result"}]}
    ]
    assert ops["load"]["upstream"] == ["transform.scale"]
    schema = etl["run_config_schema"]
    scale = schema["properties"]["ops"]["properties"]["transform"]["properties"]["ops"]
    assert scale["properties"]["scale"]["properties"]["config"]["properties"]["factor"] == {
        "type": "integer"
    }
    assert schema["properties"]["ops"]["required"] == ["transform"]


def test_asset_job(defs: Definitions) -> None:
    jobs = {j["name"]: j for j in definitions_snapshot(defs)["jobs"]}
    assert sorted(jobs) == ["etl", "orders_job"]
    orders_job = jobs["orders_job"]
    assert orders_job["kind"] == "asset"
    assert orders_job["ops"] is None
    assert orders_job["asset_selection"] == [["order_summary"], ["raw", "orders"]]
    assert {"asset_key": ["order_summary"], "name": "summary_positive"} in orders_job[
        "check_selection"
    ]
    assert orders_job["executor"]["name"] == "multiprocess"
    run_config = orders_job["run_config_schema"]
    ops = run_config["properties"]["ops"]["properties"]
    assert list(ops) == ["raw__orders"]
    resources = run_config["properties"]["resources"]
    assert resources["properties"]["storage"]["required"] == ["config"]
    warehouse_config = resources["properties"]["warehouse"]["properties"]["config"]
    # host and password are given in code, so run config need not give them.
    assert "required" not in warehouse_config
    assert set(warehouse_config["properties"]) == {"host", "password", "schema_name"}


def test_schedules_sensors_and_resources(defs: Definitions) -> None:
    snap = definitions_snapshot(defs)
    schedule = defs.get_schedule_def("nightly")
    sensor_def = defs.get_sensor_def("new_files")
    assert isinstance(sensor_def, SensorDefinition)
    assert snap["schedules"] == [schedule.to_snapshot()]
    assert snap["sensors"] == [json.loads(json.dumps(sensor_def.to_snapshot()))]
    resources = {r["key"]: r for r in snap["resources"]}
    assert list(resources) == ["storage", "warehouse", "warehouse_io"]
    fields = {f["name"]: f for f in resources["warehouse"]["config_fields"]}
    assert fields["password"]["value"] == {"env_var": "WAREHOUSE_SECRET"}


def test_json_round_trip(defs: Definitions) -> None:
    text = definitions_snapshot_json(defs)
    data = json.loads(text)
    assert data == definitions_snapshot(defs)
    # Compact and canonical: writing the parsed data back gives the same text.
    assert json.dumps(data, separators=(",", ":")) == text
    assert snapshot_id(defs) == hashlib.sha256(text.encode()).hexdigest()


def test_two_builds_give_identical_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_SECRET", SECRET_VALUE)
    first, second = build_defs(), build_defs()
    assert first is not second
    assert definitions_snapshot_json(first) == definitions_snapshot_json(second)
    assert snapshot_id(first) == snapshot_id(second)


def test_snapshot_changes_with_the_code(defs: Definitions) -> None:
    @asset
    def other() -> int:
        return 1

    changed = Definitions(assets=[*defs.assets, other], resources=defs.resources)
    assert snapshot_id(changed) != snapshot_id(defs)


def test_json_is_cached_per_definitions_object(defs: Definitions) -> None:
    first = definitions_snapshot_json(defs)
    assert definitions_snapshot_json(defs) is first
    assert snapshot_id(defs) is snapshot_id(defs)


def test_snapshot_dict_is_the_callers_to_change(defs: Definitions) -> None:
    first = definitions_snapshot(defs)
    first["assets"][0]["tags"]["changed"] = "yes"
    first["assets"].clear()
    second = definitions_snapshot(defs)
    assert len(second["assets"]) == 7
    assert "changed" not in second["assets"][0]["tags"]


def test_secret_values_never_appear(defs: Definitions) -> None:
    text = definitions_snapshot_json(defs)
    assert SECRET_VALUE not in text
    assert "WAREHOUSE_SECRET" in text


def test_empty_definitions() -> None:
    snap = definitions_snapshot(Definitions())
    assert snap == {
        "version": 1,
        "assets": [],
        "asset_checks": [],
        "jobs": [],
        "schedules": [],
        "sensors": [],
        "resources": [],
        "executor": None,
    }


def test_resource_configured_at_launch_requires_its_missing_fields() -> None:
    @asset
    def uses_warehouse(warehouse: Warehouse) -> int:
        return 1

    defs = Definitions(
        assets=[uses_warehouse],
        jobs=[define_asset_job("all_assets")],
        resources={"warehouse": Warehouse.configure_at_launch(host="db.example.com")},
    )
    (job_snapshot,) = definitions_snapshot(defs)["jobs"]
    resources = job_snapshot["run_config_schema"]["properties"]["resources"]
    assert resources["required"] == ["warehouse"]
    warehouse = resources["properties"]["warehouse"]
    assert warehouse["required"] == ["config"]
    assert warehouse["properties"]["config"]["required"] == ["password"]
    password = warehouse["properties"]["config"]["properties"]["password"]
    # Run config may name an environment variable instead of giving the value.
    assert {"type": "object"}.items() <= password["anyOf"][1].items()


def test_value_that_is_not_json_is_a_serialization_error() -> None:
    defs = Definitions(executor=ExecutorDefinition("custom", {"client": object()}))
    with pytest.raises(SerializationError, match=r"could not be written as JSON.*not plain JSON"):
        definitions_snapshot_json(defs)


def test_garbage_collection_is_restored(defs: Definitions) -> None:
    assert gc.isenabled()
    definitions_snapshot_json(defs)
    assert gc.isenabled()
    gc.disable()
    try:
        definitions_snapshot_json(build_defs())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_read_definitions_snapshot(defs: Definitions) -> None:
    text = definitions_snapshot_json(defs)
    assert read_definitions_snapshot(text) == definitions_snapshot(defs)
    assert read_definitions_snapshot(text.encode()) == definitions_snapshot(defs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "integer 'version'"),
        ('{"assets": []}', "integer 'version'"),
        ('{"version": "1"}', "integer 'version'"),
        ('{"version": 2}', "has version 2, but this knoll reads up to version 1: upgrade knoll"),
    ],
)
def test_read_definitions_snapshot_refuses(text: str, message: str) -> None:
    with pytest.raises(SerializationError, match=message):
        read_definitions_snapshot(text)
