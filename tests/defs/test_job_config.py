"""A job's config=: a default run config, a RunConfig, a ConfigMapping or a PartitionedConfig."""

from __future__ import annotations

from typing import Any

import pytest

from knoll import (
    Config,
    ConfigMapping,
    DailyPartitionsDefinition,
    Definitions,
    RunConfig,
    StaticPartitionsDefinition,
    asset,
    daily_partitioned_config,
    define_asset_job,
    graph,
    job,
    op,
    static_partitioned_config,
)
from knoll.errors import DefinitionError, InvalidConfigError, InvalidInvocationError


class WarehouseLoad(Config):
    table: str
    batch_size: int = 500


@op
def load_table(config: WarehouseLoad) -> tuple[str, int]:
    return config.table, config.batch_size


@op
def load_audit(config: WarehouseLoad) -> tuple[str, int]:
    return config.table, config.batch_size


DEFAULT = {
    "ops": {
        "load_table": {"config": {"table": "orders", "batch_size": 100}},
        "load_audit": {"config": {"table": "audit"}},
    }
}


@job(config=DEFAULT)
def nightly_load() -> None:
    load_table()
    load_audit()


def test_a_dict_is_the_default_run_config() -> None:
    result = nightly_load.execute_in_process()
    assert result.output_for_node("load_table") == ("orders", 100)
    assert result.output_for_node("load_audit") == ("audit", 500)
    assert result.run.run_config == DEFAULT


def test_launch_config_replaces_the_default_entry_by_entry() -> None:
    # as in Dagster: the op given replaces its default entry whole (batch_size falls back to
    # the field default, not the job's 100); the op left out keeps the job's default
    given = {"ops": {"load_table": {"config": {"table": "refunds"}}}}
    result = nightly_load.execute_in_process(run_config=given)
    assert result.output_for_node("load_table") == ("refunds", 500)
    assert result.output_for_node("load_audit") == ("audit", 500)


def test_a_run_config_object_is_a_default_too() -> None:
    @job(config=RunConfig(ops={"load_table": WarehouseLoad(table="users", batch_size=7)}))
    def users_load() -> None:
        load_table()

    assert users_load.execute_in_process().output_for_node("load_table") == ("users", 7)
    result = users_load.execute_in_process(
        run_config=RunConfig(ops={"load_table": WarehouseLoad(table="x")})
    )
    assert result.output_for_node("load_table") == ("x", 500)


def test_to_job_takes_the_same_config() -> None:
    @graph
    def loads() -> None:
        load_table()

    loads_job = loads.to_job(
        name="loads_job", config=DEFAULT | {"ops": {"load_table": {"config": {"table": "t"}}}}
    )
    assert loads_job.execute_in_process().output_for_node("load_table") == ("t", 500)


def test_bad_default_config_is_refused_when_the_job_is_defined() -> None:
    with pytest.raises(InvalidConfigError) as raised:

        @job(config={"ops": {"load_table": {"config": {"table": "t", "batch_size": "many"}}}})
        def broken_load() -> None:
            load_table()

    assert str(raised.value) == (
        "Invalid config for the default config of job 'broken_load': 1 error\n"
        "  - at path ops:load_table:config:batch_size: expected int, got str 'many'"
    )


def test_a_default_naming_an_unknown_op_is_refused() -> None:
    with pytest.raises(InvalidConfigError) as raised:

        @job(config={"ops": {"load_tabel": {"config": {"table": "t"}}}})
        def typo_load() -> None:
            load_table()

    assert "at path ops: unknown op or asset 'load_tabel'. Did you mean 'load_table'?" in str(
        raised.value
    )


def test_a_default_may_leave_required_config_to_the_launch() -> None:
    @job(config={"ops": {"load_audit": {"config": {"table": "audit"}}}})
    def half_configured() -> None:
        load_table()
        load_audit()

    with pytest.raises(
        InvalidConfigError,
        match="at path ops:load_table: missing required config for op or asset 'load_table'",
    ):
        half_configured.execute_in_process()
    given = {"ops": {"load_table": {"config": {"table": "t"}}}}
    assert half_configured.execute_in_process(run_config=given).success


def _one_load() -> None:
    load_table()


def test_config_of_another_type_is_refused() -> None:
    with pytest.raises(DefinitionError) as raised:
        job(name="bad_job", config=["ops"])(_one_load)
    assert "got config=['ops'] (list); give a run config dict, a RunConfig" in str(raised.value)


# --- ConfigMapping -----------------------------------------------------------------------------


def _tables(outer: dict[str, Any]) -> dict[str, Any]:
    return {
        "ops": {
            "load_table": {"config": {"table": f"{outer['schema']}.orders"}},
            "load_audit": {"config": {"table": f"{outer['schema']}.audit", "batch_size": 1}},
        }
    }


schema_load = ConfigMapping(config_fn=_tables, config_schema={"schema": str})


@job(config=schema_load)
def per_schema_load() -> None:
    load_table()
    load_audit()


def test_a_config_mapping_maps_the_outer_config_the_run_supplies() -> None:
    result = per_schema_load.execute_in_process(run_config={"schema": "eu"})
    assert result.output_for_node("load_table") == ("eu.orders", 500)
    assert result.output_for_node("load_audit") == ("eu.audit", 1)


def test_outer_config_is_checked_against_the_mapping_schema() -> None:
    with pytest.raises(InvalidConfigError) as raised:
        per_schema_load.execute_in_process()
    assert str(raised.value) == (
        "Invalid config for the config mapping of job 'per_schema_load': 1 error\n"
        "  - at the root: missing required field 'schema' (str). "
        'Add it, for example: schema: "..."'
    )


