"""The ``ConcurrencyStorage`` conformance suite."""

from __future__ import annotations

import pytest

from knoll.errors import InvalidInvocationError
from knoll.storage.base import Storage

T0 = 1_700_000_000.0


class ConcurrencyStorageSuite:
    """Pool limits and slots held as expiring leases. Subclasses provide ``storage``."""

    def test_pool_limits(self, storage: Storage) -> None:
        assert storage.get_pool_limits() == {}
        storage.set_pool_limit("warehouse", 2)
        storage.set_pool_limit("api", 0)
        storage.set_pool_limit("warehouse", 3)
        assert storage.get_pool_limits() == {"api": 0, "warehouse": 3}
        storage.delete_pool_limit("api")
        storage.delete_pool_limit("never-set")
        assert storage.get_pool_limits() == {"warehouse": 3}

    def test_bad_limits_are_refused(self, storage: Storage) -> None:
        with pytest.raises(InvalidInvocationError, match="limit -1 of concurrency pool 'w'"):
            storage.set_pool_limit("w", -1)
        with pytest.raises(InvalidInvocationError, match="pool name '' is not valid"):
            storage.set_pool_limit("", 1)
        assert storage.get_pool_limits() == {}

    def test_claims_stop_at_the_limit(self, storage: Storage) -> None:
        storage.set_pool_limit("db", 2)
        assert storage.claim_slot("db", "r1", "a", 30, now=T0)
        assert storage.claim_slot("db", "r1", "b", 30, now=T0 + 1)
        assert not storage.claim_slot("db", "r2", "a", 30, now=T0 + 2)
        # a step that holds a slot claims it again (a renewal), without taking a second one
        assert storage.claim_slot("db", "r1", "a", 30, now=T0 + 3)
        held = storage.get_pool_slots("db", now=T0 + 3)
        assert [(s.run_id, s.step_key) for s in held] == [("r1", "a"), ("r1", "b")]
        assert held[0].expires_at == T0 + 33
        storage.release_slot("db", "r1", "a")
        assert storage.claim_slot("db", "r2", "a", 30, now=T0 + 4)
        assert not storage.claim_slot("db", "r3", "a", 30, now=T0 + 4)

    def test_a_pool_without_a_limit_is_not_limited(self, storage: Storage) -> None:
        for i in range(5):
            assert storage.claim_slot("free", f"r{i}", "s", 30, now=T0)
        assert len(storage.get_pool_slots("free", now=T0)) == 5

    def test_a_limit_of_zero_admits_nobody(self, storage: Storage) -> None:
        storage.set_pool_limit("closed", 0)
        assert not storage.claim_slot("closed", "r1", "s", 30, now=T0)

    def test_expired_slots_are_free_again(self, storage: Storage) -> None:
        storage.set_pool_limit("db", 1)
        assert storage.claim_slot("db", "crashed", "s", 10, now=T0)
        assert not storage.claim_slot("db", "r2", "s", 10, now=T0 + 9)
        assert storage.get_pool_slots("db", now=T0 + 10) == []
        assert storage.claim_slot("db", "r2", "s", 10, now=T0 + 10)
        # the crashed run's lease is gone: it cannot renew, and its claim waits its turn
        assert not storage.renew_slot("db", "crashed", "s", 10, now=T0 + 11)
        assert not storage.claim_slot("db", "crashed", "s", 10, now=T0 + 11)

    def test_renewing_keeps_the_slot(self, storage: Storage) -> None:
        storage.set_pool_limit("db", 1)
        assert storage.claim_slot("db", "r1", "s", 10, now=T0)
        for beat in range(1, 6):
            assert storage.renew_slot("db", "r1", "s", 10, now=T0 + beat * 8)
            assert not storage.claim_slot("db", "r2", "s", 10, now=T0 + beat * 8 + 1)
        assert not storage.renew_slot("db", "r2", "s", 10, now=T0 + 41)

    def test_free_slots_of_run(self, storage: Storage) -> None:
        storage.set_pool_limit("db", 5)
        storage.claim_slot("db", "r1", "a", 30, now=T0)
        storage.claim_slot("db", "r1", "b", 30, now=T0)
        storage.claim_slot("api", "r1", "c", 30, now=T0)
        storage.claim_slot("db", "r2", "a", 30, now=T0)
        assert storage.free_slots_of_run("r1") == 3
        assert storage.free_slots_of_run("r1") == 0
        assert [s.run_id for s in storage.get_pool_slots("db", now=T0)] == ["r2"]
        assert storage.get_pool_slots("api", now=T0) == []

    def test_a_slot_needs_a_positive_lease(self, storage: Storage) -> None:
        with pytest.raises(InvalidInvocationError, match="lease of a slot of pool 'db'"):
            storage.claim_slot("db", "r1", "s", -5)
        assert storage.get_pool_slots("db") == []
