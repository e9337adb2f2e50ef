"""The ``ScheduleStorage`` conformance suite: instigator state and ticks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from knoll.errors import StorageError
from knoll.storage.base import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    Storage,
    TickStatus,
)


class ScheduleStorageSuite:
    """Schedules' and sensors' state (upserted) and their ticks (created, updated, listed
    newest first). Subclasses provide the ``storage`` fixture."""

    def test_instigator_state_is_upserted(self, storage: Storage) -> None:
        assert storage.get_instigator_state("shop", "hourly") is None
        state = InstigatorState(
            "shop", "hourly", InstigatorType.SCHEDULE, InstigatorStatus.RUNNING, None, 100.0
        )
        storage.set_instigator_state(state)
        assert storage.get_instigator_state("shop", "hourly") == state
        stopped = replace(state, status=InstigatorStatus.STOPPED, updated_timestamp=200.0)
        storage.set_instigator_state(stopped)
        assert storage.get_instigator_state("shop", "hourly") == stopped

    def test_a_sensor_keeps_its_cursor(self, storage: Storage) -> None:
        sensor = InstigatorState(
            "shop", "new_files", InstigatorType.SENSOR, InstigatorStatus.RUNNING, cursor="f-17"
        )
        storage.set_instigator_state(sensor)
        storage.set_instigator_state(replace(sensor, cursor='{"last": "f-18"}'))
        fetched = storage.get_instigator_state("shop", "new_files")
        assert fetched is not None
        assert fetched.cursor == '{"last": "f-18"}'

    def test_states_are_per_location_and_name(self, storage: Storage) -> None:
        for location in ("shop", "billing"):
            for name in ("a", "b"):
                storage.set_instigator_state(
                    InstigatorState(
                        location, name, InstigatorType.SENSOR, InstigatorStatus.RUNNING, location
                    )
                )
        fetched = storage.get_instigator_state("billing", "b")
        assert fetched is not None
        assert (fetched.location, fetched.name) == ("billing", "b")
        assert fetched.cursor == "billing"
        assert storage.get_instigator_state("billing", "c") is None

    def test_ticks_are_created_updated_and_listed_newest_first(self, storage: Storage) -> None:
        first = storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, 1000.0)
        assert first.status is TickStatus.STARTED
        assert (first.location, first.name, first.timestamp) == ("shop", "hourly", 1000.0)
        assert first.instigator_type is InstigatorType.SCHEDULE
        assert first.run_ids == ()
        assert first.skip_reason is None
        assert first.error is None
        second = storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, 2000.0)
        assert second.tick_id > first.tick_id
        storage.create_tick("shop", "daily", InstigatorType.SCHEDULE, 3000.0)
        done = replace(first, status=TickStatus.SUCCESS, run_ids=("r1", "r2"), run_keys=("k",))
        assert storage.update_tick(done) == done
        skipped = replace(second, status=TickStatus.SKIPPED, skip_reason="nothing new")
        storage.update_tick(skipped)
        assert list(storage.get_ticks("shop", "hourly")) == [skipped, done]
        assert list(storage.get_ticks("shop", "hourly", limit=1)) == [skipped]
        assert [t.timestamp for t in storage.get_ticks("shop", "daily")] == [3000.0]
        assert list(storage.get_ticks("other", "hourly")) == []

    def test_ticks_page_on_from_the_last_one_of_a_page(self, storage: Storage) -> None:
        made = [
            storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, stamp)
            for stamp in (10.0, 20.0, 20.0, 30.0)
        ]
        storage.create_tick("shop", "daily", InstigatorType.SCHEDULE, 15.0)
        first = list(storage.get_ticks("shop", "hourly", limit=2))
        assert [t.tick_id for t in first] == [made[3].tick_id, made[2].tick_id]
        last = first[-1]
        rest = storage.get_ticks("shop", "hourly", limit=2, before=(last.timestamp, last.tick_id))
        assert [t.tick_id for t in rest] == [made[1].tick_id, made[0].tick_id]
        assert list(storage.get_ticks("shop", "hourly", before=(10.0, made[0].tick_id))) == []

    def test_a_failed_tick_keeps_its_error_and_cursor(self, storage: Storage) -> None:
        tick = storage.create_tick("shop", "files", InstigatorType.SENSOR, 5.0)
        failed = replace(tick, status=TickStatus.FAILURE, error="boom\ntrace", cursor="c-9")
        storage.update_tick(failed)
        assert list(storage.get_ticks("shop", "files")) == [failed]

    def test_updating_an_unknown_tick_raises(self, storage: Storage) -> None:
        tick = storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, 1.0)
        ghost = replace(tick, tick_id=tick.tick_id + 1000)
        with pytest.raises(StorageError, match=f"cannot update tick {ghost.tick_id} of 'hourly'"):
            storage.update_tick(ghost)
        assert list(storage.get_ticks("shop", "hourly")) == [tick]

    # ---- tick keys: one tick per key, one evaluation per tick ------------------------------

    def test_a_tick_key_is_claimed_once(self, storage: Storage) -> None:
        first = storage.claim_tick("shop", "hourly", InstigatorType.SCHEDULE, "2024-05-01T06", 6.0)
        assert (first.tick_key, first.status, first.timestamp) == (
            "2024-05-01T06",
            TickStatus.STARTED,
            6.0,
        )
        again = storage.claim_tick("shop", "hourly", InstigatorType.SCHEDULE, "2024-05-01T06", 9.0)
        assert again == first
        done = storage.update_tick(
            replace(first, status=TickStatus.SUCCESS, started_timestamp=6.5, end_timestamp=7.5)
        )
        assert storage.claim_tick(
            "shop", "hourly", InstigatorType.SCHEDULE, "2024-05-01T06", 9.0
        ) == (done)
        other_key = storage.claim_tick(
            "shop", "hourly", InstigatorType.SCHEDULE, "2024-05-01T07", 7
        )
        other_name = storage.claim_tick(
            "shop", "daily", InstigatorType.SCHEDULE, "2024-05-01T06", 6
        )
        other_place = storage.claim_tick(
            "crm", "hourly", InstigatorType.SCHEDULE, "2024-05-01T06", 6
        )
        ids = {first.tick_id, other_key.tick_id, other_name.tick_id, other_place.tick_id}
        assert len(ids) == 4
        assert [t.tick_key for t in storage.get_ticks("shop", "hourly")] == [
            "2024-05-01T07",
            "2024-05-01T06",
        ]
        assert storage.get_ticks("shop", "hourly")[1] == done

    def test_the_first_recorded_evaluation_wins(self, storage: Storage) -> None:
        tick = storage.claim_tick("shop", "files", InstigatorType.SENSOR, "1", 1.0)
        assert storage.record_tick_evaluation(tick.tick_id, '{"runs": 1}') == '{"runs": 1}'
        assert storage.record_tick_evaluation(tick.tick_id, '{"runs": 2}') == '{"runs": 1}'
        assert storage.get_ticks("shop", "files")[0].evaluation == '{"runs": 1}'
        with pytest.raises(StorageError, match="cannot record the evaluation of tick"):
            storage.record_tick_evaluation(tick.tick_id + 1000, "{}")

    def test_a_tick_and_its_state_are_stored_together(self, storage: Storage) -> None:
        tick = storage.claim_tick("shop", "files", InstigatorType.SENSOR, "1", 1.0)
        state = InstigatorState(
            "shop", "files", InstigatorType.SENSOR, InstigatorStatus.RUNNING, cursor="c-2"
        )
        done = replace(tick, status=TickStatus.SUCCESS, cursor="c-2", run_ids=("r",))
        storage.update_tick(done, state=state)
        assert storage.get_instigator_state("shop", "files") == state
        assert storage.get_ticks("shop", "files")[0] == done
        ghost = replace(done, tick_id=done.tick_id + 1000)
        with pytest.raises(StorageError, match="cannot update tick"):
            storage.update_tick(ghost, state=replace(state, cursor="c-3"))
        assert storage.get_instigator_state("shop", "files") == state  # nothing half-stored

    def test_a_tick_ending_keeps_a_status_set_meanwhile(self, storage: Storage) -> None:
        running = InstigatorState(
            "shop", "files", InstigatorType.SENSOR, InstigatorStatus.RUNNING, cursor="c-1"
        )
        storage.set_instigator_state(running)
        tick = storage.claim_tick("shop", "files", InstigatorType.SENSOR, "1", 1.0)
        storage.set_instigator_state(replace(running, status=InstigatorStatus.STOPPED))
        done = replace(tick, status=TickStatus.SKIPPED, cursor="c-2")
        storage.update_tick(done, state=replace(running, cursor="c-2", updated_timestamp=2.0))
        assert storage.get_instigator_state("shop", "files") == replace(
            running, status=InstigatorStatus.STOPPED, cursor="c-2", updated_timestamp=2.0
        )

    def test_instigator_states_are_listed_by_location_and_name(self, storage: Storage) -> None:
        def state(location: str, name: str, kind: InstigatorType) -> InstigatorState:
            return InstigatorState(location, name, kind, InstigatorStatus.RUNNING)

        wanted = [
            state("crm", "b", InstigatorType.SENSOR),
            state("shop", "a", InstigatorType.SCHEDULE),
            state("crm", "a", InstigatorType.SCHEDULE),
        ]
        for item in wanted:
            storage.set_instigator_state(item)
        assert list(storage.get_instigator_states()) == [wanted[2], wanted[0], wanted[1]]
        assert list(storage.get_instigator_states(InstigatorType.SENSOR)) == [wanted[0]]
