"""Data versions and tags that outputs report end up on their asset's materialization."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetKey,
    AssetMaterialization,
    AssetOut,
    DataVersion,
    DefinitionError,
    Definitions,
    MaterializeResult,
    Output,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    materialize_to_memory,
    multi_asset,
)
from knoll._serdes import deserialize, serialize
from knoll.defs.executor import multiprocess_executor
from knoll.execution.events import CODE_VERSION_TAG, EventType
from knoll.execution.reexecution import execute_job
from knoll.execution.result import ExecuteInProcessResult
from knoll.instance import Instance


def materialization_of(result: ExecuteInProcessResult, name: str) -> AssetMaterialization:
    [event] = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == AssetKey(name)
    ]
    return event


def failure_message(result: ExecuteInProcessResult) -> str:
    [failure] = result.events_of_type(EventType.STEP_FAILURE)
    return failure.message


def test_an_output_records_its_data_version_and_tags() -> None:
    @asset(code_version="c1")
    def orders() -> Output[list[int]]:
        return Output([1, 2], data_version=DataVersion("2024-06-01"), tags={"source": "erp"})

    result = materialize_to_memory([orders])
    recorded = materialization_of(result, "orders")
    assert recorded.data_version == "2024-06-01"
    assert recorded.tags == {"source": "erp", CODE_VERSION_TAG: "c1"}


def test_a_materialize_result_records_its_data_version_and_tags() -> None:
    @asset
    def table() -> MaterializeResult:
        return MaterializeResult(data_version="abc123", tags={"team": "core"})

    recorded = materialization_of(materialize_to_memory([table]), "table")
    assert recorded.data_version == "abc123"
    assert recorded.tags == {"team": "core"}


def test_each_output_of_a_multi_asset_keeps_its_own() -> None:
    @multi_asset(outs={"first": AssetOut(), "second": AssetOut()})
    def both() -> Iterator[Output[int]]:
        yield Output(1, output_name="first", data_version=DataVersion("one"))
        yield Output(2, output_name="second", tags={"kind": "two"})

    result = materialize_to_memory([both])
    first, second = materialization_of(result, "first"), materialization_of(result, "second")
    assert (first.data_version, dict(first.tags)) == ("one", {})
    assert (second.data_version, dict(second.tags)) == (None, {"kind": "two"})


def test_every_partition_of_a_run_gets_them() -> None:
    @asset(partitions_def=StaticPartitionsDefinition(["a", "b", "c"]))
    def parts() -> MaterializeResult:
        return MaterializeResult(data_version="v", tags={"t": "x"})

    result = materialize_to_memory([parts], partition_key_range=PartitionKeyRange("a", "b"))
    recorded = [e.materialization for e in result.get_asset_materialization_events()]
    assert [(m.partition, m.data_version, dict(m.tags)) for m in recorded] == [
        ("a", "v", {"t": "x"}),
        ("b", "v", {"t": "x"}),
    ]


def test_without_them_nothing_is_added() -> None:
    @asset
    def plain() -> int:
        return 1

    recorded = materialization_of(materialize_to_memory([plain]), "plain")
    assert (recorded.data_version, dict(recorded.tags)) == (None, {})


@pytest.mark.parametrize(
    ("data_version", "shown"),
    [("", "''"), (DataVersion(""), "DataVersion(value='')"), (3, "3"), (DataVersion(7), "7")],  # type: ignore[arg-type]
)
def test_a_data_version_that_is_not_a_non_empty_string_fails_the_step(
    data_version: Any, shown: str
) -> None:
    @asset
    def orders() -> Output[int]:
        return Output(1, data_version=data_version)

    result = materialize_to_memory([orders], raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert message.startswith(
        "data version of the materialization of asset 'orders' must be a non-empty string, got "
    )
    assert shown in message
    assert "give DataVersion('...') a non-empty string that changes when the data changes" in (
        message
    )


def test_a_tag_value_that_is_not_a_string_fails_the_step() -> None:
    @asset
    def orders() -> MaterializeResult:
        return MaterializeResult(tags={"rows": 3})  # type: ignore[dict-item]

    result = materialize_to_memory([orders], raise_on_error=False)
    assert failure_message(result) == (
        "tag 'rows' of the materialization of asset 'orders' has the int value 3: tag values must "
        "be strings, for example '3'."
    )


def test_a_tag_key_that_is_not_a_string_fails_the_step() -> None:
    @asset
    def orders() -> Output[int]:
        return Output(1, tags={7: "seven"})  # type: ignore[dict-item]

    result = materialize_to_memory([orders], raise_on_error=False)
    assert failure_message(result).startswith(
        "tag key 7 of the materialization of asset 'orders' is not valid: use letters, digits"
    )


def test_tags_that_are_not_a_mapping_fail_the_step() -> None:
    @asset
    def orders() -> Output[int]:
        return Output(1, tags=["a"])  # type: ignore[arg-type]

    result = materialize_to_memory([orders], raise_on_error=False)
    assert failure_message(result) == (
        "tags of the materialization of asset 'orders' must be a dict of strings, got list."
    )


def test_knolls_own_tag_prefix_is_refused() -> None:
    @asset(code_version="c1")
    def orders() -> Output[int]:
        return Output(1, tags={CODE_VERSION_TAG: "forged"})

    result = materialize_to_memory([orders], raise_on_error=False)
    assert failure_message(result) == (
        "tag 'knoll/code_version' of the materialization of asset 'orders' starts with "
        "'knoll/', which knoll keeps for the tags it records itself: give it another prefix."
    )


def test_a_bad_data_version_on_an_asset_materialization_names_the_asset() -> None:
    with pytest.raises(DefinitionError) as raised:
        AssetMaterialization("orders", data_version=DataVersion(""))
    assert str(raised.value).startswith(
        "data version of materialization of orders must be a non-empty string, got "
        "DataVersion(value='')"
    )


def test_data_versions_compare_by_value() -> None:
    assert DataVersion("a") == DataVersion("a")
    assert DataVersion("a") != DataVersion("b")
    assert str(DataVersion("a")) == "a"


def test_they_come_back_from_worker_processes(tmp_path: Path) -> None:
    @asset
    def counted() -> MaterializeResult:
        return MaterializeResult(data_version=DataVersion(str(os.getpid())), tags={"w": "1"})

    defs = Definitions(
        assets=[counted],
        jobs=[define_asset_job("all", selection="*")],
        executor=multiprocess_executor(max_concurrent=1),
    )
    with Instance.get(tmp_path / "home") as instance:
        result = execute_job(defs.get_job_def("all"), instance)
        assert result.success
        latest = instance.get_latest_materialization(AssetKey("counted"))
        assert latest is not None
        recorded = latest.event.materialization
        assert recorded.data_version is not None
        assert recorded.data_version != str(os.getpid())  # computed in a worker
        assert recorded.tags == {"w": "1"}


def test_a_materialization_round_trips_through_json_with_its_data_version() -> None:
    written = AssetMaterialization("orders", tags={"a": "b"}, data_version=DataVersion("v9"))
    assert written.data_version == "v9"
    assert deserialize(serialize(written), AssetMaterialization) == written
