"""AssetRecordsFilter's bounds on every backend (PostgreSQL when KNOLL_TEST_POSTGRES_URL is
set): timestamps and storage ids are exclusive, as in Dagster, and combine with the cursor,
the limit and the direction of a read."""

from __future__ import annotations

import pytest

from knoll import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetRecordsFilter,
    DailyPartitionsDefinition,
    InvalidInvocationError,
    asset,
    materialize,
)
from knoll.instance import Instance
from knoll.instance.event_log import EventLogRecord

DAYS = DailyPartitionsDefinition(start_date="2024-03-01")
KEY = AssetKey("meter_readings")


@asset(partitions_def=DAYS)
def meter_readings(context: AssetExecutionContext) -> int:
    context.log_event(AssetObservation(asset_key="meter_feed", partition=context.partition_key))
    return 1


def _five_days(instance: Instance) -> list[EventLogRecord]:
    for day in range(1, 6):
        materialize([meter_readings], instance=instance, partition_key=f"2024-03-0{day}")
    records = list(instance.fetch_materializations(KEY, limit=10, ascending=True).records)
    stamps = [r.timestamp for r in records]
    assert stamps == sorted(set(stamps))  # distinct, so that each bound picks one record
    return records


def _days(records: object) -> list[str | None]:
    return [r.partition_key for r in getattr(records, "records")]  # noqa: B009


def test_timestamp_bounds_are_exclusive_both_ways(instance: Instance) -> None:
    made = _five_days(instance)
    between = AssetRecordsFilter(
        KEY, after_timestamp=made[1].timestamp, before_timestamp=made[3].timestamp
    )
    assert _days(instance.fetch_materializations(between, limit=10)) == ["2024-03-03"]
    assert _days(instance.fetch_materializations(between, limit=10, ascending=True)) == [
        "2024-03-03"
    ]
    since = AssetRecordsFilter(KEY, after_timestamp=made[2].timestamp)
    assert _days(instance.fetch_materializations(since, limit=10)) == ["2024-03-05", "2024-03-04"]
    until = AssetRecordsFilter(KEY, before_timestamp=made[2].timestamp)
    assert _days(instance.fetch_materializations(until, limit=10, ascending=True)) == [
        "2024-03-01",
        "2024-03-02",
    ]
    # a zero timestamp bounds nothing, as in Dagster
    zero = AssetRecordsFilter(KEY, after_timestamp=0.0, before_timestamp=0)
    assert len(instance.fetch_materializations(zero, limit=10).records) == 5


def test_storage_id_bounds_are_exclusive_and_meet_the_cursor(instance: Instance) -> None:
    made = _five_days(instance)
    ids = [r.storage_id for r in made]
    window = AssetRecordsFilter(KEY, after_storage_id=ids[0], before_storage_id=ids[4])
    newest = instance.fetch_materializations(window, limit=2)
    assert _days(newest) == ["2024-03-04", "2024-03-03"]
    assert newest.has_more
    rest = instance.fetch_materializations(window, limit=2, cursor=newest.cursor)
    assert _days(rest) == ["2024-03-02"]
    assert not rest.has_more
    oldest = instance.fetch_materializations(window, limit=2, ascending=True)
    assert _days(oldest) == ["2024-03-02", "2024-03-03"]
    tail = instance.fetch_materializations(window, limit=2, cursor=oldest.cursor, ascending=True)
    assert _days(tail) == ["2024-03-04"]
    # nothing left: the cursor stays where it was
    idle = instance.fetch_materializations(window, limit=2, cursor=tail.cursor, ascending=True)
    assert (idle.records, idle.cursor, idle.has_more) == ([], tail.cursor, False)
    # a cursor beyond a bound: the tighter of the two wins
    past = instance.fetch_materializations(window, limit=5, cursor=str(ids[4] + 100))
    assert _days(past) == ["2024-03-04", "2024-03-03", "2024-03-02"]
    early = AssetRecordsFilter(KEY, after_storage_id=ids[2])
    ahead = instance.fetch_materializations(early, limit=5, cursor=str(ids[0]), ascending=True)
    assert _days(ahead) == ["2024-03-04", "2024-03-05"]


def test_bounds_combine_with_partitions_storage_ids_and_each_other(instance: Instance) -> None:
    made = _five_days(instance)
    ids = [r.storage_id for r in made]
    both = AssetRecordsFilter(
        KEY,
        asset_partitions=["2024-03-02", "2024-03-04", "2024-03-05"],
        after_timestamp=made[0].timestamp,
        before_storage_id=ids[4],
    )
    assert _days(instance.fetch_materializations(both, limit=10)) == ["2024-03-04", "2024-03-02"]
    picked = AssetRecordsFilter(KEY, storage_ids=[ids[4], ids[1], ids[3]])
    assert _days(instance.fetch_materializations(picked, limit=2, ascending=True)) == [
        "2024-03-02",
        "2024-03-04",
    ]
    narrowed = AssetRecordsFilter(
        KEY, storage_ids=[ids[4], ids[1], ids[3]], after_timestamp=made[1].timestamp
    )
    assert _days(instance.fetch_materializations(narrowed, limit=10)) == [
        "2024-03-05",
        "2024-03-04",
    ]
    assert (
        instance.fetch_materializations(AssetRecordsFilter(KEY, storage_ids=[]), limit=3).records
        == []
    )


def test_observations_take_the_same_bounds(instance: Instance) -> None:
    _five_days(instance)
    seen = list(instance.fetch_observations(AssetKey("meter_feed"), limit=10).records)
    assert [r.partition_key for r in seen][:2] == ["2024-03-05", "2024-03-04"]
    middle = AssetRecordsFilter(
        "meter_feed", after_timestamp=seen[4].timestamp, before_storage_id=seen[0].storage_id
    )
    page = instance.fetch_observations(middle, limit=2, ascending=True)
    assert _days(page) == ["2024-03-02", "2024-03-03"]
    assert page.has_more
    last = instance.fetch_observations(middle, limit=2, cursor=page.cursor, ascending=True)
    assert _days(last) == ["2024-03-04"]


def test_bad_bounds_are_explained() -> None:
    with pytest.raises(InvalidInvocationError) as info:
        AssetRecordsFilter(KEY, after_timestamp="yesterday")  # type: ignore[arg-type]
    assert str(info.value) == (
        "AssetRecordsFilter for meter_readings: after_timestamp must be a Unix timestamp in "
        "seconds or None, got str 'yesterday'."
    )
    with pytest.raises(InvalidInvocationError, match="before_storage_id must be a storage id"):
        AssetRecordsFilter(KEY, before_storage_id=2.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInvocationError, match="storage_ids must be a list of ints"):
        AssetRecordsFilter(KEY, storage_ids=[1, "2"])  # type: ignore[list-item]
