"""The asset index conformance suite: what ``EventLogStorage`` derives from the events it stores.

Partition status, per asset and partition, follows these rules (the same in every backend):

- ASSET_MATERIALIZATION_PLANNED of a partition -> IN_PROGRESS, held by that run.
- ASSET_MATERIALIZATION of a partition -> MATERIALIZED.
- STEP_FAILURE -> the partitions that step planned and its run still holds -> FAILED.
- RUN_FAILURE / RUN_CANCELED -> every partition the run still holds -> FAILED.
- RUN_SUCCESS -> a partition the run still holds (planned, never written) goes back to
  MATERIALIZED if it ever was, and to missing otherwise.
- A partition with no status is missing: it is absent from ``get_partition_status``.

"Still holds" means the partition is IN_PROGRESS because of that run: a later run's status is
never overwritten by an earlier run's end.
"""

from __future__ import annotations

from knoll import AssetKey, PartitionKeyRange
from knoll.execution.events import CODE_VERSION_TAG, EventType
from knoll.storage.base import PartitionStatus, Storage
from tests.storage.conformance.builders import (
    PLAIN_ASSETS,
    REGION_ASSETS,
    VERSIONED_ASSETS,
    check_evaluation,
    check_key,
    event,
    log,
    materialization,
    observation,
    planned,
    run_and_store,
    run_canceled,
    run_failure,
    run_success,
    started_run,
    step_failure,
)

IN_PROGRESS = PartitionStatus.IN_PROGRESS
MATERIALIZED = PartitionStatus.MATERIALIZED
FAILED = PartitionStatus.FAILED
SALES = AssetKey("sales")


