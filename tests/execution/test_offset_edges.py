"""Offsets before the first partition: the downstream partition runs with none (as Dagster)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetDep,
    AssetIn,
    DailyPartitionsDefinition,
    FilesystemIOManager,
    IOManager,
    TimeWindowPartitionMapping,
    asset,
    materialize,
)
from knoll.errors import PartitionKeyError

DAILY = DailyPartitionsDefinition(start_date="2024-03-01", end_date="2024-03-10")
LATER = DailyPartitionsDefinition(start_date="2024-03-04", end_date="2024-03-10")
PREVIOUS_DAY = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


@asset(partitions_def=DAILY)
def page_views() -> int:
    return 1200


@asset(partitions_def=DAILY, ins={"page_views": AssetIn(partition_mapping=PREVIOUS_DAY)})
def views_delta(page_views: int | None) -> int:
    return -1 if page_views is None else page_views


@asset(
    partitions_def=DAILY,
    deps=[AssetDep(page_views, partition_mapping=TimeWindowPartitionMapping(start_offset=-2))],
)
def three_day_report() -> None:
    pass


def test_the_first_partition_reads_no_upstream_partition(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    result = materialize(
        [page_views, views_delta], partition_key="2024-03-01", resources={"io_manager": io}
    )
    assert result.success
    assert result.output_for_node("views_delta") == -1
    later = materialize(
        [page_views, views_delta], partition_key="2024-03-02", resources={"io_manager": io}
    )
    assert later.output_for_node("views_delta") == 1200


class CountingIOManager(IOManager):
    def __init__(self) -> None:
        self.loaded: list[list[str]] = []

    def handle_output(self, context: Any, obj: Any) -> None:
        pass

    def load_input(self, context: Any) -> Any:
        self.loaded.append(list(context.asset_partition_keys))
        return None


def test_a_custom_io_manager_sees_no_partition_keys() -> None:
    manager = CountingIOManager()
    result = materialize(
        [page_views, views_delta], partition_key="2024-03-01", resources={"io_manager": manager}
    )
    assert result.success
    assert manager.loaded == [[]]


def test_a_wider_window_is_cut_at_the_first_partition() -> None:
    assert materialize([page_views, three_day_report], partition_key="2024-03-01").success
    mapping = TimeWindowPartitionMapping(start_offset=-2)
    assert mapping.get_upstream_partition_keys(["2024-03-02"], DAILY, DAILY) == [
        "2024-03-01",
        "2024-03-02",
    ]


def test_an_upstream_that_starts_later_is_still_missing_unless_allowed() -> None:
    same_day = TimeWindowPartitionMapping()
    with pytest.raises(PartitionKeyError, match=r"reads upstream partitions '2024-03-02'"):
        same_day.get_upstream_partition_keys(["2024-03-02"], DAILY, LATER)
    lenient = TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    assert lenient.get_upstream_partition_keys(["2024-03-02"], DAILY, LATER) == []
    assert PREVIOUS_DAY.get_upstream_partition_keys(["2024-03-04"], DAILY, LATER) == []
    assert PREVIOUS_DAY.get_upstream_partition_keys(["2024-03-05"], DAILY, LATER) == ["2024-03-04"]
