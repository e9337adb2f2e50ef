"""fs_io_manager, mem_io_manager, ConfigurableIOManagerFactory, build_input_context /
build_output_context and with_resources, as a ported Dagster project uses them."""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    ConfigurableIOManagerFactory,
    ConfigurableResource,
    Definitions,
    InitResourceContext,
    IOManager,
    IOManagerDefinition,
    StaticPartitionsDefinition,
    asset,
    build_init_resource_context,
    build_input_context,
    build_output_context,
    fs_io_manager,
    io_manager,
    materialize,
    mem_io_manager,
    resource,
    with_resources,
)
from knoll.errors import DefinitionError, InvalidConfigError, InvalidInvocationError


@asset
def customers() -> list[str]:
    return ["ada", "grace"]


@asset
def customer_count(customers: list[str]) -> int:
    return len(customers)


def test_fs_io_manager_takes_base_dir_from_resource_config(tmp_path: Path) -> None:
    assert isinstance(fs_io_manager, IOManagerDefinition)
    config = {"resources": {"io_manager": {"config": {"base_dir": str(tmp_path)}}}}
    result = materialize(
        [customers, customer_count], resources={"io_manager": fs_io_manager}, run_config=config
    )
    assert result.output_for_node("customer_count") == 2
    assert pickle.loads((tmp_path / "customers").read_bytes()) == ["ada", "grace"]
    configured = fs_io_manager.configured({"base_dir": str(tmp_path / "other")})
    assert materialize([customers], resources={"io_manager": configured}).success
    assert (tmp_path / "other" / "customers").exists()


def test_fs_io_manager_config_errors_name_the_field(tmp_path: Path) -> None:
    config = {"resources": {"io_manager": {"config": {"base_directory": str(tmp_path)}}}}
    with pytest.raises(InvalidConfigError, match=r"base_directory.*base_dir"):
        materialize([customers], resources={"io_manager": fs_io_manager}, run_config=config)
    with pytest.raises(InvalidConfigError, match=r"resource 'fs_io_manager'"):
        fs_io_manager.configured({"base_dir": 3})


def test_mem_io_manager_keeps_values_for_one_run() -> None:
    result = materialize([customers, customer_count], resources={"io_manager": mem_io_manager})
    assert result.output_for_node("customer_count") == 2
    # a fresh store per run: the next run cannot load what the last one kept
    with pytest.raises(Exception, match=r"asset 'customers' has no value in this in-memory"):
        materialize(
            [customers, customer_count],
            selection=[customer_count],
            resources={"io_manager": mem_io_manager},
        )


class TableStore(IOManager):
    """A plain IO manager from a library: rows kept in a dict by table name."""

    def __init__(self, schema: str, tables: dict[str, Any]) -> None:
        self.schema, self.tables = schema, tables

    def handle_output(self, context: Any, obj: Any) -> None:
        self.tables[f"{self.schema}.{context.asset_key.path[-1]}"] = obj

    def load_input(self, context: Any) -> Any:
        return self.tables[f"{self.schema}.{context.asset_key.path[-1]}"]


TABLES: dict[str, Any] = {}


class TableStoreFactory(ConfigurableIOManagerFactory):
    schema_name: str = "public"

    def create_io_manager(self, context: InitResourceContext) -> TableStore:
        return TableStore(self.schema_name, TABLES)


def test_configurable_io_manager_factory_makes_the_run_io_manager() -> None:
    TABLES.clear()
    result = materialize(
        [customers, customer_count], resources={"io_manager": TableStoreFactory(schema_name="crm")}
    )
    assert result.success
    assert TABLES == {"crm.customers": ["ada", "grace"], "crm.customer_count": 2}
    config = {"resources": {"io_manager": {"config": {"schema_name": "staging"}}}}
    materialize(
        [customers],
        resources={"io_manager": TableStoreFactory.configure_at_launch()},
        run_config=config,
    )
    assert "staging.customers" in TABLES


def test_a_factory_that_returns_no_io_manager_is_named() -> None:
    class Broken(ConfigurableIOManagerFactory):
        def create_io_manager(self, context: InitResourceContext) -> Any:
            return "not a manager"

    with pytest.raises(Exception, match=r"Broken.create_io_manager returned str.*not an IOManager"):
        materialize([customers], resources={"io_manager": Broken()})


def test_build_output_and_input_context_unit_test_an_io_manager() -> None:
    TABLES.clear()
    store = TableStore("test", TABLES)
    out = build_output_context(
        name="result",
        asset_key="customers",
        definition_metadata={"owner": "crm"},
        resources={"warehouse": "fake"},
        resource_config={"schema": "test"},
        config={"limit": 3},
    )
    store.handle_output(out, ["ada"])
    assert out.definition_metadata["owner"].value == "crm"
    assert out.resources.warehouse == "fake"
    assert (out.resource_config, out.config, out.run_id) == (
        {"schema": "test"},
        {"limit": 3},
        "test-run",
    )
    context = build_input_context(upstream_output=out, name="customers", config={"x": 1})
    assert context.asset_key == out.asset_key
    assert context.config == {"x": 1}
    assert store.load_input(context) == ["ada"]


