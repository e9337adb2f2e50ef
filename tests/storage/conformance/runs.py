"""The ``RunStorage`` conformance suite."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from knoll import AssetKey
from knoll.defs.keys import AssetCheckKey
from knoll.errors import RunAlreadyStoredError, RunStatusError, StorageError
from knoll.execution.events import EventType
from knoll.execution.run import Run, RunStatus
from knoll.storage.base import RunsFilter, Storage
from tests.storage.conformance.builders import (
    JOB,
    PLAIN_ASSETS,
    event,
    log,
    make_run,
    materialization,
    run_and_store,
    run_canceled,
    run_failure,
    run_start,
    run_success,
    started_run,
)


class RunStorageSuite:
    """Runs: creation, the status state machine (direct and through events), filters, keyset
    pagination, counts, tags and deletion. Subclasses provide the ``storage`` fixture."""

    # ---- creation ------------------------------------------------------------------------

    def test_add_run_and_read_it_back(self, storage: Storage) -> None:
        run = Run(
            run_id="9f1c7c2e-0c38-4f0e-8a3e-1d2b3c4d5e6f",
            job_name="daily_job",
            tags={"team": "data", "knoll/partition": "2024-01-01"},
            run_config={"ops": {"orders": {"config": {"limit": 5, "names": ["a", "b"]}}}},
            asset_selection=frozenset({AssetKey(["raw", "orders"]), AssetKey("clean")}),
            asset_check_selection=frozenset({AssetCheckKey(AssetKey("clean"), "not_empty")}),
            parent_run_id="parent-run",
            root_run_id="root-run",
        )
        added = storage.add_run(run)
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert fetched.run == run
        assert fetched.storage_id == added.storage_id
        assert fetched.run.status is RunStatus.QUEUED
        assert fetched.create_timestamp <= fetched.update_timestamp
        assert fetched.start_time is None
        assert fetched.end_time is None

    def test_unknown_run_is_none(self, storage: Storage) -> None:
        assert storage.get_run("no-such-run") is None

    def test_storage_ids_increase(self, storage: Storage) -> None:
        ids = [storage.add_run(make_run()).storage_id for _ in range(5)]
        assert ids == sorted(ids)
        assert len(set(ids)) == 5

    def test_duplicate_run_id_is_refused_and_the_first_run_kept(self, storage: Storage) -> None:
        run = make_run(tags={"first": "yes"})
        storage.add_run(run)
        with pytest.raises(RunAlreadyStoredError, match=f"run {run.run_id} is stored already"):
            storage.add_run(make_run(run_id=run.run_id, job_name="other"))
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert fetched.run == run
        assert storage.count_runs() == 1

    def test_add_runs_stores_a_batch_in_order(self, storage: Storage) -> None:
        batch = [
            make_run(tags={"n": str(n), "team": "data"}, assets=["a", "b"]) for n in range(1200)
        ]
        records = storage.add_runs(batch)
        assert [r.run for r in records] == batch
        ids = [r.storage_id for r in records]
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)
        fetched = storage.get_run(batch[700].run_id)
        assert fetched is not None
        assert fetched.run == batch[700]
        assert fetched.storage_id == records[700].storage_id
        assert storage.count_runs(RunsFilter(tags={"n": "1199"})) == 1
        assert storage.count_runs(RunsFilter(asset_key=AssetKey("b"))) == 1200
        assert [r.run.run_id for r in storage.get_queued_runs(limit=3)] == [
            run.run_id for run in batch[:3]
        ]
        assert storage.add_runs([]) == []

    def test_add_runs_stores_nothing_when_one_run_is_stored_already(self, storage: Storage) -> None:
        stored = storage.add_run(make_run()).run
        batch = [make_run(), make_run(run_id=stored.run_id), make_run()]
        with pytest.raises(RunAlreadyStoredError, match="none of them was stored"):
            storage.add_runs(batch)
        assert storage.count_runs() == 1
        assert storage.get_run(batch[0].run_id) is None
        twice = make_run()
        with pytest.raises(RunAlreadyStoredError, match="given twice"):
            storage.add_runs([twice, twice])
        assert storage.count_runs() == 1

    # ---- the state machine ---------------------------------------------------------------

    def test_update_run_status_along_the_state_machine(self, storage: Storage) -> None:
        run = make_run()
        created = storage.add_run(run)
        starting = storage.update_run_status(run.run_id, RunStatus.STARTING)
        assert starting.run.status is RunStatus.STARTING
        assert starting.start_time is None
        started = storage.update_run_status(run.run_id, RunStatus.STARTED)
        assert started.start_time is not None
        assert started.end_time is None
        finished = storage.update_run_status(run.run_id, RunStatus.SUCCESS)
        assert finished.run.status is RunStatus.SUCCESS
        assert finished.end_time is not None
        assert finished.start_time == started.start_time
        assert created.update_timestamp <= started.update_timestamp <= finished.update_timestamp
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert fetched.run.status is RunStatus.SUCCESS
        assert fetched.storage_id == created.storage_id

    def test_canceling_then_canceled(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.update_run_status(run.run_id, RunStatus.CANCELING)
        record = storage.update_run_status(run.run_id, RunStatus.CANCELED)
        assert record.run.status is RunStatus.CANCELED
        assert record.end_time is not None

    def test_illegal_status_move_raises_and_changes_nothing(self, storage: Storage) -> None:
        run = make_run()
        storage.add_run(run)
        with pytest.raises(RunStatusError, match=f"run {run.run_id} cannot go from QUEUED to "):
            storage.update_run_status(run.run_id, RunStatus.SUCCESS)
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert fetched.run.status is RunStatus.QUEUED

    def test_finished_run_cannot_move(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.update_run_status(run.run_id, RunStatus.FAILURE)
        with pytest.raises(RunStatusError, match="it has finished"):
            storage.update_run_status(run.run_id, RunStatus.STARTED)
        with pytest.raises(RunStatusError, match="cannot go from FAILURE to FAILURE"):
            storage.update_run_status(run.run_id, RunStatus.FAILURE)

    def test_status_of_unknown_run_raises(self, storage: Storage) -> None:
        with pytest.raises(StorageError, match="run no-such-run is not in storage"):
            storage.update_run_status("no-such-run", RunStatus.STARTING)

    def test_racing_contradicting_moves_only_one_wins(self, storage: Storage) -> None:
        run = started_run(storage)
        targets = [RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED] * 4
        barrier = threading.Barrier(len(targets))

        def move(status: RunStatus) -> RunStatus | None:
            barrier.wait()
            try:
                return storage.update_run_status(run.run_id, status).run.status
            except RunStatusError:
                return None

        with ThreadPoolExecutor(len(targets)) as pool:
            outcomes = list(pool.map(move, targets))
        winners = [o for o in outcomes if o is not None]
        assert len(winners) == 1
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert fetched.run.status is winners[0]

    # ---- status through events -----------------------------------------------------------

    def test_run_events_drive_the_status(self, storage: Storage) -> None:
        run = make_run()
        storage.add_run(run)
        starting = event(EventType.RUN_STARTING, run.run_id)
        start = run_start(run.run_id)
        storage.store_events([starting, start])
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert fetched.run.status is RunStatus.STARTED
        assert fetched.start_time == start.timestamp
        assert fetched.end_time is None
        success = run_success(run.run_id)
        storage.store_events([log(run.run_id), success])
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert fetched.run.status is RunStatus.SUCCESS
        assert fetched.start_time == start.timestamp
        assert fetched.end_time == success.timestamp

    def test_failure_and_cancel_events(self, storage: Storage) -> None:
        failed = started_run(storage)
        canceled = make_run()
        storage.add_run(canceled)
        storage.store_events([run_failure(failed.run_id), run_canceled(canceled.run_id)])
        failed_record = storage.get_run(failed.run_id)
        assert failed_record is not None
        assert failed_record.run.status is RunStatus.FAILURE
        assert failed_record.end_time is not None
        canceled_record = storage.get_run(canceled.run_id)
        assert canceled_record is not None
        assert canceled_record.run.status is RunStatus.CANCELED
        assert canceled_record.end_time is not None

    def test_illegal_move_through_events_rejects_the_whole_batch(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.store_events([run_success(run.run_id)])
        before = storage.get_events_for_run(run.run_id).records
        with pytest.raises(RunStatusError, match="cannot go from SUCCESS to STARTED"):
            storage.store_events([log(run.run_id), run_start(run.run_id)])
        assert storage.get_events_for_run(run.run_id).records == before
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert fetched.run.status is RunStatus.SUCCESS

    def test_a_real_run_ends_in_its_status(self, storage: Storage) -> None:
        result = run_and_store(storage, PLAIN_ASSETS)
        fetched = storage.get_run(result.run_id)
        assert fetched is not None
        assert fetched.run == result.run
        assert fetched.start_time is not None
        assert fetched.end_time is not None

    def test_events_of_a_run_storage_does_not_know_are_kept(self, storage: Storage) -> None:
        # The event log is the source of truth: it takes events even before the run is added.
        storage.store_events([run_start("unknown-run"), run_success("unknown-run")])
        assert storage.get_run("unknown-run") is None
        assert len(storage.get_events_for_run("unknown-run").records) == 2

    # ---- filters and counts --------------------------------------------------------------

    def test_filters(self, storage: Storage) -> None:
        a = make_run(job_name="a_job", tags={"team": "data", "env": "prod"}, assets=["x"])
        b = make_run(job_name="a_job", tags={"team": "data", "env": "dev"}, assets=["x", "y"])
        c = make_run(job_name="b_job", tags={"team": "web"})
        for run in (a, b, c):
            storage.add_run(run)
        storage.update_run_status(b.run_id, RunStatus.CANCELED)

        def ids(filters: RunsFilter) -> set[str]:
            records = storage.get_runs(filters).records
            assert storage.count_runs(filters) == len(records)
            return {r.run.run_id for r in records}

        assert ids(RunsFilter(job_name="a_job")) == {a.run_id, b.run_id}
        assert ids(RunsFilter(statuses=[RunStatus.QUEUED])) == {a.run_id, c.run_id}
        both = [RunStatus.CANCELED, RunStatus.SUCCESS]
        assert ids(RunsFilter(statuses=both)) == {b.run_id}
        assert ids(RunsFilter(tags={"team": "data"})) == {a.run_id, b.run_id}
        assert ids(RunsFilter(tags={"team": "data", "env": "dev"})) == {b.run_id}
        assert ids(RunsFilter(tags={"team": "data", "env": "test"})) == set()
        assert ids(RunsFilter(asset_key=AssetKey("x"))) == {a.run_id, b.run_id}
        assert ids(RunsFilter(asset_key=AssetKey("y"))) == {b.run_id}
        assert ids(RunsFilter(run_ids=[a.run_id, c.run_id, "nope"])) == {a.run_id, c.run_id}
        assert ids(RunsFilter(job_name="a_job", statuses=[RunStatus.QUEUED])) == {a.run_id}
        assert ids(RunsFilter(job_name="nope")) == set()
        assert storage.count_runs() == 3
        assert storage.count_runs(None) == 3

    def test_time_filters(self, storage: Storage) -> None:
        for _ in range(4):
            storage.add_run(make_run())
        records = storage.get_runs().records
        stamps = sorted(r.create_timestamp for r in records)

        def ids(filters: RunsFilter) -> set[str]:
            assert storage.count_runs(filters) == len(storage.get_runs(filters).records)
            return {r.run.run_id for r in storage.get_runs(filters).records}

        everyone = {r.run.run_id for r in records}
        assert ids(RunsFilter(created_after=stamps[0] - 1)) == everyone
        assert ids(RunsFilter(created_after=stamps[-1])) == set()
        assert ids(RunsFilter(created_before=stamps[0])) == set()
        assert ids(RunsFilter(created_before=stamps[-1] + 1)) == everyone
        # bounds are exclusive: compare with what the records themselves say
        middle = stamps[1]
        after = {r.run.run_id for r in records if r.create_timestamp > middle}
        before = {r.run.run_id for r in records if r.create_timestamp < middle}
        assert ids(RunsFilter(created_after=middle)) == after
        assert ids(RunsFilter(created_before=middle)) == before

    # ---- keyset pagination ---------------------------------------------------------------

    def test_runs_come_newest_first_in_pages(self, storage: Storage) -> None:
        runs = [make_run() for _ in range(5)]
        for run in runs:
            storage.add_run(run)
        newest_first = [r.run_id for r in reversed(runs)]
        seen: list[str] = []
        cursor: str | None = None
        sizes: list[int] = []
        while True:
            page = storage.get_runs(limit=2, cursor=cursor)
            sizes.append(len(page.records))
            seen.extend(r.run.run_id for r in page.records)
            cursor = page.cursor
            if cursor is None:
                break
        assert sizes == [2, 2, 1]
        assert seen == newest_first

    def test_last_page_has_no_cursor(self, storage: Storage) -> None:
        for _ in range(4):
            storage.add_run(make_run())
        whole = storage.get_runs(limit=4)
        assert len(whole.records) == 4
        assert whole.cursor is None
        first = storage.get_runs(limit=2)
        assert first.cursor is not None
        second = storage.get_runs(limit=2, cursor=first.cursor)
        assert len(second.records) == 2
        assert second.cursor is None
        assert storage.get_runs().cursor is None
        assert storage.get_runs(limit=100).records == whole.records

    def test_pages_are_stable_when_runs_are_added_between_them(self, storage: Storage) -> None:
        old = [make_run() for _ in range(4)]
        for run in old:
            storage.add_run(run)
        first = storage.get_runs(limit=2)
        newcomer = make_run()
        storage.add_run(newcomer)
        assert first.cursor is not None
        second = storage.get_runs(limit=2, cursor=first.cursor)
        assert [r.run.run_id for r in first.records] == [old[3].run_id, old[2].run_id]
        assert [r.run.run_id for r in second.records] == [old[1].run_id, old[0].run_id]
        assert storage.get_runs(limit=1).records[0].run.run_id == newcomer.run_id

    def test_pages_with_filters(self, storage: Storage) -> None:
        tagged = []
        for i in range(6):
            run = make_run(tags={"parity": "even" if i % 2 == 0 else "odd"})
            storage.add_run(run)
            if i % 2 == 0:
                tagged.append(run.run_id)
        filters = RunsFilter(tags={"parity": "even"})
        first = storage.get_runs(filters, limit=2)
        assert first.cursor is not None
        second = storage.get_runs(filters, limit=2, cursor=first.cursor)
        assert second.cursor is None
        seen = [r.run.run_id for r in [*first.records, *second.records]]
        assert seen == list(reversed(tagged))

    def test_a_cursor_storage_did_not_return_is_refused(self, storage: Storage) -> None:
        storage.add_run(make_run())
        with pytest.raises(StorageError, match="runs cursor 'not a cursor' is not one"):
            storage.get_runs(cursor="not a cursor")
        # made-up positions no storage returns: out of any id's range, or no time at all
        for made_up in ("1.5:99999999999999999999", "nan:5", "inf:5", "-1"):
            with pytest.raises(StorageError, match="is not one this storage returned"):
                storage.get_runs(cursor=made_up)

    # ---- tags ----------------------------------------------------------------------------

    def test_add_run_tags_merges_and_overwrites(self, storage: Storage) -> None:
        run = make_run(tags={"team": "data", "env": "dev"})
        created = storage.add_run(run)
        storage.add_run_tags(run.run_id, {"env": "prod", "owner": "ana"})
        fetched = storage.get_run(run.run_id)
        assert fetched is not None
        assert dict(fetched.run.tags) == {"team": "data", "env": "prod", "owner": "ana"}
        assert fetched.update_timestamp >= created.update_timestamp
        assert storage.count_runs(RunsFilter(tags={"owner": "ana", "env": "prod"})) == 1
        assert storage.count_runs(RunsFilter(tags={"env": "dev"})) == 0

    def test_tag_and_asset_pages_are_the_same_for_common_and_rare_values(
        self, storage: Storage
    ) -> None:
        # A value most runs hold and one a few hold: SQL reads them differently (a lookup per
        # run in time order, or the index's matches sorted); the pages must not differ.
        made = [
            make_run(
                tags={"team": "most" if i % 10 else "few"},
                assets=["common"] if i % 10 else ["common", "rare"],
            )
            for i in range(60)
        ]
        for run in made:
            storage.add_runs([run])
        newest_first = [run.run_id for run in reversed(made)]

        def paged(filters: RunsFilter) -> list[str]:
            seen: list[str] = []
            cursor: str | None = None
            while True:
                page = storage.get_runs(filters, limit=4, cursor=cursor)
                seen += [r.run.run_id for r in page.records]
                cursor = page.cursor
                if cursor is None:
                    return seen

        few = [run_id for i, run_id in enumerate(newest_first) if (59 - i) % 10 == 0]
        most = [run_id for run_id in newest_first if run_id not in few]
        assert paged(RunsFilter(tags={"team": "few"})) == few
        assert paged(RunsFilter(tags={"team": "most"})) == most
        assert paged(RunsFilter(asset_key=AssetKey("rare"))) == few
        assert paged(RunsFilter(asset_key=AssetKey("common"))) == newest_first
        both = RunsFilter(tags={"team": "most"}, asset_key=AssetKey("common"))
        assert paged(both) == most
        assert storage.count_runs(RunsFilter(tags={"team": "most"})) == 54

    def test_tags_of_unknown_run_raise(self, storage: Storage) -> None:
        with pytest.raises(StorageError, match="run no-such-run is not in storage"):
            storage.add_run_tags("no-such-run", {"a": "b"})

    # ---- deletion ------------------------------------------------------------------------

    def test_delete_run_removes_it_and_its_events(self, storage: Storage) -> None:
        gone = started_run(storage)
        kept = started_run(storage)
        storage.store_events([log(gone.run_id), log(kept.run_id), run_success(gone.run_id)])
        storage.store_events([materialization(gone.run_id, "orders")])
        storage.delete_run(gone.run_id)
        assert storage.get_run(gone.run_id) is None
        assert storage.get_events_for_run(gone.run_id).records == []
        assert storage.get_materializations(AssetKey("orders")) == []
        assert [r.event.run_id for r in storage.tail_events().records] == [kept.run_id]
        assert storage.count_runs() == 1
        assert storage.get_run(kept.run_id) is not None

    def test_delete_unknown_run_does_nothing(self, storage: Storage) -> None:
        storage.add_run(make_run(job_name=JOB))
        storage.delete_run("no-such-run")
        assert storage.count_runs() == 1
