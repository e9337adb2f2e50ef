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
