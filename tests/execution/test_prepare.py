"""prepare_run refuses a bad request before a run exists; execute runs what it prepared."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knoll import ConfigurableResource, Definitions, asset, materialize
from knoll.errors import InvalidConfigError, InvalidInvocationError
from knoll.execution.executor import execute, execute_in_process, recorder_of
from knoll.execution.prepare import ExecutionRequest, prepare_run
from knoll.execution.recorder import MemoryRecorder, RunRecorder
from knoll.execution.run import PARTITION_TAG, RunStatus
from knoll.instance import Instance
from tests.cli.helpers import knoll, run_ids


class Warehouse(ConfigurableResource):
    port: int
    schema_name: str = "public"


@asset
def orders(warehouse: Warehouse) -> str:
    return f"orders on {warehouse.port}"


DEFS = Definitions(assets=[orders], resources={"warehouse": Warehouse.configure_at_launch()})
JOB = DEFS.get_implicit_asset_job()


def test_every_recorder_is_a_run_recorder(tmp_path: Path) -> None:
    with Instance.get(tmp_path / "home") as instance:
        assert isinstance(instance, RunRecorder)
    assert isinstance(MemoryRecorder(), RunRecorder)


def test_prepare_makes_a_starting_run_and_records_nothing(tmp_path: Path) -> None:
    request = ExecutionRequest(
        run_config={"resources": {"warehouse": {"config": {"port": 5432}}}},
        tags={"team": "sales"},
    )
    with Instance.get(tmp_path / "home") as instance:
        prepared = prepare_run(JOB, request, instance)
        assert prepared.run.status is RunStatus.STARTING
        assert prepared.run.tags["team"] == "sales"
        assert [s.key for s in prepared.plan.steps] == ["orders"]
        assert instance.get_runs().records == []  # nothing stored yet

        result = execute(prepared, instance, raise_on_error=True)
        assert result.success
        assert result.asset_value("orders") == "orders on 5432"
        stored = instance.find_run(prepared.run.run_id)
        assert stored is not None
        assert stored.status is RunStatus.SUCCESS


def test_a_bad_resource_config_is_refused_before_a_run_is_stored(tmp_path: Path) -> None:
    bad = {"resources": {"warehouse": {"config": {"port": "not a port", "schema": "x"}}}}
    with Instance.get(tmp_path / "home") as instance:
        with pytest.raises(InvalidConfigError) as caught:
            materialize([orders], resources=dict(DEFS.resources), run_config=bad, instance=instance)
        assert instance.get_runs().records == []
    message = str(caught.value)
    assert "resource 'warehouse'" in message
    assert "at path resources:warehouse:config:port" in message
    assert "schema_name" in message  # the fix for the unknown key "schema"


def test_a_bad_resource_config_exits_2_from_the_cli_and_stores_no_run(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        textwrap.dedent(
            """
            from knoll import ConfigurableResource, Definitions, asset

            class Warehouse(ConfigurableResource):
                port: int

            @asset
            def orders(warehouse: Warehouse) -> int:
                return warehouse.port

            defs = Definitions(
                assets=[orders], resources={"warehouse": Warehouse.configure_at_launch()}
            )
            """
        )
    )
    (tmp_path / "run.yaml").write_text("resources:\n  warehouse:\n    config:\n      port: x\n")
    done = knoll(
        "asset", "materialize", "-m", "shop", "--select", "*", "--config", "run.yaml", cwd=tmp_path
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "resources:warehouse:config:port" in done.stderr
    assert "Traceback" not in done.stderr
    assert run_ids(tmp_path) == []
    fixed = (tmp_path / "run.yaml").read_text().replace("port: x", "port: 1")
    (tmp_path / "run.yaml").write_text(fixed)
    ok = knoll(
        "asset", "materialize", "-m", "shop", "--select", "*", "--config", "run.yaml", cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert len(run_ids(tmp_path)) == 1


def test_an_instance_that_cannot_record_runs_is_refused() -> None:
    with pytest.raises(InvalidInvocationError, match=r"instance= must be a knoll Instance.*dict"):
        execute_in_process(JOB, instance={"not": "an instance"})  # type: ignore[arg-type]
    assert recorder_of(None) is None


def test_a_memory_recorder_keeps_the_run_and_its_events() -> None:
    recorder = MemoryRecorder()
    request = ExecutionRequest(run_config={"resources": {"warehouse": {"config": {"port": 1}}}})
    prepared = prepare_run(JOB, request, recorder)
    result = execute(prepared, recorder)
    assert recorder.find_run(result.run_id) == prepared.run
    kinds = {e.event_type for e in result.all_events}
    assert recorder.events_of_run(result.run_id, kinds) == list(result.all_events)


def test_a_resumed_run_is_not_started_again() -> None:
    recorder = MemoryRecorder()
    config = {"resources": {"warehouse": {"config": {"port": 1}}}}
    resumed = prepare_run(JOB, ExecutionRequest(run_config=config, resume=True), recorder)
    result = execute(resumed, recorder)
    types = [e.event_type.value for e in result.all_events]
    assert "RUN_START" not in types
    assert types[-1] == "RUN_SUCCESS"


def test_partition_tags_come_from_preparation() -> None:
    from knoll import DailyPartitionsDefinition

    @asset(partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"))
    def daily() -> int:
        return 1

    job = Definitions(assets=[daily]).get_implicit_asset_job()
    prepared = prepare_run(job, ExecutionRequest(partition_key="2024-01-02"))
    assert prepared.run.tags[PARTITION_TAG] == "2024-01-02"
    assert prepared.partition is not None
    assert prepared.partition.keys == ("2024-01-02",)
