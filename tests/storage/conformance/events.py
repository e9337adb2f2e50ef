"""The ``EventLogStorage`` conformance suite: the log itself, its cursors, and pruning."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from knoll import AssetKey, AssetMaterialization, MetadataValue
from knoll.defs.metadata import MAX_METADATA_VALUE_BYTES, TextMetadataValue
from knoll.execution.events import EventType, RunEvent
from knoll.execution.run import RunStatus
from knoll.storage.base import EventRecord, PartitionStatus, Storage
from tests.storage.conformance.builders import (
    PLAIN_ASSETS,
    check_evaluation,
    check_key,
    event,
    log,
    materialization,
    observation,
    planned,
    run_and_store,
    run_success,
    started_run,
    step_failure,
)


def _events(records: Sequence[EventRecord]) -> list[RunEvent]:
    return [r.event for r in records]


class EventLogStorageSuite:
    """Appending events, reading a run's events and the whole log from a cursor, reading
    materializations, and pruning. Subclasses provide the ``storage`` fixture."""

    # ---- appending and reading a run -----------------------------------------------------

    def test_a_run_reads_back_its_events_in_order(self, storage: Storage) -> None:
        run = started_run(storage)
        events = [
            log(run.run_id, "one"),
            event(EventType.STEP_START, run.run_id, step_key="orders"),
            materialization(run.run_id, "orders", metadata={"rows": 10, "path": "/tmp/o"}),
            event(EventType.STEP_SUCCESS, run.run_id, step_key="orders"),
            run_success(run.run_id),
        ]
        storage.store_events(events)
        page = storage.get_events_for_run(run.run_id)
        assert _events(page.records) == events
        ids = [r.storage_id for r in page.records]
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)
        assert page.cursor == ids[-1]
        assert not page.has_more

    def test_a_real_runs_events_round_trip(self, storage: Storage) -> None:
        result = run_and_store(storage, PLAIN_ASSETS)
        stored = storage.get_events_for_run(result.run_id).records
        assert _events(stored) == result.all_events

    def test_an_empty_batch_stores_nothing(self, storage: Storage) -> None:
        storage.store_events([])
        page = storage.tail_events()
        assert list(page.records) == []
        assert page.cursor == 0
        assert not page.has_more

    def test_storage_ids_increase_across_batches_and_runs(self, storage: Storage) -> None:
        a = started_run(storage)
        b = started_run(storage)
        batches = [
            [log(a.run_id, "a1"), log(b.run_id, "b1")],
            [log(b.run_id, "b2")],
            [log(a.run_id, "a2"), log(a.run_id, "a3"), log(b.run_id, "b3")],
        ]
        for batch in batches:
            storage.store_events(batch)
        everything = storage.tail_events().records
        assert [r.event.message for r in everything] == ["a1", "b1", "b2", "a2", "a3", "b3"]
        ids = [r.storage_id for r in everything]
        assert ids == sorted(ids)
        assert len(set(ids)) == 6
        only_a = storage.get_events_for_run(a.run_id).records
        assert [r.event.message for r in only_a] == ["a1", "a2", "a3"]
        assert {r.storage_id for r in only_a} <= set(ids)

    def test_a_run_is_read_in_pages_from_a_cursor(self, storage: Storage) -> None:
        run = started_run(storage)
        other = started_run(storage)
        events = [log(run.run_id, str(i)) for i in range(7)]
        storage.store_events([*events[:4], log(other.run_id), *events[4:]])
        seen: list[RunEvent] = []
        after = 0
        shapes: list[tuple[int, bool]] = []
        while True:
            page = storage.get_events_for_run(run.run_id, after=after, limit=3)
            shapes.append((len(page.records), page.has_more))
            seen.extend(_events(page.records))
            after = page.cursor
            if not page.has_more:
                break
        assert shapes == [(3, True), (3, True), (1, False)]
        assert seen == events
        # nothing new: the cursor stays where it was
        empty = storage.get_events_for_run(run.run_id, after=after, limit=3)
        assert list(empty.records) == []
        assert empty.cursor == after
        assert not empty.has_more
        late = log(run.run_id, "late")
        storage.store_events([late])
        fresh = storage.get_events_for_run(run.run_id, after=after)
        assert _events(fresh.records) == [late]
        assert fresh.cursor > after

    def test_a_run_filtered_by_type_and_step(self, storage: Storage) -> None:
        run = started_run(storage)
        storage.store_events(
            [
                event(EventType.STEP_START, run.run_id, step_key="a"),
                log(run.run_id, "in a", step_key="a"),
                event(EventType.STEP_START, run.run_id, step_key="b"),
                event(EventType.STEP_SUCCESS, run.run_id, step_key="a"),
                log(run.run_id, "in b", step_key="b"),
                step_failure(run.run_id, "b"),
            ]
        )

        def kinds(
            of_types: list[EventType] | None = None, step_key: str | None = None
        ) -> list[tuple[str, str | None]]:
            page = storage.get_events_for_run(run.run_id, of_types=of_types, step_key=step_key)
            return [(r.event.event_type.value, r.event.step_key) for r in page.records]

        assert kinds(of_types=[EventType.STEP_START]) == [("STEP_START", "a"), ("STEP_START", "b")]
        assert kinds(step_key="b") == [
            ("STEP_START", "b"),
            ("LOG_MESSAGE", "b"),
            ("STEP_FAILURE", "b"),
        ]
        assert kinds(of_types=[EventType.STEP_SUCCESS, EventType.STEP_FAILURE], step_key="a") == [
            ("STEP_SUCCESS", "a")
        ]
        assert kinds(of_types=[EventType.RUN_SUCCESS]) == []
        # a filtered page's cursor is its last record; has_more counts matching events only
        first = storage.get_events_for_run(run.run_id, of_types=[EventType.STEP_START], limit=1)
        assert first.has_more
        assert first.cursor == first.records[0].storage_id
        second = storage.get_events_for_run(
            run.run_id, after=first.cursor, of_types=[EventType.STEP_START], limit=1
        )
        assert [r.event.step_key for r in second.records] == ["b"]
        assert not second.has_more

    def test_unknown_run_has_no_events(self, storage: Storage) -> None:
        page = storage.get_events_for_run("no-such-run", after=5)
        assert list(page.records) == []
        assert page.cursor == 5
        assert not page.has_more

    # ---- tailing the whole log -----------------------------------------------------------

    def test_tailing_sees_every_event_once_in_order(self, storage: Storage) -> None:
        a = started_run(storage)
        b = started_run(storage)
        first = [log(a.run_id, "1"), log(b.run_id, "2"), log(a.run_id, "3"), log(b.run_id, "4")]
        storage.store_events(first)
        page = storage.tail_events(limit=3)
        assert _events(page.records) == first[:3]
        assert page.has_more
        page = storage.tail_events(after=page.cursor, limit=3)
        assert _events(page.records) == first[3:]
        assert not page.has_more
        cursor = page.cursor
        idle = storage.tail_events(after=cursor)
        assert list(idle.records) == []
        assert idle.cursor == cursor
        assert not idle.has_more
        second = [log(b.run_id, "5"), log(a.run_id, "6")]
        storage.store_events(second)
        page = storage.tail_events(after=cursor)
        assert _events(page.records) == second

    def test_the_last_event_id_is_where_tailing_sees_only_later_events(
        self, storage: Storage
    ) -> None:
        assert storage.last_event_id() == 0
        run = started_run(storage)
        storage.store_events([log(run.run_id, "1"), log(run.run_id, "2")])
        last = storage.last_event_id()
        assert last == storage.tail_events().records[-1].storage_id
        storage.store_events([log(run.run_id, "3")])
        assert [r.event.message for r in storage.tail_events(after=last).records] == ["3"]
        assert storage.last_event_id() > last

    def test_a_tailing_reader_misses_nothing_while_writers_write(self, storage: Storage) -> None:
        writers, batches, per_batch = 4, 25, 4
        runs = [started_run(storage) for _ in range(writers)]
        start = threading.Barrier(writers + 1)
        done = threading.Event()

        def write(index: int) -> None:
            run_id = runs[index].run_id
            start.wait()
            for b in range(batches):
                batch = [log(run_id, str(b * per_batch + i)) for i in range(per_batch)]
                storage.store_events(batch)

        seen: dict[str, list[int]] = defaultdict(list)
        ids: list[int] = []

        def read() -> None:
            cursor = 0
            start.wait()
            while True:
                finished = done.is_set()  # read before the page: a last page follows it
                page = storage.tail_events(after=cursor, limit=37)
                for record in page.records:
                    ids.append(record.storage_id)
                    seen[record.event.run_id].append(int(record.event.message))
                cursor = page.cursor
                if finished and not page.records:
                    return

        with ThreadPoolExecutor(writers + 1) as pool:
            reader = pool.submit(read)
            for future in [pool.submit(write, i) for i in range(writers)]:
                future.result()
            done.set()
            reader.result()
        expected = list(range(batches * per_batch))
        assert {run.run_id: seen[run.run_id] for run in runs} == {
            run.run_id: expected for run in runs
        }
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids) == writers * len(expected)

    # ---- materializations ----------------------------------------------------------------

    def test_materializations_newest_first(self, storage: Storage) -> None:
        runs = [started_run(storage) for _ in range(3)]
        stored = []
        for i, run in enumerate(runs):
            stored.append(materialization(run.run_id, "orders", metadata={"n": i}))
            storage.store_events([stored[-1], materialization(run.run_id, "other")])
        found = storage.get_materializations(AssetKey("orders"))
        assert _events(found) == list(reversed(stored))
        assert _events(storage.get_materializations(AssetKey("orders"), limit=2)) == [
            stored[2],
            stored[1],
        ]
        older = storage.get_materializations(AssetKey("orders"), before=found[0].storage_id)
        assert _events(older) == [stored[1], stored[0]]
        assert storage.get_materializations(AssetKey("never")) == []

    def test_observations_newest_first_without_other_asset_events(self, storage: Storage) -> None:
        run = started_run(storage)
        seen = [observation(run.run_id, "feed", partition=p) for p in ["a", "b", "a"]]
        storage.store_events(
            [
                seen[0],
                materialization(run.run_id, "feed"),
                seen[1],
                check_evaluation(run.run_id, "feed", "fresh", passed=True),
                seen[2],
                observation(run.run_id, "other"),
            ]
        )
        found = storage.get_observations(AssetKey("feed"))
        assert _events(found) == list(reversed(seen))
        assert _events(storage.get_observations(AssetKey("feed"), limit=1)) == [seen[2]]
        older = storage.get_observations(AssetKey("feed"), before=found[0].storage_id)
        assert _events(older) == [seen[1], seen[0]]
        assert _events(storage.get_observations(AssetKey("feed"), partitions=["a"])) == [
            seen[2],
            seen[0],
        ]
        assert storage.get_observations(AssetKey("never")) == []

    def test_asset_events_both_ways_inside_exclusive_bounds(self, storage: Storage) -> None:
        run = started_run(storage)
        made = [materialization(run.run_id, "meter", partition=p) for p in "abcab"]
        for one in made:
            storage.store_events([one, observation(run.run_id, "meter", partition=one.partition)])
        kind = EventType.ASSET_MATERIALIZATION
        every = storage.get_asset_events(kind, AssetKey("meter"), newest_first=False)
        assert _events(every) == made
        ids = [r.storage_id for r in every]
        stamps = [r.event.timestamp for r in every]
        inside = storage.get_asset_events(kind, AssetKey("meter"), after=ids[0], before=ids[4])
        assert _events(inside) == [made[3], made[2], made[1]]
        timed = storage.get_asset_events(
            kind,
            AssetKey("meter"),
            after_timestamp=stamps[1],
            before_timestamp=stamps[4],
            newest_first=False,
        )
        assert _events(timed) == [made[2], made[3]]
        mixed = storage.get_asset_events(
            kind, AssetKey("meter"), partitions=["a"], after_timestamp=stamps[0], limit=5
        )
        assert _events(mixed) == [made[3]]
        first_two = storage.get_asset_events(kind, AssetKey("meter"), limit=2, newest_first=False)
        assert _events(first_two) == made[:2]
        seen = storage.get_asset_events(
            EventType.ASSET_OBSERVATION, AssetKey("meter"), before=ids[1], newest_first=False
        )
        assert [e.event_type for e in _events(seen)] == [EventType.ASSET_OBSERVATION]
        assert storage.get_asset_events(kind, AssetKey("meter"), after=ids[4]) == []

    def test_events_of_one_type_both_ways_in_a_window(self, storage: Storage) -> None:
        runs = [started_run(storage) for _ in range(4)]
        done: list[RunEvent] = []
        for run in runs:
            done.append(run_success(run.run_id))
            storage.store_events([log(run.run_id, "noise"), done[-1], log(run.run_id, "after")])
        of_type = storage.get_events_of_type
        oldest = of_type(EventType.RUN_SUCCESS)
        assert _events(oldest) == done
        ids = [r.storage_id for r in oldest]
        assert _events(of_type(EventType.RUN_SUCCESS, newest_first=True)) == done[::-1]
        assert _events(of_type(EventType.RUN_SUCCESS, newest_first=True, limit=2)) == [
            done[3],
            done[2],
        ]
        inside = of_type(EventType.RUN_SUCCESS, after=ids[0], before=ids[3])
        assert _events(inside) == done[1:3]
        back = of_type(EventType.RUN_SUCCESS, before=ids[2], newest_first=True, limit=5)
        assert _events(back) == [done[1], done[0]]
        stamps = [e.timestamp for e in done]
        timed = of_type(
            EventType.RUN_SUCCESS, after_timestamp=stamps[0], before_timestamp=stamps[3]
        )
        assert _events(timed) == done[1:3]
        assert of_type(EventType.RUN_FAILURE) == []
        assert of_type(EventType.RUN_SUCCESS, after=ids[3]) == []

    def test_a_reader_of_one_type_misses_nothing_while_writers_write(
        self, storage: Storage
    ) -> None:
        writers, batches = 4, 25
        runs = [started_run(storage) for _ in range(writers)]
        start = threading.Barrier(writers + 1)
        done = threading.Event()

        def write(index: int) -> None:
            run_id = runs[index].run_id
            start.wait()
            for b in range(batches):
                noise = event(EventType.STEP_START, run_id, step_key="load")
                storage.store_events([noise, log(run_id, str(2 * b)), log(run_id, str(2 * b + 1))])

        seen: dict[str, list[int]] = defaultdict(list)

        def read() -> None:
            cursor = 0
            start.wait()
            while True:
                finished = done.is_set()  # read before the page: a last page follows it
                page = storage.get_events_of_type(EventType.LOG_MESSAGE, after=cursor, limit=7)
                for record in page:
                    seen[record.event.run_id].append(int(record.event.message))
                    cursor = record.storage_id
                if finished and not page:
                    return

        with ThreadPoolExecutor(writers + 1) as pool:
            reader = pool.submit(read)
            for future in [pool.submit(write, i) for i in range(writers)]:
                future.result()
            done.set()
            reader.result()
        expected = list(range(2 * batches))
        assert {run.run_id: seen[run.run_id] for run in runs} == {
            run.run_id: expected for run in runs
        }

    def test_events_of_one_type_forget_deleted_runs(self, storage: Storage) -> None:
        kept, pruned, deleted = (started_run(storage) for _ in range(3))
        for run in (kept, pruned, deleted):
            storage.store_events([run_success(run.run_id)])
        storage.prune_run_events([pruned.run_id])
        storage.delete_run(deleted.run_id)
        found = storage.get_events_of_type(EventType.RUN_SUCCESS, newest_first=True)
        assert [r.event.run_id for r in found] == [kept.run_id]

    def test_materializations_of_partitions(self, storage: Storage) -> None:
        run = started_run(storage)
        events = [
            materialization(run.run_id, "sales", partition=p) for p in ["n", "s", "n", "w", "s"]
        ]
        storage.store_events(events)
        key = AssetKey("sales")
        only_n = storage.get_materializations(key, partitions=["n"])
        assert _events(only_n) == [events[2], events[0]]
        n_or_w = storage.get_materializations(key, partitions=["n", "w"], limit=2)
        assert _events(n_or_w) == [events[3], events[2]]
        assert storage.get_materializations(key, partitions=[]) == []
        assert len(storage.get_materializations(key)) == 5

    def test_latest_materializations_of_many_assets(self, storage: Storage) -> None:
        run = started_run(storage)
        first = materialization(run.run_id, "a")
        latest_a = materialization(run.run_id, "a")
        latest_b = materialization(run.run_id, "b", partition="p1")
        storage.store_events([first, latest_b])
        storage.store_events([latest_a, observation(run.run_id, "c")])
        found = storage.get_latest_materializations(
            [AssetKey("a"), AssetKey("b"), AssetKey("c"), AssetKey("d")]
        )
        assert {k: r.event for k, r in found.items()} == {
            AssetKey("a"): latest_a,
            AssetKey("b"): latest_b,
        }
        assert storage.get_latest_materializations([]) == {}

    # ---- pruning -------------------------------------------------------------------------

    def test_prune_keeps_the_asset_history_and_deletes_the_rest(self, storage: Storage) -> None:
        old = started_run(storage)
        recent = started_run(storage)
        history = [
            materialization(old.run_id, "sales", partition="n"),
            observation(old.run_id, "source"),
            check_evaluation(old.run_id, "sales", "positive", passed=False),
        ]
        noise = [
            planned(old.run_id, "sales", partition="n"),
            event(EventType.STEP_START, old.run_id, step_key="sales"),
            log(old.run_id, "working", step_key="sales"),
            event(EventType.STEP_SUCCESS, old.run_id, step_key="sales"),
        ]
        storage.store_events([noise[0], noise[1], noise[2], *history, noise[3]])
        storage.store_events([run_success(old.run_id)])
        storage.store_events([planned(recent.run_id, "sales", partition="s"), log(recent.run_id)])
        before = storage.get_asset_records([AssetKey("sales"), AssetKey("source")])

        assert storage.prune_run_events([old.run_id]) == len(noise) + 1
        assert _events(storage.get_events_for_run(old.run_id).records) == history
        assert len(storage.get_events_for_run(recent.run_id).records) == 2
        assert storage.get_asset_records([AssetKey("sales"), AssetKey("source")]) == before
        assert storage.get_partition_status(AssetKey("sales")) == {
            "n": PartitionStatus.MATERIALIZED,
            "s": PartitionStatus.IN_PROGRESS,
        }
        assert list(storage.get_latest_check_results([check_key("sales", "positive")])) == [
            check_key("sales", "positive")
        ]
        assert _events(storage.get_materializations(AssetKey("sales"))) == history[:1]
        record = storage.get_run(old.run_id)
        assert record is not None
        assert record.run.status is RunStatus.SUCCESS
        # pruning again finds nothing more; unknown runs are no error
        assert storage.prune_run_events([old.run_id, "no-such-run"]) == 0

    def test_the_index_still_answers_after_pruning_a_real_run(self, storage: Storage) -> None:
        result = run_and_store(storage, PLAIN_ASSETS)
        keys = [AssetKey("orders"), AssetKey("order_count")]
        records = storage.get_asset_records(keys)
        pruned = storage.prune_run_events([result.run_id])
        kept = storage.get_events_for_run(result.run_id).records
        assert pruned == len(result.all_events) - len(kept)
        assert {r.event.event_type for r in kept} == {
            EventType.ASSET_MATERIALIZATION,
            EventType.ASSET_CHECK_EVALUATION,
        }
        assert storage.get_asset_records(keys) == records
        assert storage.get_latest_check_results([check_key("order_count", "count_positive")])

    # ---- metadata values ----------------------------------------------------------------------

    def test_metadata_reads_back_exactly_with_nan_infinities_and_cut_text(
        self, storage: Storage
    ) -> None:
        run = started_run(storage)
        metadata = {
            "nan": math.nan,
            "inf": math.inf,
            "minus_inf": MetadataValue.float(-math.inf),
            "preview": "x" * (MAX_METADATA_VALUE_BYTES + 10),
            "rows": 3,
        }
        stored = materialization(run.run_id, "orders", metadata=metadata)
        storage.store_events([stored])
        record = storage.get_latest_materialization(AssetKey("orders"))
        assert record is not None
        assert record.event == stored
        data = record.event.data
        assert isinstance(data, AssetMaterialization)
        back = data.metadata
        assert math.isnan(back["nan"].value)
        assert back["inf"].value == math.inf
        assert back["minus_inf"].value == -math.inf
        preview = back["preview"]
        assert isinstance(preview, TextMetadataValue)
        assert preview.value == "x" * MAX_METADATA_VALUE_BYTES
        assert preview.original_size == MAX_METADATA_VALUE_BYTES + 10
        assert back["rows"].value == 3
