"""The ``RunQueueStorage`` conformance suite."""

from __future__ import annotations

import pytest

from knoll.errors import InvalidInvocationError
from knoll.execution.run import RunStatus
from knoll.storage.base import Storage
from tests.storage.conformance.builders import make_run

T0 = 1_700_000_000.0


class RunQueueStorageSuite:
    """Queued runs in dequeue order, in-progress counts, the conditional start and the
    dequeue lease. Subclasses provide the ``storage`` fixture."""

    def test_queued_runs_by_priority_then_first_in_first_out(self, storage: Storage) -> None:
        for run_id, tags in [
            ("a", {}),
            ("b", {"knoll/priority": "5"}),
            ("c", {}),
            ("d", {"knoll/priority": "-1"}),
            ("e", {"knoll/priority": "5"}),
            ("f", {"knoll/priority": "not a number"}),  # counts as 0
        ]:
            storage.add_run(make_run(run_id=run_id, tags=tags))
        storage.add_run(make_run(run_id="started", status=RunStatus.STARTED))
        order = [r.run.run_id for r in storage.get_queued_runs()]
        assert order == ["b", "e", "a", "c", "f", "d"]
        assert [r.run.run_id for r in storage.get_queued_runs(limit=2)] == ["b", "e"]

    def test_in_progress_counts(self, storage: Storage) -> None:
        statuses = [
            (RunStatus.QUEUED, "x"),
            (RunStatus.STARTING, "x"),
            (RunStatus.STARTED, "x"),
            (RunStatus.STARTED, "y"),
            (RunStatus.CANCELING, "y"),
            (RunStatus.SUCCESS, "x"),
            (RunStatus.FAILURE, "y"),
        ]
        for i, (status, db) in enumerate(statuses):
            storage.add_run(make_run(run_id=f"r{i}", status=status, tags={"db": db, "t": "1"}))
        storage.add_run(make_run(run_id="untagged", status=RunStatus.STARTED))
        assert storage.count_in_progress_runs() == 5
        assert storage.count_in_progress_runs_by_tag(["db", "missing"]) == {
            ("db", "x"): 2,
            ("db", "y"): 2,
        }
        assert storage.count_in_progress_runs_by_tag([]) == {}

    def test_claim_moves_a_queued_run_to_starting_once(self, storage: Storage) -> None:
        storage.add_run(make_run(run_id="r1"))
        claimed = storage.claim_queued_run("r1")
        assert claimed is not None
        assert claimed.run.status is RunStatus.STARTING
        assert storage.claim_queued_run("r1") is None
        stored = storage.get_run("r1")
        assert stored is not None
        assert stored.run.status is RunStatus.STARTING
        assert storage.get_queued_runs() == []
        assert storage.count_in_progress_runs() == 1

    def test_claim_leaves_runs_that_are_not_queued(self, storage: Storage) -> None:
        storage.add_run(make_run(run_id="r1"))
        storage.update_run_status("r1", RunStatus.CANCELED)
        assert storage.claim_queued_run("r1") is None
        assert storage.claim_queued_run("no-such-run") is None
        stored = storage.get_run("r1")
        assert stored is not None
        assert stored.run.status is RunStatus.CANCELED

    def test_one_owner_holds_the_lease_until_it_expires(self, storage: Storage) -> None:
        assert storage.acquire_queue_lease("a", 10, now=T0)
        assert storage.acquire_queue_lease("a", 10, now=T0 + 1)  # extends its own
        assert not storage.acquire_queue_lease("b", 10, now=T0 + 5)
        assert storage.renew_queue_lease("a", 10, now=T0 + 9)
        assert not storage.acquire_queue_lease("b", 10, now=T0 + 18)
        assert not storage.renew_queue_lease("b", 10, now=T0 + 18)
        # a's lease ran out at T0 + 19
        assert storage.acquire_queue_lease("b", 10, now=T0 + 19.5)
        assert not storage.renew_queue_lease("a", 10, now=T0 + 20)
        assert not storage.acquire_queue_lease("a", 10, now=T0 + 20)

    def test_release_frees_the_lease_only_for_its_owner(self, storage: Storage) -> None:
        assert storage.acquire_queue_lease("a", 60, now=T0)
        storage.release_queue_lease("b")
        assert not storage.acquire_queue_lease("b", 60, now=T0 + 1)
        storage.release_queue_lease("a")
        assert storage.acquire_queue_lease("b", 60, now=T0 + 2)

    def test_a_lease_needs_a_positive_duration(self, storage: Storage) -> None:
        with pytest.raises(InvalidInvocationError, match=r"lease of the run queue.*got 0"):
            storage.acquire_queue_lease("a", 0)
        assert storage.acquire_queue_lease("b", 5)
