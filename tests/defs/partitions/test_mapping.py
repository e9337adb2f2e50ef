from __future__ import annotations

from datetime import UTC, datetime

import pytest

from knoll.defs.partitions import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    InMemoryDynamicPartitionsStore,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    WeeklyPartitionsDefinition,
)
from knoll.errors import DefinitionError, InvalidInvocationError, PartitionKeyError

NOW = datetime(2024, 2, 1, tzinfo=UTC)
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
HOURLY = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
STATIC = StaticPartitionsDefinition(["a", "b"])


def hours_of(day: str) -> list[str]:
    return [f"{day}-{h:02d}:00" for h in range(24)]


# -- identity -------------------------------------------------------------------------------


def test_identity_maps_equal_keys() -> None:
    mapping = IdentityPartitionMapping()
    assert mapping.get_upstream_partition_keys(["b", "a", "b"], STATIC, STATIC) == ["b", "a"]
    assert mapping.get_downstream_partition_keys(
        ["a", "z"], StaticPartitionsDefinition(["a", "z"]), STATIC
    ) == ["a"]


def test_identity_errors_for_a_missing_upstream_key() -> None:
    with pytest.raises(
        PartitionKeyError,
        match=(
            r"IdentityPartitionMapping\(\) reads upstream partitions 'b', which static "
            r"partitions 'a' do not hold \(yet\)"
        ),
    ):
        IdentityPartitionMapping().get_upstream_partition_keys(
            ["a", "b"], STATIC, StaticPartitionsDefinition(["a"])
        )


def test_identity_needs_a_partitioned_downstream() -> None:
    with pytest.raises(
        DefinitionError,
        match=(
            r"asset 'report' is not partitioned, so IdentityPartitionMapping\(\) has no "
            r"downstream partitions to map from: use AllPartitionMapping\(\) or "
            r"LastPartitionMapping\(\), or partition asset 'report'\."
        ),
    ):
        IdentityPartitionMapping().validate(None, STATIC, "asset 'report'")
    with pytest.raises(InvalidInvocationError, match="needs downstream partition keys"):
        IdentityPartitionMapping().get_upstream_partition_keys(None, None, STATIC)
    IdentityPartitionMapping().validate(STATIC, STATIC, "asset 'report'")


# -- all and last ---------------------------------------------------------------------------


def test_all_partitions() -> None:
    mapping = AllPartitionMapping()
    assert mapping.get_upstream_partition_keys(None, None, DAILY, NOW) == DAILY.get_partition_keys(
        NOW
    )
    assert mapping.get_upstream_partition_keys(["a"], STATIC, DAILY, NOW)[-1] == "2024-01-31"
    assert mapping.get_upstream_partition_keys([], STATIC, DAILY, NOW) == []
    assert mapping.get_downstream_partition_keys(["2024-01-03"], DAILY, STATIC, NOW) == ["a", "b"]
    assert mapping.get_downstream_partition_keys([], DAILY, STATIC, NOW) == []
    mapping.validate(None, DAILY, "asset 'x'")


def test_last_partition() -> None:
    mapping = LastPartitionMapping()
    assert mapping.get_upstream_partition_keys(None, None, DAILY, NOW) == ["2024-01-31"]
    assert mapping.get_upstream_partition_keys(["a"], STATIC, DAILY, datetime(2023, 1, 1)) == []
    assert mapping.get_downstream_partition_keys(["2024-01-31"], DAILY, STATIC, NOW) == ["a", "b"]
    assert mapping.get_downstream_partition_keys(["2024-01-05"], DAILY, STATIC, NOW) == []


# -- time windows ---------------------------------------------------------------------------


def test_time_window_same_cadence_is_identity() -> None:
    mapping = TimeWindowPartitionMapping()
    assert mapping.get_upstream_partition_keys(["2024-01-05"], DAILY, DAILY, NOW) == ["2024-01-05"]


def test_day_reads_its_24_hours_and_an_hour_reads_its_day() -> None:
    mapping = TimeWindowPartitionMapping()
    assert mapping.get_upstream_partition_keys(["2024-01-02"], DAILY, HOURLY, NOW) == hours_of(
        "2024-01-02"
    )
    assert mapping.get_upstream_partition_keys(
        ["2024-01-02-05:00", "2024-01-02-06:00", "2024-01-03-01:00"], HOURLY, DAILY, NOW
    ) == ["2024-01-02", "2024-01-03"]


