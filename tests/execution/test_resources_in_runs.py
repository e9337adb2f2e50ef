"""Resources in runs: set up once per run, torn down at the end, EnvVars read at run start."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from knoll import (
    AssetExecutionContext,
    ConfigurableResource,
    DefinitionError,
    Definitions,
    EnvVar,
    EnvVarNotSetError,
    InitResourceContext,
    InMemoryIOManager,
    InvalidConfigError,
    InvalidInvocationError,
    OpExecutionContext,
    ResourceParam,
    UserCodeError,
    asset,
    define_asset_job,
    job,
    materialize_to_memory,
    op,
    resource,
)

log: list[str] = []


@pytest.fixture(autouse=True)
def reset_log() -> None:
    log.clear()


class Warehouse(ConfigurableResource):
    """A resource that records its life cycle."""

    url: str
    schema_name: str = "public"

    def setup_for_execution(self, context: InitResourceContext) -> None:
        log.append(f"setup {self.url}")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        log.append(f"teardown {self.url}")

    def query(self, table: str) -> str:
        log.append(f"query {table}")
        return f"{self.url}/{self.schema_name}.{table}"


@asset
def customers(warehouse: Warehouse) -> str:
    return warehouse.query("customers")


@asset
def orders(warehouse: Warehouse, customers: str) -> str:
    return warehouse.query("orders")


@asset
def failing(warehouse: Warehouse) -> str:
    raise RuntimeError("query timed out")


def test_configurable_resource_is_set_up_once_per_run() -> None:
    result = materialize_to_memory(
        [customers, orders], resources={"warehouse": Warehouse(url="db")}
    )

    assert result.asset_value("orders") == "db/public.orders"
    assert log == ["setup db", "query customers", "query orders", "teardown db"]


def test_each_run_sets_up_its_own_resources() -> None:
    warehouse = Warehouse(url="db")
    materialize_to_memory([customers], resources={"warehouse": warehouse})
    materialize_to_memory([customers], resources={"warehouse": warehouse})
    assert log == ["setup db", "query customers", "teardown db"] * 2


def test_teardown_happens_when_a_step_fails() -> None:
    result = materialize_to_memory(
        [failing], resources={"warehouse": Warehouse(url="db")}, raise_on_error=False
    )
    assert not result.success
    assert log == ["setup db", "teardown db"]


def test_unused_resources_are_not_set_up() -> None:
    @asset
    def standalone() -> int:
        return 1

    materialize_to_memory([standalone], resources={"warehouse": Warehouse(url="db")})
    assert log == []


# ---- EnvVar -------------------------------------------------------------------------------------


def test_env_var_is_read_when_the_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_WAREHOUSE_URL", "first")
    warehouse = Warehouse(url=EnvVar("KNOLL_TEST_WAREHOUSE_URL"))
    monkeypatch.setenv("KNOLL_TEST_WAREHOUSE_URL", "second")

    result = materialize_to_memory([customers], resources={"warehouse": warehouse})

    assert result.asset_value("customers") == "second/public.customers"
    monkeypatch.setenv("KNOLL_TEST_WAREHOUSE_URL", "third")
    result = materialize_to_memory([customers], resources={"warehouse": warehouse})
    assert result.asset_value("customers") == "third/public.customers"


def test_unset_env_var_fails_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOLL_TEST_UNSET_URL", raising=False)
    warehouse = Warehouse(url=EnvVar("KNOLL_TEST_UNSET_URL"))

    with pytest.raises(EnvVarNotSetError) as info:
        materialize_to_memory([customers], resources={"warehouse": warehouse})

    assert info.value.var_name == "KNOLL_TEST_UNSET_URL"
    assert str(info.value) == (
        "Environment variable 'KNOLL_TEST_UNSET_URL' used by resource 'warehouse', field 'url' is "
        "not set. Set KNOLL_TEST_UNSET_URL in the environment the run starts in, or give the "
        "value directly."
    )
    assert log == []

    result = materialize_to_memory(
        [customers], resources={"warehouse": warehouse}, raise_on_error=False
    )
    assert isinstance(result.run_error, EnvVarNotSetError)
    assert [e.event_type.value for e in result.all_events][-2:] == ["RUN_START", "RUN_FAILURE"]


# ---- plain objects and required_resource_keys ---------------------------------------------------


class Tally:
    """A plain Python object used as a resource."""

    def __init__(self) -> None:
        self.count = 0

    def bump(self) -> int:
        self.count += 1
        return self.count


def test_plain_objects_as_resources_for_ops() -> None:
    @op(required_resource_keys=["counter"])
    def bump(context: OpExecutionContext) -> int:
        counter: Tally = context.resources.counter
        return counter.bump()

    @job
    def bumping() -> None:
        bump()
        bump.alias("bump_again")()

    counter = Tally()
    result = bumping.execute_in_process(resources={"counter": counter})

    assert counter.count == 2
    assert sorted([result.output_for_node("bump"), result.output_for_node("bump_again")]) == [1, 2]


def test_plain_object_by_resource_param() -> None:
    @asset
    def counted(counter: ResourceParam[Tally]) -> int:
        return counter.bump()

    counter = Tally()
    materialize_to_memory([counted], resources={"counter": counter})
    assert counter.count == 1


def test_missing_resource_names_the_op_before_the_run() -> None:
    ran: list[str] = []

    @op(required_resource_keys=["counter"])
    def needs_counter(context: OpExecutionContext) -> int:
        ran.append("needs_counter")
        return 1

    @job
    def missing() -> None:
        needs_counter()

    with pytest.raises(DefinitionError) as info:
        missing.execute_in_process(resources={"countr": Tally()})
    assert str(info.value) == (
        "op 'needs_counter' requires resource 'counter', which job 'missing' does not provide. "
        "Did you mean 'countr'? Pass it: resources={'counter': ...}."
    )
    assert ran == []


def test_undeclared_resource_on_the_context_names_the_step() -> None:
    @op
    def sneaky(context: OpExecutionContext) -> Any:
        return context.resources.counter

    @job
    def undeclared() -> None:
        sneaky()

    with pytest.raises(InvalidInvocationError) as info:
        undeclared.execute_in_process(resources={"counter": Tally()})
    assert str(info.value).startswith(
        "resource 'counter' is not available to op 'sneaky'. Available: none."
    )
    assert "required_resource_keys" in str(info.value)


def test_context_resources_hold_the_declared_keys() -> None:
    @asset(required_resource_keys=["counter"])
    def declared(context: AssetExecutionContext, warehouse: Warehouse) -> list[str]:
        return sorted(context.resources)

    result = materialize_to_memory(
        [declared], resources={"counter": Tally(), "warehouse": Warehouse(url="db")}
    )
    assert result.asset_value("declared") == ["counter", "warehouse"]


# ---- config and function-style resources -------------------------------------------------------


def test_resource_fields_from_run_config() -> None:
    result = materialize_to_memory(
        [customers],
        resources={"warehouse": Warehouse.configure_at_launch(schema_name="sales")},
        run_config={"resources": {"warehouse": {"config": {"url": "launch"}}}},
    )
    assert result.asset_value("customers") == "launch/sales.customers"


def test_resource_config_errors_have_paths() -> None:
    with pytest.raises(InvalidConfigError) as info:
        materialize_to_memory(
            [customers],
            resources={"warehouse": Warehouse.configure_at_launch()},
            run_config={"resources": {"warehouse": {"config": {"url": 5, "shema_name": "x"}}}},
        )
    message = str(info.value)
    assert message.startswith("Invalid config for resource 'warehouse'")
    assert "resources:warehouse:config" in message
    assert log == []


def test_function_resource_with_teardown() -> None:
    @resource(config_schema={"name": str})
    def session(context: InitResourceContext) -> Iterator[str]:
        log.append("open")
        yield f"session:{context.resource_config['name']}"
        log.append("close")

    @asset(required_resource_keys=["session"])
    def uses_session(context: AssetExecutionContext) -> str:
        value: str = context.resources.session
        log.append("use")
        return value

    result = materialize_to_memory(
        [uses_session],
        resources={"session": session},
        run_config={"resources": {"session": {"config": {"name": "s1"}}}},
    )
    assert result.asset_value("uses_session") == "session:s1"
    assert log == ["open", "use", "close"]


def test_resource_setup_error_names_the_resource() -> None:
    @resource
    def broken_resource() -> Any:
        raise PermissionError("no credentials")

    @asset(required_resource_keys=["broken"])
    def needs_broken() -> int:
        return 1

    with pytest.raises(UserCodeError) as info:
        materialize_to_memory([needs_broken], resources={"broken": broken_resource})
    assert str(info.value) == (
        "error while initializing resource 'broken': PermissionError: no credentials"
    )
    assert isinstance(info.value.__cause__, PermissionError)


# ---- resources from Definitions -------------------------------------------------------------


def test_definitions_resources_reach_asset_jobs_and_can_be_overridden() -> None:
    defs = Definitions(
        assets=[customers, orders],
        jobs=[define_asset_job("all_assets")],
        resources={"warehouse": Warehouse(url="prod"), "io_manager": InMemoryIOManager()},
    )
    job_def = defs.get_job_def("all_assets")

    assert job_def.execute_in_process().asset_value("orders") == "prod/public.orders"
    result = job_def.execute_in_process(resources={"warehouse": Warehouse(url="test")})
    assert result.asset_value("orders") == "test/public.orders"
    assert log.count("setup prod") == 1
    assert log.count("setup test") == 1
