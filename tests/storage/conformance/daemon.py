"""The ``DaemonStorage`` conformance suite: duty leases and daemon heartbeats."""

from __future__ import annotations

import pytest

from knoll.errors import InvalidInvocationError
from knoll.storage.base import QUEUE_LEASE, DaemonHeartbeat, Lease, Storage

T0 = 1_700_000_000.0


class DaemonStorageSuite:
    """Named leases held by one owner until they expire, and the latest heartbeat of each
    daemon and duty. Subclasses provide the ``storage`` fixture."""

    def test_one_owner_holds_a_lease_until_it_expires(self, storage: Storage) -> None:
        assert storage.get_lease("schedules") is None
        assert storage.acquire_lease("schedules", "a", 10, now=T0)
        assert storage.get_lease("schedules") == Lease("schedules", "a", T0, T0, T0 + 10)
        assert not storage.acquire_lease("schedules", "b", 10, now=T0 + 9.9)
        # the holder acquiring again extends its lease and keeps when it took it
        assert storage.acquire_lease("schedules", "a", 10, now=T0 + 5)
        assert storage.get_lease("schedules") == Lease("schedules", "a", T0, T0 + 5, T0 + 15)
        assert not storage.acquire_lease("schedules", "b", 10, now=T0 + 14.9)
        # a's lease ran out at T0 + 15: b takes it over, acquired afresh
        assert storage.acquire_lease("schedules", "b", 10, now=T0 + 15)
        assert storage.get_lease("schedules") == Lease("schedules", "b", T0 + 15, T0 + 15, T0 + 25)
        assert not storage.acquire_lease("schedules", "a", 10, now=T0 + 16)

    def test_an_owner_retaking_its_expired_lease_acquires_it_afresh(self, storage: Storage) -> None:
        assert storage.acquire_lease("sensors", "a", 10, now=T0)
        assert storage.acquire_lease("sensors", "a", 10, now=T0 + 30)
        assert storage.get_lease("sensors") == Lease("sensors", "a", T0 + 30, T0 + 30, T0 + 40)

    def test_only_the_live_holder_renews(self, storage: Storage) -> None:
        assert not storage.renew_lease("backfills", "a", 10, now=T0)  # nobody holds it
        assert storage.get_lease("backfills") is None
        assert storage.acquire_lease("backfills", "a", 10, now=T0)
        assert not storage.renew_lease("backfills", "b", 10, now=T0 + 1)
        assert storage.renew_lease("backfills", "a", 10, now=T0 + 8)
        assert storage.get_lease("backfills") == Lease("backfills", "a", T0, T0 + 8, T0 + 18)
        # past its expiry a lease is not renewed, even with nobody else holding it
        assert not storage.renew_lease("backfills", "a", 10, now=T0 + 18)
        assert storage.get_lease("backfills") == Lease("backfills", "a", T0, T0 + 8, T0 + 18)
        lease = storage.get_lease("backfills")
        assert lease is not None
        assert lease.is_held(T0 + 17.9)
        assert not lease.is_held(T0 + 18)

    def test_release_frees_the_lease_only_for_its_holder(self, storage: Storage) -> None:
        assert storage.acquire_lease("retention", "a", 60, now=T0)
        assert not storage.release_lease("retention", "b")
        assert not storage.acquire_lease("retention", "b", 60, now=T0 + 1)
        assert storage.release_lease("retention", "a")
        assert storage.get_lease("retention") is None
        assert not storage.release_lease("retention", "a")
        assert storage.acquire_lease("retention", "b", 60, now=T0 + 2)

    def test_leases_of_different_names_are_independent(self, storage: Storage) -> None:
        assert storage.acquire_lease("schedules", "a", 10, now=T0)
        assert storage.acquire_lease("sensors", "b", 10, now=T0)
        assert not storage.acquire_lease("sensors", "a", 10, now=T0)
        assert storage.release_lease("schedules", "a")
        lease = storage.get_lease("sensors")
        assert lease is not None
        assert lease.owner == "b"

    def test_the_run_queue_lease_is_the_lease_named_for_the_queue(self, storage: Storage) -> None:
        assert storage.acquire_queue_lease("worker", 30, now=T0)
        assert storage.get_lease(QUEUE_LEASE) == Lease(QUEUE_LEASE, "worker", T0, T0, T0 + 30)
        assert not storage.acquire_lease(QUEUE_LEASE, "daemon", 30, now=T0 + 1)
        storage.release_queue_lease("worker")
        assert storage.acquire_lease(QUEUE_LEASE, "daemon", 30, now=T0 + 2)
        assert not storage.acquire_queue_lease("worker", 30, now=T0 + 3)

    @pytest.mark.parametrize("ttl", [0, -5, float("nan"), "30", True])
    def test_a_lease_needs_a_positive_duration(self, storage: Storage, ttl: object) -> None:
        expected = (
            rf"the lease of 'schedules' must last a positive number of seconds, got "
            rf"{ttl!r}: pass ttl_seconds=30, for example\."
        )
        with pytest.raises(InvalidInvocationError, match=expected):
            storage.acquire_lease("schedules", "a", ttl)  # type: ignore[arg-type]
        with pytest.raises(InvalidInvocationError, match=expected):
            storage.renew_lease("schedules", "a", ttl)  # type: ignore[arg-type]
        assert storage.get_lease("schedules") is None

    @pytest.mark.parametrize("name", ["", "  ", None])
    def test_a_lease_needs_a_name(self, storage: Storage, name: object) -> None:
        expected = (
            f"lease name {name!r} is not valid: give a non-empty string naming the duty the "
            "lease guards, such as 'schedules'."
        )
        for call in (
            lambda: storage.acquire_lease(name, "a", 10),  # type: ignore[arg-type]
            lambda: storage.renew_lease(name, "a", 10),  # type: ignore[arg-type]
            lambda: storage.release_lease(name, "a"),  # type: ignore[arg-type]
            lambda: storage.get_lease(name),  # type: ignore[arg-type]
        ):
            with pytest.raises(InvalidInvocationError) as caught:
                call()
            assert str(caught.value) == expected

    def test_a_lease_needs_an_owner(self, storage: Storage) -> None:
        with pytest.raises(InvalidInvocationError) as caught:
            storage.acquire_lease("schedules", "", 10)
        assert str(caught.value) == (
            "owner '' of lease 'schedules' is not valid: give a non-empty string that no other "
            "process uses, such as 'host:pid'."
        )

    # ---- heartbeats ------------------------------------------------------------------------

    def test_the_latest_heartbeat_of_each_daemon_and_duty(self, storage: Storage) -> None:
        assert storage.get_daemon_heartbeats() == []
        storage.record_daemon_heartbeat(DaemonHeartbeat("d1", "schedules", T0))
        storage.record_daemon_heartbeat(DaemonHeartbeat("d1", "sensors", T0))
        storage.record_daemon_heartbeat(DaemonHeartbeat("d2", "schedules", T0 + 1))
        failed = DaemonHeartbeat(
            "d1",
            "schedules",
            T0 + 5,
            errors=("code location 'shop' failed to load: ImportError",),
            info={"interval": "30"},
        )
        storage.record_daemon_heartbeat(failed)
        # a late write of an older beat does not hide the newer one
        storage.record_daemon_heartbeat(DaemonHeartbeat("d1", "schedules", T0 + 2))
        assert storage.get_daemon_heartbeats() == [
            failed,
            DaemonHeartbeat("d2", "schedules", T0 + 1),
            DaemonHeartbeat("d1", "sensors", T0),
        ]
        storage.record_daemon_heartbeat(DaemonHeartbeat("d1", "schedules", T0 + 6))
        assert storage.get_daemon_heartbeats()[0] == DaemonHeartbeat("d1", "schedules", T0 + 6)

    def test_a_heartbeat_is_stored_as_a_copy(self, storage: Storage) -> None:
        info = {"interval": "30"}
        errors = ["first", "second"]
        storage.record_daemon_heartbeat(
            DaemonHeartbeat("d1", "sensors", T0, errors=errors, info=info)  # type: ignore[arg-type]
        )
        info["interval"] = "changed"
        errors.append("third")
        (beat,) = storage.get_daemon_heartbeats()
        assert beat.errors == ("first", "second")
        assert beat.info == {"interval": "30"}

    def test_a_heartbeat_needs_a_daemon_and_a_duty(self, storage: Storage) -> None:
        with pytest.raises(InvalidInvocationError) as caught:
            storage.record_daemon_heartbeat(DaemonHeartbeat("d1", "", T0))
        assert str(caught.value) == (
            "the duty of a daemon heartbeat is '': give a non-empty string (daemon_id names "
            "the daemon process, duty its loop, such as 'schedules')."
        )
        with pytest.raises(InvalidInvocationError, match="the daemon_id of a daemon heartbeat"):
            storage.record_daemon_heartbeat(DaemonHeartbeat("", "sensors", T0))
        with pytest.raises(InvalidInvocationError) as caught:
            storage.record_daemon_heartbeat(DaemonHeartbeat("d1", "sensors", float("inf")))
        assert str(caught.value) == (
            "the timestamp of the heartbeat of duty 'sensors' is inf: give seconds since the "
            "epoch, such as time.time()."
        )
        with pytest.raises(InvalidInvocationError, match="takes a DaemonHeartbeat, got dict"):
            storage.record_daemon_heartbeat({"daemon_id": "d1"})  # type: ignore[arg-type]
        assert storage.get_daemon_heartbeats() == []
