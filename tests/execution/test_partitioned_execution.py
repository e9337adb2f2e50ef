"""Partitioned runs: what the context says, how partitions map between assets, and errors."""

from __future__ import annotations

import pickle
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from knoll import (
    AllPartitionMapping,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    DynamicPartitionsDefinition,
    EventType,
    FilesystemIOManager,
    HourlyPartitionsDefinition,
    InMemoryIOManager,
    InvalidInvocationError,
    IOManager,
    LastPartitionMapping,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionKeyError,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    UserCodeError,
    WeeklyPartitionsDefinition,
    asset,
    define_asset_job,
    materialize,
    materialize_to_memory,
)
from knoll.defs.io_manager import InputContextLike, OutputContextLike
from knoll.execution.events import AssetPlannedData
from knoll.instance import Instance

UTC = ZoneInfo("UTC")

daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
weekly = WeeklyPartitionsDefinition(start_date="2024-01-07")
regions = StaticPartitionsDefinition(["eu", "us", "apac"])
daily_by_region = MultiPartitionsDefinition({"date": daily, "region": regions})

seen: dict[str, Any] = {}


def record(name: str, context: AssetExecutionContext) -> None:
    info: dict[str, Any] = {
        "keys": list(context.partition_keys),
        "range": context.partition_key_range,
        "single": context.has_partition_key,
    }
    if context.has_partition_key:
        info["key"] = context.partition_key
    seen[name] = info


@pytest.fixture(autouse=True)
def reset_seen() -> None:
    seen.clear()


@asset(partitions_def=daily)
def daily_sales(context: AssetExecutionContext) -> Any:
    record("daily_sales", context)
    seen["window"] = context.partition_time_window
    if context.has_partition_key:
        return f"sales {context.partition_key}"
    return {key: f"sales {key}" for key in context.partition_keys}


@asset(partitions_def=daily)
def daily_summary(daily_sales: str) -> str:
    return daily_sales.upper()


# ---- the context ----------------------------------------------------------------------------


def test_daily_partition_context() -> None:
    result = materialize_to_memory([daily_sales], partition_key="2024-01-15")

    assert seen["daily_sales"] == {
        "keys": ["2024-01-15"],
        "range": PartitionKeyRange("2024-01-15", "2024-01-15"),
        "single": True,
        "key": "2024-01-15",
    }
    assert seen["window"].start == datetime(2024, 1, 15, tzinfo=UTC)
    assert seen["window"].end == datetime(2024, 1, 16, tzinfo=UTC)
    assert result.run.tags["knoll/partition"] == "2024-01-15"
    assert result.run.partition_key == "2024-01-15"
    [event] = result.get_asset_materialization_events()
    assert event.materialization.partition == "2024-01-15"
    assert event.partition == "2024-01-15"


def test_weekly_partition_time_window() -> None:
    @asset(partitions_def=weekly)
    def weekly_sales(context: AssetExecutionContext) -> str:
        seen["window"] = context.partition_time_window
        return context.partition_key

    materialize_to_memory([weekly_sales], partition_key="2024-01-14")
    assert seen["window"].start == datetime(2024, 1, 14, tzinfo=UTC)
    assert seen["window"].end == datetime(2024, 1, 21, tzinfo=UTC)


def test_static_partitions_have_keys_but_no_time_window() -> None:
    @asset(partitions_def=regions)
    def regional(context: AssetExecutionContext) -> str:
        seen["key"] = context.partition_key
        with pytest.raises(PartitionKeyError) as info:
            _ = context.partition_time_window
        seen["error"] = str(info.value)
        return context.partition_key

    result = materialize_to_memory([regional], partition_key="us")
    assert seen["key"] == "us"
    assert seen["error"] == (
        "asset 'regional' is partitioned by static partitions 'eu', 'us', 'apac', which has no "
        "time windows; use context.partition_key instead of partition_time_window."
    )
    assert result.asset_value("regional") == "us"