def test_week_reads_its_days_and_month_reads_overlapping_weeks() -> None:
    weekly = WeeklyPartitionsDefinition(start_date="2024-01-07")
    now = datetime(2024, 4, 1, tzinfo=UTC)
    assert TimeWindowPartitionMapping().get_upstream_partition_keys(
        ["2024-01-07"], weekly, DAILY, now
    ) == [f"2024-01-{d:02d}" for d in range(7, 14)]
    monthly = MonthlyPartitionsDefinition(start_date="2024-01-01")
    assert TimeWindowPartitionMapping().get_upstream_partition_keys(
        ["2024-02-01"], monthly, weekly, now
    ) == ["2024-01-28", "2024-02-04", "2024-02-11", "2024-02-18", "2024-02-25"]


def test_offsets_count_downstream_partitions() -> None:
    previous_day = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    assert previous_day.get_upstream_partition_keys(["2024-01-05"], DAILY, DAILY, NOW) == [
        "2024-01-04"
    ]
    # Documented Dagster semantics: hourly upstream, daily downstream, start_offset=-1 reads
    # the 48 hours of the same and the preceding day.
    two_days = TimeWindowPartitionMapping(start_offset=-1)
    assert two_days.get_upstream_partition_keys(["2024-01-03"], DAILY, HOURLY, NOW) == (
        hours_of("2024-01-02") + hours_of("2024-01-03")
    )


def test_nonexistent_upstream_partitions_are_an_error_unless_allowed() -> None:
    # An offset stops at the upstream's first partition (as in Dagster): the first day reads
    # its own hours, and no error for the day before.
    two_days = TimeWindowPartitionMapping(start_offset=-1)
    assert two_days.get_upstream_partition_keys(["2024-01-01"], DAILY, HOURLY, NOW) == hours_of(
        "2024-01-01"
    )
    # An upstream that starts later has no partitions for the window itself: that is missing.
    later = HourlyPartitionsDefinition(start_date="2024-01-02-00:00")
    with pytest.raises(
        PartitionKeyError,
        match=(
            r"TimeWindowPartitionMapping\(start_offset=0, end_offset=0, "
            r"allow_nonexistent_upstream_partitions=False\) reads upstream partitions "
            r"'2024-01-01-00:00', '2024-01-01-01:00', .*, which hourly partitions from "
            r"2024-01-02-00:00 \(UTC\) do not hold \(yet\)"
        ),
    ):
        TimeWindowPartitionMapping().get_upstream_partition_keys(["2024-01-01"], DAILY, later, NOW)
    lenient = TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    assert lenient.get_upstream_partition_keys(["2024-01-01"], DAILY, later, NOW) == []
    midday = datetime(2024, 1, 31, 12, tzinfo=UTC)
    with pytest.raises(PartitionKeyError, match=r"'2024-01-31-12:00'"):
        TimeWindowPartitionMapping().get_upstream_partition_keys(
            ["2024-01-31"], DAILY, HOURLY, midday
        )
    lenient_now = TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    assert (
        lenient_now.get_upstream_partition_keys(["2024-01-31"], DAILY, HOURLY, midday)
        == (hours_of("2024-01-31")[:12])
    )


def test_time_window_downstream_direction() -> None:
    mapping = TimeWindowPartitionMapping()
    assert mapping.get_downstream_partition_keys(["2024-01-02-05:00"], HOURLY, DAILY, NOW) == [
        "2024-01-02"
    ]
    assert mapping.get_downstream_partition_keys(["2024-01-02"], DAILY, HOURLY, NOW) == hours_of(
        "2024-01-02"
    )
    previous_day = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    assert previous_day.get_downstream_partition_keys(["2024-01-04"], DAILY, DAILY, NOW) == [
        "2024-01-05"
    ]
    # The partition after the last one does not exist yet: nothing downstream to update.
    assert previous_day.get_downstream_partition_keys(["2024-01-31"], DAILY, DAILY, NOW) == []
    two_days = TimeWindowPartitionMapping(start_offset=-1)
    assert two_days.get_downstream_partition_keys(["2024-01-02-05:00"], HOURLY, DAILY, NOW) == [
        "2024-01-02",
        "2024-01-03",
    ]


def test_downstream_and_upstream_directions_agree() -> None:
    mapping = TimeWindowPartitionMapping(start_offset=-2, end_offset=1)
    for downstream_key in ["2024-01-10", "2024-01-11"]:
        upstream = mapping.get_upstream_partition_keys([downstream_key], DAILY, HOURLY, NOW)
        for upstream_key in upstream[::7]:
            back = mapping.get_downstream_partition_keys([upstream_key], HOURLY, DAILY, NOW)
            assert downstream_key in back