def test_a_failing_config_fn_names_the_job() -> None:
    def explode(outer: Any) -> Any:
        raise KeyError("region")

    @job(config=ConfigMapping(config_fn=explode))
    def exploding() -> None:
        load_table()

    with pytest.raises(
        Exception, match="config_fn of the config mapping of job 'exploding' raised KeyError"
    ):
        exploding.execute_in_process()


def test_a_config_fn_must_return_run_config() -> None:
    @job(config=ConfigMapping(config_fn=lambda outer: "orders"))
    def wrong_return() -> None:
        load_table()

    with pytest.raises(DefinitionError, match="returned str; return a run config dict"):
        wrong_return.execute_in_process()


def test_config_mapping_needs_a_function() -> None:
    with pytest.raises(DefinitionError, match="ConfigMapping needs config_fn"):
        ConfigMapping(config_fn="nope")  # type: ignore[arg-type]


def test_a_config_mapping_cannot_be_partitioned() -> None:
    with pytest.raises(DefinitionError) as raised:
        job(name="bad_job", config=schema_load, partitions_def=StaticPartitionsDefinition(["a"]))(
            _one_load
        )
    assert "has both partitions_def and a ConfigMapping as config" in str(raised.value)


# --- PartitionedConfig -------------------------------------------------------------------------


@daily_partitioned_config(
    start_date="2024-03-01",
    tags_for_partition_fn=lambda start, end: {"weekday": start.strftime("%a")},
)
def daily_load_config(start: Any, end: Any) -> dict[str, Any]:
    return {"ops": {"load_table": {"config": {"table": f"orders_{start:%Y%m%d}"}}}}


@job(config=daily_load_config, tags={"team": "data"})
def daily_load() -> None:
    load_table()


def test_a_partitioned_config_makes_a_partitioned_op_job() -> None:
    assert daily_load.partitions_def == DailyPartitionsDefinition(start_date="2024-03-01")
    result = daily_load.execute_in_process(partition_key="2024-03-05", tags={"by": "test"})
    assert result.output_for_node("load_table") == ("orders_20240305", 500)
    assert result.run.tags == {
        "team": "data",
        "weekday": "Tue",
        "by": "test",
        "knoll/partition": "2024-03-05",
    }


def test_launch_config_replaces_the_partition_config() -> None:
    given = {"ops": {"load_table": {"config": {"table": "backfill"}}}}
    result = daily_load.execute_in_process(partition_key="2024-03-05", run_config=given)
    assert result.output_for_node("load_table") == ("backfill", 500)


def test_a_partitioned_op_job_needs_a_partition() -> None:
    with pytest.raises(InvalidInvocationError) as raised:
        daily_load.execute_in_process()
    assert str(raised.value) == (
        "job 'daily_load' takes its config from a partitioned config over daily partitions "
        "from 2024-03-01 (UTC), but no single partition was given: pass partition_key=... "
        "(knoll job execute --partition KEY), or give the run config."
    )


def test_a_partition_key_outside_the_partitions_is_refused() -> None:
    with pytest.raises(Exception, match="2024-02-01"):
        daily_load.execute_in_process(partition_key="2024-02-01")


def test_partitions_def_must_match_the_partitioned_config() -> None:
    with pytest.raises(DefinitionError) as raised:
        job(
            name="bad_job",
            config=daily_load_config,
            partitions_def=StaticPartitionsDefinition(["a"]),
        )(_one_load)
    assert "its partitioned config is over daily partitions from 2024-03-01" in str(raised.value)


@static_partitioned_config(partition_keys=["eu", "us"])
def region_config(partition_key: str) -> RunConfig:
    return RunConfig(ops={"region_total": Region(region=partition_key)})


class Region(Config):
    region: str


@asset
def region_total(config: Region) -> str:
    return f"total for {config.region}"


def test_an_asset_job_takes_a_partitioned_config() -> None:
    regions = define_asset_job("regions", [region_total], config=region_config)
    defs = Definitions(assets=[region_total], jobs=[regions])
    resolved = defs.get_job_def("regions")
    assert resolved.partitions_def == StaticPartitionsDefinition(["eu", "us"])
    result = resolved.execute_in_process(partition_key="us")
    assert result.output_for_node("region_total") == "total for us"
    assert result.run.tags["knoll/partition"] == "us"


def test_a_partitioned_job_with_a_dict_config_uses_it_for_every_partition() -> None:
    @job(config=DEFAULT, partitions_def=StaticPartitionsDefinition(["eu", "us"]))
    def regional_load() -> None:
        load_table()
        load_audit()

    result = regional_load.execute_in_process(partition_key="eu")
    assert result.output_for_node("load_table") == ("orders", 100)
    # as in Dagster, config given at launch replaces the whole default of a partitioned job
    given = {
        "ops": {
            "load_table": {"config": {"table": "t"}},
            "load_audit": {"config": {"table": "a"}},
        }
    }
    result = regional_load.execute_in_process(partition_key="us", run_config=given)
    assert result.output_for_node("load_table") == ("t", 500)
    assert result.output_for_node("load_audit") == ("a", 500)
    with pytest.raises(InvalidConfigError, match="ops:load_audit: missing required config"):
        regional_load.execute_in_process(
            partition_key="us", run_config={"ops": {"load_table": {"config": {"table": "t"}}}}
        )
