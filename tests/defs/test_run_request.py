from __future__ import annotations

import dataclasses

import pytest

from knoll._serdes import deserialize, serialize
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.partitions import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
)
from knoll.defs.run_config import RunConfig
from knoll.defs.run_request import RunRequest, SensorResult, SkipReason
from knoll.errors import DefinitionError


def test_defaults() -> None:
    request = RunRequest()
    assert request.run_key is None
    assert request.run_config is None
    assert request.tags == {}
    assert request.job_name is None
    assert request.asset_selection is None
    assert request.partition_key is None
    assert request.asset_check_keys is None


def test_fields_are_normalised() -> None:
    request = RunRequest(
        "key-1",
        {"ops": {"load": {"config": {"limit": 3}}}},
        tags={"team": "data"},
        job_name="etl",
        asset_selection=[AssetKey("orders"), "raw/customers"],  # type: ignore[list-item]
        partition_key="2024-01-01",
        asset_check_keys=[AssetCheckKey(AssetKey("orders"), "not_empty")],
    )
    assert request.run_key == "key-1"
    assert request.run_config == {"ops": {"load": {"config": {"limit": 3}}}}
    assert request.asset_selection == (AssetKey("orders"), AssetKey(["raw", "customers"]))
    assert request.asset_check_keys == (AssetCheckKey(AssetKey("orders"), "not_empty"),)


def test_is_immutable_and_replaceable() -> None:
    request = RunRequest(run_key="a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.run_key = "b"  # type: ignore[misc]
    changed = dataclasses.replace(request, job_name="etl", tags={"x": "1"})
    assert (changed.run_key, changed.job_name, changed.tags) == ("a", "etl", {"x": "1"})


def test_tags_are_validated() -> None:
    with pytest.raises(DefinitionError, match=r"tag 'n' of RunRequest\(run_key='k'\) has the int"):
        RunRequest(run_key="k", tags={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(DefinitionError, match="tag key 'bad key' of RunRequest is not valid"):
        RunRequest(tags={"bad key": "x"})


def test_run_config_must_be_a_dict_with_string_keys() -> None:
    with pytest.raises(DefinitionError, match="run_config of RunRequest must be a dict, got list"):
        RunRequest(run_config=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="run_config of RunRequest has the int key 1"):
        RunRequest(run_config={1: "x"})  # type: ignore[dict-item]


def test_run_config_objects_become_dicts() -> None:
    request = RunRequest(run_config=RunConfig(ops={"load": {"config": {"limit": 3}}}))
    assert request.run_config == {"ops": {"load": {"config": {"limit": 3}}}}
    assert deserialize(serialize(request), RunRequest) == request


def test_string_fields_are_checked() -> None:
    with pytest.raises(DefinitionError, match="run_key of RunRequest must be a string or None"):
        RunRequest(run_key=5)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="partition_key of RunRequest must be a string"):
        RunRequest(partition_key=20240101)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="job_name of RunRequest must be a string"):
        RunRequest(job_name=["etl"])  # type: ignore[arg-type]


def test_asset_selection_must_be_a_list() -> None:
    with pytest.raises(DefinitionError, match="asset_selection of RunRequest must be a list"):
        RunRequest(asset_selection="orders")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="asset key part '' in 'raw/'"):
        RunRequest(asset_selection=["raw/"])  # type: ignore[list-item]


def test_asset_check_keys_must_be_check_keys() -> None:
    with pytest.raises(DefinitionError, match="must hold AssetCheckKey objects, got str"):
        RunRequest(asset_check_keys=["orders:not_empty"])  # type: ignore[list-item]


def test_skip_reason() -> None:
    assert SkipReason().skip_message is None
    assert SkipReason("nothing new").skip_message == "nothing new"
    with pytest.raises(DefinitionError, match="skip_message of SkipReason must be a string"):
        SkipReason(3)  # type: ignore[arg-type]


def test_sensor_result_normalises_its_parts() -> None:
    result = SensorResult(run_requests=[RunRequest("a")], cursor="7")
    assert result.run_requests == (RunRequest("a"),)
    assert result.cursor == "7"
    assert SensorResult(skip_reason="quiet").skip_reason == SkipReason("quiet")
    add = AddDynamicPartitionsRequest("customers", ["acme"])
    delete = DeleteDynamicPartitionsRequest("customers", ["old"])
    with_partitions = SensorResult(dynamic_partitions_requests=[add, delete])
    assert with_partitions.dynamic_partitions_requests == (add, delete)
    assert deserialize(serialize(with_partitions), SensorResult) == with_partitions


def test_sensor_result_cannot_both_request_and_skip() -> None:
    with pytest.raises(DefinitionError, match="SensorResult got both run_requests and skip_reason"):
        SensorResult(run_requests=[RunRequest()], skip_reason="no")
    # An empty list of requests with a skip reason is fine.
    assert SensorResult(run_requests=[], skip_reason="no").skip_reason == SkipReason("no")


def test_sensor_result_checks_types() -> None:
    with pytest.raises(DefinitionError, match="must hold RunRequest objects, got dict"):
        SensorResult(run_requests=[{"run_key": "a"}])  # type: ignore[list-item]
    with pytest.raises(DefinitionError, match="run_requests of SensorResult must be a list"):
        SensorResult(run_requests=RunRequest())  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="skip_reason of SensorResult must be a SkipReason"):
        SensorResult(skip_reason=1)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="cursor of SensorResult must be a string"):
        SensorResult(cursor=5)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="dynamic_partitions_requests of SensorResult"):
        SensorResult(dynamic_partitions_requests="p")  # type: ignore[arg-type]
    with pytest.raises(
        DefinitionError,
        match=r"must be a list of AddDynamicPartitionsRequest / DeleteDynamicPartitionsRequest, "
        r"got \['acme'\]",
    ):
        SensorResult(dynamic_partitions_requests=["acme"])  # type: ignore[list-item]


def test_json_round_trip_keeps_run_config_as_written() -> None:
    request = RunRequest(
        run_key="k",
        run_config={"ops": {"a": {"config": {"items": [1, 2], "nested": {"x": None}}}}},
        tags={"team": "data"},
        job_name="etl",
        asset_selection=[AssetKey(["raw", "orders"])],
        partition_key="p",
        asset_check_keys=[AssetCheckKey(AssetKey("orders"), "fresh")],
    )
    back = deserialize(serialize(request), RunRequest)
    assert back == request
    assert back.run_config is not None
    assert back.run_config["ops"]["a"]["config"]["items"] == [1, 2]  # a list, not a tuple
    result = SensorResult(run_requests=[request], cursor="c")
    assert deserialize(serialize(result), SensorResult) == result
    skipped = SensorResult(skip_reason="nothing")
    assert deserialize(serialize(skipped), SensorResult) == skipped
    assert deserialize(serialize(SkipReason("x")), SkipReason) == SkipReason("x")