def test_time_window_mapping_rejects_other_definitions() -> None:
    with pytest.raises(
        DefinitionError,
        match=(
            r"asset 'x' uses TimeWindowPartitionMapping\(start_offset=0, end_offset=0, "
            r"allow_nonexistent_upstream_partitions=False\), which needs time partitions on "
            r"both sides, but the downstream has static partitions 'a', 'b' and the upstream has "
            r"daily partitions from 2024-01-01 \(UTC\)"
        ),
    ):
        TimeWindowPartitionMapping().validate(STATIC, DAILY, "asset 'x'")
    with pytest.raises(DefinitionError, match=r"but the downstream has no partitions and"):
        TimeWindowPartitionMapping().validate(None, DAILY, "asset 'x'")
    with pytest.raises(InvalidInvocationError, match=r"needs time partitions on both sides"):
        TimeWindowPartitionMapping().get_upstream_partition_keys(["a"], STATIC, DAILY)
    TimeWindowPartitionMapping().validate(HOURLY, DAILY, "asset 'x'")


def test_time_window_mapping_arguments() -> None:
    with pytest.raises(DefinitionError, match=r"start_offset must not be greater than end_offset"):
        TimeWindowPartitionMapping(start_offset=1)
    with pytest.raises(DefinitionError, match=r"end_offset of TimeWindowPartitionMapping must"):
        TimeWindowPartitionMapping(end_offset=0.5)  # type: ignore[arg-type]
    assert TimeWindowPartitionMapping() == TimeWindowPartitionMapping(0, 0)
    assert hash(TimeWindowPartitionMapping()) == hash(TimeWindowPartitionMapping(0, 0))
    assert TimeWindowPartitionMapping(-1) != TimeWindowPartitionMapping()
    assert TimeWindowPartitionMapping(-1).start_offset == -1


# -- static mapping -------------------------------------------------------------------------

REGIONS = StaticPartitionsDefinition(["eu-west", "eu-north", "us-east"])
AREAS = StaticPartitionsDefinition(["eu", "us", "americas"])
TABLE = StaticPartitionMapping({"eu-west": "eu", "eu-north": "eu", "us-east": ["us", "americas"]})


def test_static_mapping_goes_from_upstream_key_to_downstream_keys() -> None:
    assert TABLE.get_upstream_partition_keys(["eu"], AREAS, REGIONS) == ["eu-west", "eu-north"]
    assert TABLE.get_upstream_partition_keys(["us", "americas"], AREAS, REGIONS) == ["us-east"]
    assert TABLE.get_upstream_partition_keys(["elsewhere"], AREAS, REGIONS) == []
    assert TABLE.get_downstream_partition_keys(
        ["us-east", "eu-west"], REGIONS, StaticPartitionsDefinition(["eu", "us"])
    ) == ["us", "eu"]
    TABLE.validate(AREAS, REGIONS, "asset 'sales'")


def test_static_mapping_checks_its_keys_against_static_definitions() -> None:
    typo = StaticPartitionMapping({"eu-nrth": "eu"})
    with pytest.raises(
        DefinitionError,
        match=(
            r"asset 'sales' uses a StaticPartitionMapping with upstream keys 'eu-nrth' that "
            r"static partitions 'eu-west', 'eu-north', 'us-east' do not hold\. Did you mean "
            r"'eu-north'\? Fix the mapping's upstream keys\."
        ),
    ):
        typo.validate(AREAS, REGIONS, "asset 'sales'")
    with pytest.raises(DefinitionError, match=r"with downstream keys 'asia'"):
        StaticPartitionMapping({"eu-west": "asia"}).validate(AREAS, REGIONS, "asset 'sales'")
    with pytest.raises(DefinitionError, match=r"asset 'sales' is not partitioned"):
        TABLE.validate(None, REGIONS, "asset 'sales'")


def test_static_mapping_reports_missing_dynamic_upstream_keys() -> None:
    upstream = DynamicPartitionsDefinition(name="regions")
    store = InMemoryDynamicPartitionsStore()
    store.add_dynamic_partitions("regions", ["eu-west"])
    with pytest.raises(PartitionKeyError, match=r"reads upstream partitions 'eu-north'"):
        TABLE.get_upstream_partition_keys(["eu"], AREAS, upstream, dynamic_partitions_store=store)