def test_multi_partitions_give_a_multi_partition_key() -> None:
    @asset(partitions_def=daily_by_region)
    def regional_daily(context: AssetExecutionContext) -> str:
        key = context.partition_key
        assert isinstance(key, MultiPartitionKey)
        seen["dims"] = dict(key.keys_by_dimension)
        seen["window"] = context.partition_time_window
        return str(key)

    result = materialize_to_memory([regional_daily], partition_key="2024-01-03|eu")
    assert seen["dims"] == {"date": "2024-01-03", "region": "eu"}
    assert seen["window"].start == datetime(2024, 1, 3, tzinfo=UTC)
    assert result.run.tags["knoll/partition"] == "2024-01-03|eu"

    key = MultiPartitionKey({"region": "us", "date": "2024-01-04"})
    materialize_to_memory([regional_daily], partition_key=key)
    assert seen["dims"] == {"date": "2024-01-04", "region": "us"}


def test_unpartitioned_asset_in_a_partitioned_run_has_no_partition() -> None:
    @asset
    def lookup() -> int:
        return 1

    @asset
    def plain(context: AssetExecutionContext, lookup: int) -> bool:
        return context.has_partition_key

    result = materialize_to_memory([lookup, plain, daily_sales], partition_key="2024-01-02")
    assert result.asset_value("plain") is False
    partitions = {
        e.materialization.asset_key.to_user_string(): e.materialization.partition
        for e in result.get_asset_materialization_events()
    }
    assert partitions == {"lookup": None, "plain": None, "daily_sales": "2024-01-02"}


# ---- one run over a range -----------------------------------------------------------------