def test_built_contexts_carry_partitions() -> None:
    parts = StaticPartitionsDefinition(["a", "b", "c"])
    from knoll import PartitionKeyRange

    ranged = build_input_context(
        asset_key="t",
        asset_partitions_def=parts,
        asset_partition_key_range=PartitionKeyRange("a", "b"),
    )
    assert list(ranged.asset_partition_keys) == ["a", "b"]
    single = build_output_context(asset_key="t", partition_key="c", asset_partitions_def=parts)
    assert single.partition_key == "c"
    with pytest.raises(
        InvalidInvocationError, match=r"asset_partition_key_range needs asset_partitions_def"
    ):
        build_input_context(asset_key="t", asset_partition_key_range=PartitionKeyRange("a", "b"))
    with pytest.raises(InvalidInvocationError, match=r"partition_key or asset_partition_key_range"):
        build_output_context(
            partition_key="a",
            asset_partitions_def=parts,
            asset_partition_key_range=PartitionKeyRange("a", "b"),
        )


def test_build_init_resource_context_takes_dagsters_parameters() -> None:
    params = inspect.signature(build_init_resource_context).parameters
    assert {"config", "resources", "instance"} <= set(params)

    @resource(config_schema={"host": str})
    def warehouse(context: InitResourceContext) -> str:
        return f"{context.resource_config['host']}:{context.resources.port}"

    made = warehouse(build_init_resource_context(config={"host": "db"}, resources={"port": 5432}))
    assert made == "db:5432"


class Warehouse(ConfigurableResource):
    dsn: str


@asset
def invoices(warehouse: Warehouse) -> str:
    return warehouse.dsn


def test_with_resources_binds_resources_that_definitions_and_materialize_use(
    tmp_path: Path,
) -> None:
    @io_manager(config_schema={"root": str})
    def folder_io(context: InitResourceContext) -> Any:
        from knoll import FilesystemIOManager

        return FilesystemIOManager(base_dir=context.resource_config["root"])

    bound = with_resources(
        [invoices, customers],
        {"warehouse": Warehouse(dsn="duckdb://"), "io_manager": folder_io},
        resource_config_by_key={"io_manager": {"config": {"root": str(tmp_path)}}},
    )
    assert materialize(bound).output_for_node("invoices") == "duckdb://"
    assert (tmp_path / "invoices").exists()
    defs = Definitions(assets=bound)
    assert set(defs.resources) == {"warehouse", "io_manager"}
    # each asset keeps only what it uses
    assert set(bound[1].resource_defs) == {"io_manager"}
    assert invoices.resource_defs == {}  # the original is unchanged


def test_with_resources_errors_name_the_key() -> None:
    with pytest.raises(
        DefinitionError, match=r"resource_config_by_key=\{'db': \.\.\.\}\): no resource 'db'"
    ):
        with_resources([invoices], {}, resource_config_by_key={"db": {"config": {}}})
    with pytest.raises(DefinitionError, match=r"the entry must be \{'config': \.\.\.\}"):
        with_resources([invoices], {"io_manager": mem_io_manager}, {"io_manager": {"root": "x"}})
    with pytest.raises(
        DefinitionError, match=r"Warehouse, not a function-style.*Warehouse\(field=\.\.\.\)"
    ):
        with_resources([invoices], {"warehouse": Warehouse(dsn="a")}, {"warehouse": {"config": {}}})
    with pytest.raises(
        DefinitionError,
        match=r"for asset 'invoices'.*requires resource 'warehouse'.*\{'warehouse': \.\.\.\}",
    ):
        with_resources([invoices], {"io_manager": mem_io_manager})
    bound = with_resources([invoices], {"warehouse": Warehouse(dsn="a")})
    with pytest.raises(DefinitionError, match=r"Definitions: resource 'warehouse' is bound to two"):
        Definitions(assets=bound, resources={"warehouse": Warehouse(dsn="b")})


def test_mem_io_manager_is_refused_by_the_multiprocess_executor(tmp_path: Path) -> None:
    from knoll import define_asset_job
    from knoll.defs.executor import multiprocess_executor

    defs = Definitions(
        assets=[customers, customer_count],
        jobs=[define_asset_job("all")],
        resources={"io_manager": mem_io_manager},
        executor=multiprocess_executor,
    )
    from knoll.execution.reexecution import execute_job
    from knoll.instance import Instance

    with pytest.raises(DefinitionError, match=r"IO manager 'io_manager' is an InMemoryIOManager"):
        execute_job(defs.get_job_def("all"), Instance.get(tmp_path / "home"))


def test_built_contexts_work_as_context_managers() -> None:
    with build_output_context(asset_key="t", mapping_key="m", version="1") as out:
        assert (out.mapping_key, out.version, out.asset_key.path) == ("m", "1", ("t",))
    with build_input_context(upstream_output=out, instance="inst") as context:
        assert (context.instance, context.asset_key) == ("inst", out.asset_key)