def test_static_mapping_arguments_and_equality() -> None:
    with pytest.raises(DefinitionError, match=r"needs a dict from upstream key to downstream"):
        StaticPartitionMapping(["a"])  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match=r"entry 'a': 1 must map a string upstream key"):
        StaticPartitionMapping({"a": 1})  # type: ignore[dict-item]
    assert StaticPartitionMapping({"a": ["x", "y"], "b": "x"}) == StaticPartitionMapping(
        {"b": ["x"], "a": ["y", "x"]}
    )
    assert hash(StaticPartitionMapping({"a": "x"})) == hash(StaticPartitionMapping({"a": ["x"]}))
    assert StaticPartitionMapping({"a": "x"}) != StaticPartitionMapping({"a": "y"})
    assert repr(StaticPartitionMapping({"a": "x"})) == "StaticPartitionMapping({'a': 'x'})"


# -- multi to single dimension --------------------------------------------------------------

MULTI = MultiPartitionsDefinition(
    {"date": DAILY, "region": StaticPartitionsDefinition(["eu", "us"])}
)


def test_multi_downstream_reads_its_date_upstream() -> None:
    mapping = MultiToSingleDimensionPartitionMapping()
    assert mapping.get_upstream_partition_keys(
        ["2024-01-02|eu", "2024-01-02|us"], MULTI, DAILY, NOW
    ) == ["2024-01-02"]
    assert mapping.get_downstream_partition_keys(["2024-01-02"], DAILY, MULTI, NOW) == [
        "2024-01-02|eu",
        "2024-01-02|us",
    ]


def test_single_downstream_reads_every_multi_key_of_its_date() -> None:
    mapping = MultiToSingleDimensionPartitionMapping("date")
    assert mapping.get_upstream_partition_keys(["2024-01-02"], DAILY, MULTI, NOW) == [
        "2024-01-02|eu",
        "2024-01-02|us",
    ]
    assert mapping.get_downstream_partition_keys(
        ["2024-01-02|eu", "2024-01-03|us"], MULTI, DAILY, NOW
    ) == ["2024-01-02", "2024-01-03"]
    with pytest.raises(PartitionKeyError, match=r"reads upstream partitions '2024-03-01'"):
        mapping.get_upstream_partition_keys(["2024-03-01"], DAILY, MULTI, NOW)


def test_multi_to_single_by_named_dimension() -> None:
    regions = StaticPartitionsDefinition(["eu", "us"])
    mapping = MultiToSingleDimensionPartitionMapping(partition_dimension_name="region")
    assert mapping.get_upstream_partition_keys(["2024-01-02|us"], MULTI, regions, NOW) == ["us"]
    assert mapping.partition_dimension_name == "region"


def test_multi_to_single_errors() -> None:
    with pytest.raises(
        DefinitionError,
        match=(
            r"asset 'x' uses MultiToSingleDimensionPartitionMapping\(partition_dimension_name="
            r"None\), which needs one multi-partitioned side and one single-dimension side"
        ),
    ):
        MultiToSingleDimensionPartitionMapping().validate(DAILY, DAILY, "asset 'x'")
    with pytest.raises(
        DefinitionError,
        match=(
            r"without partition_dimension_name, but no dimension of multi partitions .* equal "
            r"hourly partitions .*: pass partition_dimension_name, one of 'date', 'region'\."
        ),
    ):
        MultiToSingleDimensionPartitionMapping().validate(MULTI, HOURLY, "asset 'x'")
    with pytest.raises(DefinitionError, match=r"has no dimension 'regon'.* Did you mean 'region'"):
        MultiToSingleDimensionPartitionMapping("regon").validate(MULTI, DAILY, "asset 'x'")
    with pytest.raises(InvalidInvocationError, match=r"is used, which needs one multi"):
        MultiToSingleDimensionPartitionMapping().get_upstream_partition_keys(
            ["2024-01-01"], DAILY, DAILY, NOW
        )
    with pytest.raises(DefinitionError, match=r"partition_dimension_name of MultiToSingle"):
        MultiToSingleDimensionPartitionMapping(3)  # type: ignore[arg-type]


def test_mapping_equality_and_repr() -> None:
    assert IdentityPartitionMapping() == IdentityPartitionMapping()
    assert IdentityPartitionMapping() != AllPartitionMapping()
    assert len({AllPartitionMapping(), AllPartitionMapping(), LastPartitionMapping()}) == 2
    assert MultiToSingleDimensionPartitionMapping("date") == MultiToSingleDimensionPartitionMapping(
        partition_dimension_name="date"
    )
    assert repr(AllPartitionMapping()) == "AllPartitionMapping()"