def test_one_run_over_a_partition_range(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    key_range = PartitionKeyRange("2024-01-02", "2024-01-04")

    result = materialize([daily_sales], partition_key_range=key_range, resources={"io_manager": io})

    assert seen["daily_sales"] == {
        "keys": ["2024-01-02", "2024-01-03", "2024-01-04"],
        "range": key_range,
        "single": False,
    }
    assert seen["window"].start == datetime(2024, 1, 2, tzinfo=UTC)
    assert seen["window"].end == datetime(2024, 1, 5, tzinfo=UTC)
    assert result.run.tags == {
        "knoll/asset_partition_range_start": "2024-01-02",
        "knoll/asset_partition_range_end": "2024-01-04",
    }
    partitions = [e.materialization.partition for e in result.get_asset_materialization_events()]
    assert partitions == ["2024-01-02", "2024-01-03", "2024-01-04"]
    # one planned event per partition, so storage can track each one of the range
    planned = [e.data for e in result.events_of_type(EventType.ASSET_MATERIALIZATION_PLANNED)]
    assert planned == [
        AssetPlannedData(AssetKey("daily_sales"), partition=k)
        for k in ["2024-01-02", "2024-01-03", "2024-01-04"]
    ]
    # a dict keyed by partition is stored one partition per file
    stored = {p.name: pickle.loads(p.read_bytes()) for p in (tmp_path / "daily_sales").iterdir()}
    assert stored == {k: f"sales {k}" for k in ["2024-01-02", "2024-01-03", "2024-01-04"]}


def test_partition_key_in_a_range_run_explains_itself() -> None:
    @asset(partitions_def=daily)
    def asks_for_one_key(context: AssetExecutionContext) -> str:
        return context.partition_key

    with pytest.raises(PartitionKeyError) as info:
        materialize_to_memory(
            [asks_for_one_key], partition_key_range=PartitionKeyRange("2024-01-02", "2024-01-03")
        )
    assert "use context.partition_keys or context.partition_key_range" in str(info.value)


def test_range_outside_the_definition() -> None:
    with pytest.raises(PartitionKeyError, match="2023-12-30"):
        materialize_to_memory(
            [daily_sales], partition_key_range=PartitionKeyRange("2023-12-30", "2024-01-03")
        )


def test_partition_key_and_range_together_are_refused() -> None:
    with pytest.raises(InvalidInvocationError, match="either partition_key or a partition key"):
        materialize_to_memory(
            [daily_sales],
            partition_key="2024-01-02",
            partition_key_range=PartitionKeyRange("2024-01-02", "2024-01-03"),
        )


# ---- errors ----------------------------------------------------------------------------------


def test_partition_key_outside_the_definition() -> None:
    with pytest.raises(PartitionKeyError) as info:
        materialize_to_memory([daily_sales], partition_key="2023-12-31")
    assert str(info.value) == (
        "asset 'daily_sales' has no partition '2023-12-31': it comes before the first partition "
        "'2024-01-01' of daily partitions from 2024-01-01 to 2024-02-01 (UTC)."
    )


def test_static_key_outside_the_definition() -> None:
    @asset(partitions_def=regions)
    def regional() -> int:
        return 1

    with pytest.raises(PartitionKeyError, match="asset 'regional' has no partition 'africa'"):
        materialize_to_memory([regional], partition_key="africa")


def test_partitioned_run_without_a_partition_key() -> None:
    with pytest.raises(PartitionKeyError) as info:
        materialize_to_memory([daily_sales])
    assert str(info.value) == (
        "materialize() of asset 'daily_sales' materializes partitioned assets (daily_sales) but "
        "no partition was given: pass partition_key=... (one of daily partitions from 2024-01-01 "
        "to 2024-02-01 (UTC))."
    )


def test_partitioned_job_run_without_a_partition_key() -> None:
    defs = Definitions(
        assets=[daily_sales, daily_summary],
        jobs=[define_asset_job("daily_job", selection=[daily_sales, daily_summary])],
        resources={"io_manager": InMemoryIOManager()},
    )
    job_def = defs.get_job_def("daily_job")
    with pytest.raises(PartitionKeyError, match="job 'daily_job' materializes partitioned"):
        job_def.execute_in_process()
    with pytest.raises(PartitionKeyError, match="job 'daily_job' has no partition 'yesterday'"):
        job_def.execute_in_process(partition_key="yesterday")

    result = job_def.execute_in_process(partition_key="2024-01-09")
    assert result.asset_value("daily_summary") == "SALES 2024-01-09"


def test_partition_key_for_unpartitioned_assets_is_refused() -> None:
    @asset
    def plain() -> int:
        return 1

    with pytest.raises(PartitionKeyError, match="'plain' is not partitioned, but a partition"):
        materialize_to_memory([plain], partition_key="2024-01-01")


def test_assets_with_different_partitions_in_one_run_are_refused() -> None:
    @asset(partitions_def=hourly)
    def hourly_events() -> int:
        return 1

    with pytest.raises(PartitionKeyError, match="mixes assets with different partitions"):
        materialize_to_memory([daily_sales, hourly_events], partition_key="2024-01-01")


# ---- partition mappings and IO managers --------------------------------------------------------


@asset(partitions_def=hourly)
def hourly_events(context: AssetExecutionContext) -> Any:
    return {key: len(key) for key in context.partition_keys}


@asset(
    partitions_def=daily,
    ins={"hourly_events": AssetIn(partition_mapping=TimeWindowPartitionMapping())},
)
def daily_events(hourly_events: dict[str, int]) -> list[str]:
    return sorted(hourly_events)


@asset
def all_regions(regional_totals: dict[str, int]) -> dict[str, int]:
    return regional_totals


@asset(partitions_def=regions)
def regional_totals(context: AssetExecutionContext) -> int:
    return len(context.partition_key)


def test_daily_asset_loads_its_hourly_upstream_as_a_dict(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    materialize(
        [hourly_events],
        partition_key_range=PartitionKeyRange("2024-01-02-00:00", "2024-01-02-23:00"),
        resources={"io_manager": io},
    )
    assert len(list((tmp_path / "hourly_events").iterdir())) == 24

    result = materialize(
        [hourly_events, daily_events],
        selection=[daily_events],
        partition_key="2024-01-02",
        resources={"io_manager": io},
    )

    loaded = result.asset_value("daily_events")
    assert len(loaded) == 24
    assert loaded[0] == "2024-01-02-00:00"
    assert loaded[-1] == "2024-01-02-23:00"


def test_missing_upstream_partition_is_named(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    with pytest.raises(UserCodeError) as info:
        materialize(
            [hourly_events, daily_events],
            selection=[daily_events],
            partition_key="2024-01-03",
            resources={"io_manager": io},
        )
    message = str(info.value)
    assert message.startswith(
        "asset 'daily_events': IO manager 'io_manager' failed to load input 'hourly_events' "
        "(asset 'hourly_events'): asset 'hourly_events' (partition '2024-01-03-00:00') has no "
        "stored value at "
    )
    assert message.endswith(
        "it has not been materialized with this IO manager. Materialize it first, or add it to "
        "the selection."
    )


def test_unpartitioned_asset_loads_every_upstream_partition(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    for region in ["eu", "us", "apac"]:
        materialize([regional_totals], partition_key=region, resources={"io_manager": io})

    result = materialize(
        [regional_totals, all_regions], selection=[all_regions], resources={"io_manager": io}
    )
    assert result.asset_value("all_regions") == {"eu": 2, "us": 2, "apac": 4}
    assert sorted(p.name for p in (tmp_path / "regional_totals").iterdir()) == [
        "apac",
        "eu",
        "us",
    ]


def test_same_partitions_map_one_to_one_in_one_run() -> None:
    result = materialize_to_memory([daily_sales, daily_summary], partition_key="2024-01-20")
    assert result.asset_value("daily_summary") == "SALES 2024-01-20"


class PartitionRecorder(IOManager):
    """Stores by (asset, partition) and records what the contexts said."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str | None], Any] = {}
        self.loaded: list[tuple[str, list[str]]] = []

    def handle_output(self, context: OutputContextLike, obj: Any) -> None:
        keys: list[str | None] = [*context.asset_partition_keys] or [None]
        for key in keys:
            self.values[(context.asset_key.to_user_string(), key)] = obj

    def load_input(self, context: InputContextLike) -> Any:
        keys = list(context.asset_partition_keys)
        name = context.asset_key.to_user_string()
        self.loaded.append((name, keys))
        if not context.has_asset_partitions:
            return self.values[(name, None)]
        return [self.values[(name, key)] for key in keys]


def test_io_manager_contexts_carry_the_mapped_partitions() -> None:
    @asset(partitions_def=daily)
    def source_day(context: AssetExecutionContext) -> str:
        return context.partition_key

    @asset(
        partitions_def=daily,
        ins={"source_day": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
    )
    def two_days(source_day: list[str]) -> list[str]:
        return source_day

    @asset(ins={"source_day": AssetIn(partition_mapping=LastPartitionMapping())})
    def latest(source_day: list[str]) -> list[str]:
        return source_day

    io = PartitionRecorder()
    for day in ["2024-01-04", "2024-01-05"]:
        materialize([source_day], partition_key=day, resources={"io_manager": io})

    result = materialize(
        [source_day, two_days],
        selection=[two_days],
        partition_key="2024-01-05",
        resources={"io_manager": io},
    )
    assert result.asset_value("two_days") == ["2024-01-04", "2024-01-05"]
    assert io.loaded[-1] == ("source_day", ["2024-01-04", "2024-01-05"])

    io.values[("source_day", "2024-01-31")] = "last"
    result = materialize([source_day, latest], selection=[latest], resources={"io_manager": io})
    assert io.loaded[-1] == ("source_day", ["2024-01-31"])
    assert result.asset_value("latest") == ["last"]


def test_all_partition_mapping_is_explicit_too() -> None:
    @asset(ins={"regional_totals": AssetIn(partition_mapping=AllPartitionMapping())})
    def explicit_all(regional_totals: dict[str, int]) -> int:
        return sum(regional_totals.values())

    io = InMemoryIOManager()
    for region in ["eu", "us", "apac"]:
        materialize([regional_totals], partition_key=region, resources={"io_manager": io})
    result = materialize(
        [regional_totals, explicit_all], selection=[explicit_all], resources={"io_manager": io}
    )
    assert result.asset_value("explicit_all") == 8


def test_dynamic_partitions_come_from_the_instance_store() -> None:
    customers = DynamicPartitionsDefinition(name="customers")

    @asset(partitions_def=customers)
    def invoices(context: AssetExecutionContext) -> str:
        return f"invoice for {context.partition_key}"

    store = Instance.ephemeral()
    store.add_dynamic_partitions("customers", ["acme", "globex"])
    result = materialize_to_memory([invoices], partition_key="acme", instance=store)
    assert result.asset_value("invoices") == "invoice for acme"
    with pytest.raises(PartitionKeyError, match="initech"):
        materialize_to_memory([invoices], partition_key="initech", instance=store)
