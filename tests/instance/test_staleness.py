"""Staleness: never materialized, code version changed, upstream materialized after it,
upstream reported a new data version."""

from __future__ import annotations

from knoll import (
    AssetKey,
    AssetOut,
    AssetsDefinition,
    AssetSpec,
    DailyPartitionsDefinition,
    DataVersion,
    Definitions,
    MaterializeResult,
    Output,
    StaticPartitionsDefinition,
    asset,
    materialize,
    multi_asset,
)
from knoll.execution.events import CODE_VERSION_TAG
from knoll.instance import Instance


@asset(code_version="v1")
def raw() -> int:
    return 1


@asset(code_version="v1")
def cleaned(raw: int) -> int:
    return raw + 1


@asset
def report(cleaned: int) -> str:
    return str(cleaned)


def stale(instance: Instance, *assets: AssetsDefinition | AssetSpec) -> dict[str, list[str]]:
    defs = Definitions(assets=list(assets))
    return {k.to_user_string(): list(v) for k, v in instance.get_stale_assets(defs).items()}


def test_assets_never_materialized_are_stale(instance: Instance) -> None:
    assert stale(instance, raw, cleaned, report) == {
        "raw": ["never materialized"],
        "cleaned": ["never materialized"],
        "report": ["never materialized"],
    }


def test_freshly_materialized_assets_are_not_stale(instance: Instance) -> None:
    materialize([raw, cleaned, report], instance=instance)
    assert stale(instance, raw, cleaned, report) == {}


def test_materializations_record_the_code_version(instance: Instance) -> None:
    materialize([raw, cleaned], instance=instance, selection=["raw"])
    latest = instance.get_latest_materialization(AssetKey("raw"))
    assert latest is not None
    assert latest.event.materialization.tags == {CODE_VERSION_TAG: "v1"}


def test_a_changed_code_version_makes_an_asset_stale(instance: Instance) -> None:
    materialize([raw, cleaned, report], instance=instance)

    @asset(key="cleaned", code_version="v2")
    def cleaned_v2(raw: int) -> int:
        return raw + 2

    @asset(key="raw")
    def raw_without_version() -> int:
        return 1

    assert stale(instance, raw_without_version, cleaned_v2, report) == {
        "raw": ["code version changed from 'v1' to none"],
        "cleaned": ["code version changed from 'v1' to 'v2'"],
    }


def test_an_upstream_materialized_later_makes_its_downstream_stale(instance: Instance) -> None:
    materialize([raw, cleaned, report], instance=instance)
    later = materialize([raw, cleaned, report], instance=instance, selection=["raw"])
    assert stale(instance, raw, cleaned, report) == {
        "cleaned": [f"upstream 'raw' was materialized after it (run {later.run_id[:8]})"],
    }
    # materializing it again catches up, and moves the staleness down the graph
    again = materialize([raw, cleaned, report], instance=instance, selection=["cleaned"])
    assert stale(instance, raw, cleaned, report) == {
        "report": [f"upstream 'cleaned' was materialized after it (run {again.run_id[:8]})"],
    }


def test_all_reasons_are_given(instance: Instance) -> None:
    materialize([raw, cleaned], instance=instance)
    materialize([raw, cleaned], instance=instance, selection=["raw"])

    @asset(key="cleaned", code_version="v3")
    def cleaned_v3(raw: int) -> int:
        return raw

    reasons = stale(instance, raw, cleaned_v3)["cleaned"]
    assert reasons[0] == "code version changed from 'v1' to 'v3'"
    assert reasons[1].startswith("upstream 'raw' was materialized after it (run ")


def test_external_assets_are_never_stale(instance: Instance) -> None:
    source = AssetSpec("source")

    @asset(deps=[source])
    def from_source() -> int:
        return 1

    assert stale(instance, source, from_source) == {"from_source": ["never materialized"]}


def test_assets_of_one_multi_asset_run_are_not_stale_from_each_other(instance: Instance) -> None:
    @multi_asset(outs={"first": AssetOut(), "second": AssetOut()})
    def both() -> tuple[int, int]:
        return 1, 2

    @asset
    def after(first: int, second: int) -> int:
        return first + second

    materialize([both, after], instance=instance)
    assert stale(instance, both, after) == {}


def test_partitioned_assets_compare_each_partition_with_the_one_it_read(
    instance: Instance,
) -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")

    @asset(partitions_def=daily)
    def events() -> int:
        return 1

    @asset(partitions_def=daily)
    def summary(events: int) -> int:
        return events

    materialize([events, summary], instance=instance, partition_key="2024-01-01")
    assert stale(instance, events, summary) == {}
    # another partition of the upstream is not one that summary's 2024-01-01 read
    materialize(
        [events, summary], instance=instance, partition_key="2024-01-02", selection=["events"]
    )
    assert stale(instance, events, summary) == {}
    later = materialize(
        [events, summary], instance=instance, partition_key="2024-01-01", selection=["events"]
    )
    assert stale(instance, events, summary) == {
        "summary": [
            "partition '2024-01-01': upstream 'events' partition '2024-01-01' was materialized "
            f"after it (run {later.run_id[:8]})"
        ],
    }