class AssetIndexSuite:
    """The asset index: latest materializations, last runs, counts, observations, check
    results and partition status. Subclasses provide the ``storage`` fixture."""

    # ---- per asset -----------------------------------------------------------------------

    def test_a_later_materialization_replaces_the_latest(self, storage: Storage) -> None:
        first_run = started_run(storage)
        second_run = started_run(storage)
        first = materialization(first_run.run_id, "orders", metadata={"rows": 1})
        storage.store_events([first])
        [record] = storage.get_asset_records([AssetKey("orders")])
        assert record.asset_key == AssetKey("orders")
        assert record.last_materialization is not None
        assert record.last_materialization.event == first
        assert record.last_run_id == first_run.run_id
        assert record.materialization_count == 1
        first_id = record.last_materialization.storage_id
        second = materialization(second_run.run_id, "orders", metadata={"rows": 2})
        storage.store_events([second])
        [record] = storage.get_asset_records([AssetKey("orders")])
        assert record.last_materialization is not None
        assert record.last_materialization.event == second
        assert record.last_materialization.storage_id > first_id
        assert record.last_run_id == second_run.run_id
        assert record.materialization_count == 2

    def test_every_partition_counts_as_a_materialization(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.store_events([materialization(run.run_id, "sales", p) for p in "abcab"])
        [record] = storage.get_asset_records([SALES])
        assert record.materialization_count == 5
        assert record.last_materialization is not None
        assert record.last_materialization.event.partition == "b"

    def test_the_last_run_is_the_last_one_that_planned_the_asset(self, storage: Storage) -> None:
        done = started_run(storage)
        storage.store_events([materialization(done.run_id, "orders")])
        running = started_run(storage)
        storage.store_events([planned(running.run_id, "orders")])
        [record] = storage.get_asset_records([AssetKey("orders")])
        assert record.last_run_id == running.run_id
        assert record.last_materialization is not None
        assert record.last_materialization.event.run_id == done.run_id

    def test_observations_are_kept_apart(self, storage: Storage) -> None:
        run = started_run(storage)
        first = observation(run.run_id, "source")
        latest = observation(run.run_id, "source")
        storage.store_events([first, latest])
        [record] = storage.get_asset_records([AssetKey("source")])
        assert record.last_observation is not None
        assert record.last_observation.event == latest
        assert record.last_materialization is None
        assert record.materialization_count == 0
        assert storage.get_latest_materializations([AssetKey("source")]) == {}

    def test_latest_check_results(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.store_events(
            [
                check_evaluation(run.run_id, "orders", "not_empty", passed=False),
                check_evaluation(run.run_id, "orders", "fresh", passed=True),
            ]
        )
        storage.store_events([check_evaluation(run.run_id, "orders", "not_empty", passed=True)])
        found = storage.get_latest_check_results(
            [check_key("orders", "not_empty"), check_key("orders", "fresh"), check_key("x", "y")]
        )
        assert {k: v.passed for k, v in found.items()} == {
            check_key("orders", "not_empty"): True,
            check_key("orders", "fresh"): True,
        }
        assert found[check_key("orders", "fresh")].check_key == check_key("orders", "fresh")
        [record] = storage.get_asset_records([AssetKey("orders")])
        assert {name: e.passed for name, e in record.check_results.items()} == {
            "not_empty": True,
            "fresh": True,
        }
        storage.store_events([check_evaluation(run.run_id, "orders", "fresh", passed=False)])
        [latest] = storage.get_latest_check_results([check_key("orders", "fresh")]).values()
        assert not latest.passed

    def test_asset_records_of_given_and_of_all_assets(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.store_events(
            [
                materialization(run.run_id, "a"),
                observation(run.run_id, "b"),
                check_evaluation(run.run_id, "c", "ok", passed=True),
                planned(run.run_id, "d"),
                log(run.run_id),
            ]
        )
        every = {r.asset_key for r in storage.get_asset_records()}
        assert every == {AssetKey("a"), AssetKey("b"), AssetKey("c"), AssetKey("d")}
        some = storage.get_asset_records([AssetKey("a"), AssetKey("zzz"), AssetKey("d")])
        assert {r.asset_key for r in some} == {AssetKey("a"), AssetKey("d")}
        assert storage.get_asset_records([]) == []

    def test_a_real_run_fills_the_index(self, storage: Storage) -> None:
        result = run_and_store(storage, PLAIN_ASSETS)
        records = {r.asset_key: r for r in storage.get_asset_records()}
        assert set(records) == {AssetKey("orders"), AssetKey("order_count")}
        for record in records.values():
            assert record.last_run_id == result.run_id
            assert record.materialization_count == 1
        assert records[AssetKey("order_count")].check_results["count_positive"].passed
        again = run_and_store(storage, PLAIN_ASSETS)
        latest = storage.get_latest_materializations(list(records))
        assert {r.event.run_id for r in latest.values()} == {again.run_id}
        assert all(r.materialization_count == 2 for r in storage.get_asset_records())

    def test_data_versions_and_tags_are_kept_with_the_materialization(
        self, storage: Storage
    ) -> None:
        run_and_store(storage, VERSIONED_ASSETS[:1])
        latest = storage.get_latest_materialization(AssetKey("versioned"))
        assert latest is not None
        assert latest.event.materialization.data_version == "2024-06-01"
        assert latest.event.materialization.tags == {"source": "erp", CODE_VERSION_TAG: "c1"}
        [record] = storage.get_asset_records([AssetKey("versioned")])
        assert record.last_materialization == latest
        for region in ("south", "north"):
            run_and_store(storage, VERSIONED_ASSETS[1:], partition_key=region)
        history = storage.get_materializations(AssetKey("versioned_sales"))
        assert [(r.event.partition, r.event.materialization.data_version) for r in history] == [
            ("north", "v-north"),
            ("south", "v-south"),
        ]
        assert all(r.event.materialization.tags == {"team": "sales"} for r in history)

    def test_a_materialization_without_a_data_version_reads_back_without_one(
        self, storage: Storage
    ) -> None:
        run = started_run(storage)
        storage.store_events([materialization(run.run_id, "orders")])
        latest = storage.get_latest_materialization(AssetKey("orders"))
        assert latest is not None
        assert latest.event.materialization.data_version is None

    # ---- partition status ----------------------------------------------------------------

    def test_partition_status_transitions(self, storage: Storage) -> None:
        first = started_run(storage)
        storage.store_events(
            [planned(first.run_id, "sales", "n"), planned(first.run_id, "sales", "s")]
        )
        assert storage.get_partition_status(SALES) == {"n": IN_PROGRESS, "s": IN_PROGRESS}
        storage.store_events([materialization(first.run_id, "sales", "n")])
        assert storage.get_partition_status(SALES) == {"n": MATERIALIZED, "s": IN_PROGRESS}
        storage.store_events([step_failure(first.run_id, "sales"), run_failure(first.run_id)])
        assert storage.get_partition_status(SALES) == {"n": MATERIALIZED, "s": FAILED}
        second = started_run(storage)
        storage.store_events([planned(second.run_id, "sales", "s")])
        assert storage.get_partition_status(SALES)["s"] is IN_PROGRESS
        storage.store_events([materialization(second.run_id, "sales", "s")])
        storage.store_events([run_success(second.run_id)])
        assert storage.get_partition_status(SALES) == {"n": MATERIALIZED, "s": MATERIALIZED}

    def test_unknown_and_unpartitioned_assets_have_no_partition_status(
        self, storage: Storage
    ) -> None:
        run = started_run(storage)
        storage.store_events([planned(run.run_id, "orders"), materialization(run.run_id, "orders")])
        assert storage.get_partition_status(AssetKey("orders")) == {}
        assert storage.get_partition_status(AssetKey("never_seen")) == {}

    def test_a_step_failure_fails_only_what_that_step_planned(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.store_events(
            [
                planned(run.run_id, "sales", "n", step_key="sales"),
                planned(run.run_id, "report", "n", step_key="report"),
                planned(run.run_id, "other", "n", step_key="other"),
                materialization(run.run_id, "other", "n", step_key="other"),
            ]
        )
        storage.store_events([step_failure(run.run_id, "sales")])
        assert storage.get_partition_status(SALES) == {"n": FAILED}
        assert storage.get_partition_status(AssetKey("report")) == {"n": IN_PROGRESS}
        # the run's end fails what it still held; what it wrote stays written
        storage.store_events([run_failure(run.run_id)])
        assert storage.get_partition_status(AssetKey("report")) == {"n": FAILED}
        assert storage.get_partition_status(AssetKey("other")) == {"n": MATERIALIZED}

    def test_a_canceled_run_fails_what_it_held(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.store_events([planned(run.run_id, "sales", "n"), planned(run.run_id, "sales", "s")])
        storage.store_events([materialization(run.run_id, "sales", "s"), run_canceled(run.run_id)])
        assert storage.get_partition_status(SALES) == {"n": FAILED, "s": MATERIALIZED}

    def test_a_success_that_wrote_nothing_restores_the_partition(self, storage: Storage) -> None:
        earlier = started_run(storage)
        storage.store_events([materialization(earlier.run_id, "sales", "n")])
        run = started_run(storage)
        storage.store_events([planned(run.run_id, "sales", "n"), planned(run.run_id, "sales", "s")])
        storage.store_events([run_success(run.run_id)])
        assert storage.get_partition_status(SALES) == {"n": MATERIALIZED}

    def test_an_earlier_runs_end_leaves_a_later_runs_partition(self, storage: Storage) -> None:
        early = started_run(storage)
        late = started_run(storage)
        storage.store_events([planned(early.run_id, "sales", "n")])
        storage.store_events([planned(late.run_id, "sales", "n")])
        storage.store_events([step_failure(early.run_id, "sales"), run_failure(early.run_id)])
        assert storage.get_partition_status(SALES) == {"n": IN_PROGRESS}
        storage.store_events([materialization(late.run_id, "sales", "n")])
        storage.store_events([run_success(late.run_id)])
        assert storage.get_partition_status(SALES) == {"n": MATERIALIZED}

    def test_real_partitioned_runs(self, storage: Storage) -> None:
        for region in ["north", "west"]:
            run_and_store(storage, REGION_ASSETS, partition_key=region)
        assert storage.get_partition_status(SALES) == {"north": MATERIALIZED, "west": FAILED}
        # the report of the failed partition was skipped: its run failed, so it failed too
        assert storage.get_partition_status(AssetKey("sales_report")) == {
            "north": MATERIALIZED,
            "west": FAILED,
        }
        [record] = storage.get_asset_records([SALES])
        assert record.materialization_count == 1

    def test_a_failed_range_run_fails_every_partition_of_the_range(self, storage: Storage) -> None:
        run_and_store(
            storage, REGION_ASSETS[:1], partition_key_range=PartitionKeyRange("north", "west")
        )
        assert storage.get_partition_status(SALES) == {
            "north": FAILED,
            "south": FAILED,
            "west": FAILED,
        }

    def test_ten_thousand_partitions(self, storage: Storage) -> None:
        keys = [f"p{i:05d}" for i in range(10_000)]
        run = started_run(storage)
        for start in range(0, len(keys), 2_000):
            chunk = keys[start : start + 2_000]
            storage.store_events([planned(run.run_id, "big", k) for k in chunk])
        storage.store_events([materialization(run.run_id, "big", k) for k in keys[::2]])
        storage.store_events([step_failure(run.run_id, "big"), run_failure(run.run_id)])
        status = storage.get_partition_status(AssetKey("big"))
        assert len(status) == 10_000
        assert sum(1 for s in status.values() if s is MATERIALIZED) == 5_000
        assert all(status[k] is FAILED for k in keys[1::2])
        [record] = storage.get_asset_records([AssetKey("big")])
        assert record.materialization_count == 5_000
        [one] = storage.get_materializations(AssetKey("big"), partitions=["p04242"])
        assert one.event.partition == "p04242"

    # ---- deletion keeps the index true to the log ----------------------------------------

    def test_deleting_a_run_rebuilds_the_index_from_what_remains(self, storage: Storage) -> None:
        kept = started_run(storage)
        storage.store_events(
            [
                planned(kept.run_id, "sales", "n"),
                materialization(kept.run_id, "sales", "n"),
                run_success(kept.run_id),
            ]
        )
        gone = started_run(storage)
        storage.store_events(
            [
                materialization(gone.run_id, "sales", "n"),
                materialization(gone.run_id, "sales", "s"),
                materialization(gone.run_id, "only_gone"),
                check_evaluation(gone.run_id, "only_gone", "ok", passed=True),
                run_success(gone.run_id),
            ]
        )
        storage.delete_run(gone.run_id)
        [record] = storage.get_asset_records([SALES])
        assert record.materialization_count == 1
        assert record.last_materialization is not None
        assert record.last_materialization.event.run_id == kept.run_id
        assert record.last_run_id == kept.run_id
        assert storage.get_partition_status(SALES) == {"n": MATERIALIZED}
        assert storage.get_asset_records([AssetKey("only_gone")]) == []
        assert storage.get_latest_check_results([check_key("only_gone", "ok")]) == {}

    def test_events_without_assets_leave_the_index_alone(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.store_events(
            [log(run.run_id), event(EventType.STEP_START, run.run_id, step_key="x")]
        )
        assert storage.get_asset_records() == []
