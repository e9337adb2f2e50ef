from __future__ import annotations

import json
import pickle
from datetime import datetime

import pytest

from knoll.defs.partitions import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    PartitionsDefinition,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    partition_mapping_from_snapshot,
    partitions_def_from_snapshot,
)
from knoll.errors import SerializationError

DEFINITIONS: list[PartitionsDefinition] = [
    DailyPartitionsDefinition(start_date="2024-01-01"),
    DailyPartitionsDefinition(
        start_date="2024-01-01",
        end_date="2024-06-01",
        hour_offset=3,
        minute_offset=15,
        timezone="America/New_York",
        end_offset=-1,
    ),
    HourlyPartitionsDefinition(start_date="2024-01-01-00:00", minute_offset=30),
    HourlyPartitionsDefinition(
        start_date=datetime(2024, 3, 1), timezone="Europe/Paris", fmt="%Y-%m-%dT%H:%M%z"
    ),
    WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=1),
    MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=15, end_offset=1),
    TimeWindowPartitionsDefinition(start="2024-01", fmt="%Y-%m", cron_schedule="0 0 1 * *"),
    StaticPartitionsDefinition(["b", "a", "c"]),
    DynamicPartitionsDefinition(name="customers"),
    MultiPartitionsDefinition(
        {
            "date": DailyPartitionsDefinition(start_date="2024-01-01"),
            "region": StaticPartitionsDefinition(["eu", "us"]),
        }
    ),
]


@pytest.mark.parametrize("partitions_def", DEFINITIONS, ids=lambda d: type(d).__name__)
def test_definitions_round_trip_through_json(partitions_def: PartitionsDefinition) -> None:
    snapshot = partitions_def.to_snapshot()
    text = json.dumps(snapshot)
    rebuilt = partitions_def_from_snapshot(json.loads(text))
    assert rebuilt == partitions_def
    assert type(rebuilt) is type(partitions_def)
    assert rebuilt.to_snapshot() == snapshot
    assert rebuilt.describe() == partitions_def.describe()


def test_time_snapshot_fields() -> None:
    snapshot = DailyPartitionsDefinition(
        start_date="2024-01-01", timezone="America/New_York"
    ).to_snapshot()
    assert snapshot == {
        "type": "DailyPartitionsDefinition",
        "start": "2024-01-01T00:00:00-05:00",
        "end": None,
        "timezone": "America/New_York",
        "fmt": "%Y-%m-%d",
        "cron_schedule": "0 0 * * *",
        "end_offset": 0,
    }
    assert StaticPartitionsDefinition(["a"]).to_snapshot() == {
        "type": "StaticPartitionsDefinition",
        "keys": ["a"],
    }


def test_rebuilt_time_definition_keeps_its_keys() -> None:
    original = DEFINITIONS[1]
    rebuilt = partitions_def_from_snapshot(original.to_snapshot())
    now = datetime.fromisoformat("2024-04-01T00:00:00+00:00")
    assert rebuilt.get_partition_keys(now) == original.get_partition_keys(now)


MAPPINGS: list[PartitionMapping] = [
    IdentityPartitionMapping(),
    AllPartitionMapping(),
    LastPartitionMapping(),
    TimeWindowPartitionMapping(start_offset=-2, end_offset=1),
    TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True),
    StaticPartitionMapping({"a": ["x", "y"], "b": "x"}),
    MultiToSingleDimensionPartitionMapping(),
    MultiToSingleDimensionPartitionMapping("date"),
]


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda m: type(m).__name__)
def test_mappings_round_trip_through_json(mapping: PartitionMapping) -> None:
    snapshot = mapping.to_snapshot()
    rebuilt = partition_mapping_from_snapshot(json.loads(json.dumps(snapshot)))
    assert rebuilt == mapping
    assert type(rebuilt) is type(mapping)


def test_unknown_or_broken_snapshots() -> None:
    with pytest.raises(SerializationError, match=r"unknown partitions definition type 'Yearly"):
        partitions_def_from_snapshot({"type": "YearlyPartitionsDefinition"})
    with pytest.raises(SerializationError, match=r"cannot read StaticPartitionsDefinition"):
        partitions_def_from_snapshot({"type": "StaticPartitionsDefinition"})
    with pytest.raises(SerializationError, match=r"cannot read DailyPartitionsDefinition"):
        partitions_def_from_snapshot({"type": "DailyPartitionsDefinition", "start": "nope"})
    with pytest.raises(SerializationError, match=r"must be a dict with a 'type' string"):
        partitions_def_from_snapshot({"keys": []})
    with pytest.raises(SerializationError, match=r"unknown partition mapping type 'Spooky'"):
        partition_mapping_from_snapshot({"type": "Spooky"})
    with pytest.raises(SerializationError, match=r"cannot read TimeWindowPartitionMapping"):
        partition_mapping_from_snapshot({"type": "TimeWindowPartitionMapping"})


@pytest.mark.parametrize("value", [*DEFINITIONS, *MAPPINGS], ids=lambda v: type(v).__name__)
def test_definitions_and_mappings_survive_pickling(
    value: PartitionsDefinition | PartitionMapping,
) -> None:
    # Process-pool executors may pickle user definitions; formatters must not be lambdas.
    copy = pickle.loads(pickle.dumps(value))
    assert copy == value
    assert repr(copy) == repr(value)
