"""The ``RetentionStorage`` conformance suite: deleting old ticks and daemon heartbeats."""

from __future__ import annotations

from knoll.storage.base import DaemonHeartbeat, InstigatorType, Storage


def _tick_times(storage: Storage, location: str, name: str) -> list[float]:
    return [tick.timestamp for tick in storage.get_ticks(location, name, limit=1000)]


class RetentionStorageSuite:
    """Old ticks go, except the newest few of each schedule and sensor; old daemon heartbeats
    go. Subclasses provide the ``storage`` fixture."""

    def test_old_ticks_are_deleted_but_the_newest_of_each_instigator_kept(
        self, storage: Storage
    ) -> None:
        for stamp in (10.0, 20.0, 30.0, 40.0):
            storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, stamp)
        for stamp in (15.0, 25.0):
            storage.create_tick("shop", "files", InstigatorType.SENSOR, stamp)
        storage.create_tick("other", "hourly", InstigatorType.SCHEDULE, 5.0)

        assert storage.delete_ticks(35.0, keep_last=1) == 4
        assert _tick_times(storage, "shop", "hourly") == [40.0]  # newer than the cutoff
        assert _tick_times(storage, "shop", "files") == [25.0]  # old, but its newest
        assert _tick_times(storage, "other", "hourly") == [5.0]  # another location's own

    def test_without_keep_last_every_old_tick_goes(self, storage: Storage) -> None:
        for stamp in (10.0, 20.0, 30.0):
            storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, stamp)
        assert storage.delete_ticks(25.0) == 2
        assert _tick_times(storage, "shop", "hourly") == [30.0]
        assert storage.delete_ticks(25.0) == 0

    def test_keep_last_beyond_the_count_keeps_everything(self, storage: Storage) -> None:
        for stamp in (10.0, 20.0):
            storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, stamp)
        assert storage.delete_ticks(100.0, keep_last=5) == 0
        assert _tick_times(storage, "shop", "hourly") == [20.0, 10.0]

    def test_old_daemon_heartbeats_are_deleted(self, storage: Storage) -> None:
        storage.record_daemon_heartbeat(DaemonHeartbeat("gone", "run_queue", 100.0))
        storage.record_daemon_heartbeat(DaemonHeartbeat("gone", "run_monitor", 150.0))
        storage.record_daemon_heartbeat(DaemonHeartbeat("alive", "run_queue", 300.0))
        assert storage.delete_daemon_heartbeats(200.0) == 2
        assert [(b.daemon_id, b.duty) for b in storage.get_daemon_heartbeats()] == [
            ("alive", "run_queue")
        ]
        assert storage.delete_daemon_heartbeats(200.0) == 0