# ---- data versions ------------------------------------------------------------------------


def versioned_source(version: str) -> AssetsDefinition:
    """An asset ``source`` whose materializations report ``version`` as their data version."""

    @asset(key="source")
    def source() -> Output[int]:
        return Output(1, data_version=DataVersion(version))

    return source


@asset
def derived(source: int) -> int:
    return source + 1


def test_the_same_data_version_again_leaves_downstream_fresh(instance: Instance) -> None:
    materialize([versioned_source("v1"), derived], instance=instance)
    materialize([versioned_source("v1")], instance=instance)
    assert stale(instance, versioned_source("v1"), derived) == {}


def test_a_new_data_version_makes_downstream_stale(instance: Instance) -> None:
    materialize([versioned_source("v1"), derived], instance=instance)
    materialize([versioned_source("v2")], instance=instance)
    assert stale(instance, versioned_source("v2"), derived) == {
        "derived": ["upstream 'source' has a new data version ('v2', was 'v1')"],
    }
    # materializing it again reads the new version; a later return to 'v1' is a change too
    materialize([versioned_source("v2"), derived], instance=instance, selection=["derived"])
    assert stale(instance, versioned_source("v2"), derived) == {}
    materialize([versioned_source("v1")], instance=instance)
    assert stale(instance, versioned_source("v1"), derived) == {
        "derived": ["upstream 'source' has a new data version ('v1', was 'v2')"],
    }


def test_what_matters_is_the_version_downstream_read(instance: Instance) -> None:
    materialize([versioned_source("v1"), derived], instance=instance)
    materialize([versioned_source("v2")], instance=instance)
    materialize([versioned_source("v1")], instance=instance)
    assert stale(instance, versioned_source("v1"), derived) == {}


def test_a_first_data_version_after_none_is_a_change(instance: Instance) -> None:
    @asset(key="source")
    def unversioned() -> int:
        return 1

    materialize([unversioned, derived], instance=instance)
    materialize([versioned_source("v1")], instance=instance)
    assert stale(instance, versioned_source("v1"), derived) == {
        "derived": ["upstream 'source' has a new data version ('v1', was none)"],
    }


def test_without_a_data_version_a_new_materialization_is_a_change(instance: Instance) -> None:
    @asset(key="source")
    def unversioned() -> int:
        return 1

    materialize([versioned_source("v1"), derived], instance=instance)
    later = materialize([unversioned], instance=instance)
    assert stale(instance, unversioned, derived) == {
        "derived": [f"upstream 'source' was materialized after it (run {later.run_id[:8]})"],
    }


def test_a_materialize_result_data_version_counts_too(instance: Instance) -> None:
    def table(version: str) -> AssetsDefinition:
        @asset(key="source")
        def written_elsewhere() -> MaterializeResult:
            return MaterializeResult(data_version=version)

        return written_elsewhere

    @asset(deps=["source"])
    def summary() -> int:
        return 1

    materialize([table("a"), summary], instance=instance)
    materialize([table("a")], instance=instance)
    assert stale(instance, table("a"), summary) == {}
    materialize([table("b")], instance=instance)
    assert stale(instance, table("b"), summary) == {
        "summary": ["upstream 'source' has a new data version ('b', was 'a')"],
    }


def test_partitions_compare_the_version_of_the_same_partition(instance: Instance) -> None:
    regions = StaticPartitionsDefinition(["north", "south"])

    def counts(version: str) -> AssetsDefinition:
        @asset(key="counts", partitions_def=regions)
        def counts_by_region() -> MaterializeResult:
            return MaterializeResult(data_version=version)

        return counts_by_region

    @asset(partitions_def=regions, deps=["counts"])
    def report() -> int:
        return 1

    materialize([counts("v1"), report], instance=instance, partition_key="north")
    materialize([counts("v1")], instance=instance, partition_key="north")
    assert stale(instance, counts("v1"), report) == {}
    # 'south' of counts is not what report's 'north' read
    materialize([counts("v2")], instance=instance, partition_key="south")
    assert stale(instance, counts("v2"), report) == {}
    materialize([counts("v2")], instance=instance, partition_key="north")
    assert stale(instance, counts("v2"), report) == {
        "report": [
            "partition 'north': upstream 'counts' partition 'north' has a new data version "
            "('v2', was 'v1')"
        ],
    }
