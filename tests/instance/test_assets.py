"""The asset side of the instance: records, materializations, partition status, dynamic
partitions; and that ``import knoll.instance`` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from knoll import (
    AssetKey,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
    materialize,
)
from knoll.errors import PartitionKeyError
from knoll.instance import Instance
from knoll.storage.base import PartitionStatus

regions = StaticPartitionsDefinition(["eu", "us", "asia"])


@asset(partitions_def=regions)
def sales() -> int:
    return 1


@asset(partitions_def=regions)
def fragile(sales: int) -> int:
    raise ValueError("no data")


def test_asset_records_and_materializations(instance: Instance) -> None:
    @asset
    def counted() -> int:
        return 1

    runs = [materialize([counted], instance=instance).run_id for _ in range(3)]
    (record,) = instance.get_asset_records([AssetKey("counted")])
    assert record.materialization_count == 3
    assert record.last_run_id == runs[-1]
    history = instance.get_materializations(AssetKey("counted"), limit=2)
    assert [r.event.run_id for r in history] == [runs[2], runs[1]]
    assert [r.asset_key for r in instance.get_asset_records()] == [AssetKey("counted")]
    assert instance.get_latest_materialization(AssetKey("missing")) is None


def test_partition_status(instance: Instance) -> None:
    materialize([sales], instance=instance, partition_key="eu")
    materialize([sales, fragile], instance=instance, partition_key="us", raise_on_error=False)
    assert instance.get_partition_status(AssetKey("sales")) == {
        "eu": PartitionStatus.MATERIALIZED,
        "us": PartitionStatus.MATERIALIZED,
    }
    assert instance.get_partition_status(AssetKey("fragile")) == {"us": PartitionStatus.FAILED}
    # with the definition, every partition is there, in its order
    assert list(instance.get_partition_status(AssetKey("sales"), regions).items()) == [
        ("eu", PartitionStatus.MATERIALIZED),
        ("us", PartitionStatus.MATERIALIZED),
        ("asia", PartitionStatus.MISSING),
    ]
    filtered = instance.get_materializations(AssetKey("sales"), partitions=["eu"])
    assert [r.event.partition for r in filtered] == ["eu"]


def test_partition_status_of_a_range(instance: Instance) -> None:
    from knoll import PartitionKeyRange

    daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-06")

    @asset(partitions_def=daily)
    def days() -> int:
        return 1

    materialize(
        [days], instance=instance, partition_key_range=PartitionKeyRange("2024-01-02", "2024-01-03")
    )
    status = instance.get_partition_status(AssetKey("days"), daily)
    assert [k for k, v in status.items() if v is PartitionStatus.MATERIALIZED] == [
        "2024-01-02",
        "2024-01-03",
    ]
    assert len(status) == 5


def test_dynamic_partitions_live_in_the_instance(instance: Instance) -> None:
    customers = DynamicPartitionsDefinition("customers")

    @asset(partitions_def=customers)
    def profile() -> int:
        return 1

    with pytest.raises(PartitionKeyError, match="acme"):
        materialize([profile], instance=instance, partition_key="acme")
    instance.add_dynamic_partitions("customers", ["acme", "globex"])
    assert instance.get_dynamic_partitions("customers") == ["acme", "globex"]
    assert instance.has_dynamic_partition("customers", "acme")
    materialize([profile], instance=instance, partition_key="acme")
    assert instance.get_partition_status(AssetKey("profile"), customers) == {
        "acme": PartitionStatus.MATERIALIZED,
        "globex": PartitionStatus.MISSING,
    }
    instance.delete_dynamic_partition("customers", "globex")
    assert instance.get_dynamic_partitions("customers") == ["acme"]


def test_importing_the_instance_does_not_import_sql_libraries() -> None:
    code = (
        "import sys\n"
        "import knoll.instance\n"
        "knoll.instance.Instance.ephemeral().dispose()\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
