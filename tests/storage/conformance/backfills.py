"""The ``BackfillStorage`` conformance suite."""

from __future__ import annotations

from dataclasses import replace

import pytest

from knoll.errors import StorageError
from knoll.storage.base import Backfill, BackfillStatus, Storage


def _backfill(backfill_id: str, status: BackfillStatus = BackfillStatus.REQUESTED) -> Backfill:
    body = {
        "selection": ["sales", "sales_report"],
        "partitions": {"start": "2024-01-01", "end": "2024-03-31"},
        "tags": {"team": "data"},
        "single_run": False,
        "retries": None,
    }
    return Backfill(backfill_id, status, 1_700_000_000.5, body)


class BackfillStorageSuite:
    """Backfills: added once, read, updated, listed newest first by status. Subclasses
    provide the ``storage`` fixture."""

    def test_add_and_get(self, storage: Storage) -> None:
        backfill = _backfill("bf-1")
        storage.add_backfill(backfill)
        assert storage.get_backfill("bf-1") == backfill
        assert storage.get_backfill("bf-2") is None

    def test_a_duplicate_id_is_refused(self, storage: Storage) -> None:
        storage.add_backfill(_backfill("bf-1"))
        with pytest.raises(StorageError, match="backfill bf-1 is stored already"):
            storage.add_backfill(_backfill("bf-1", BackfillStatus.COMPLETED))
        fetched = storage.get_backfill("bf-1")
        assert fetched is not None
        assert fetched.status is BackfillStatus.REQUESTED

    def test_update(self, storage: Storage) -> None:
        storage.add_backfill(_backfill("bf-1"))
        changed = replace(
            _backfill("bf-1"),
            status=BackfillStatus.CANCELING,
            body={**_backfill("bf-1").body, "done": ["2024-01-01"]},
        )
        storage.update_backfill(changed)
        assert storage.get_backfill("bf-1") == changed

    def test_updating_an_unknown_backfill_raises(self, storage: Storage) -> None:
        with pytest.raises(StorageError, match="cannot update backfill bf-9: it is not in"):
            storage.update_backfill(_backfill("bf-9"))
        assert storage.get_backfill("bf-9") is None

    def test_list_newest_first_by_status(self, storage: Storage) -> None:
        statuses = [
            BackfillStatus.COMPLETED,
            BackfillStatus.REQUESTED,
            BackfillStatus.FAILED,
            BackfillStatus.REQUESTED,
        ]
        for i, status in enumerate(statuses):
            storage.add_backfill(_backfill(f"bf-{i}", status))
        assert [b.backfill_id for b in storage.get_backfills()] == ["bf-3", "bf-2", "bf-1", "bf-0"]
        requested = storage.get_backfills(status=BackfillStatus.REQUESTED)
        assert [b.backfill_id for b in requested] == ["bf-3", "bf-1"]
        assert [b.backfill_id for b in storage.get_backfills(limit=2)] == ["bf-3", "bf-2"]
        assert list(storage.get_backfills(status=BackfillStatus.CANCELED)) == []
        # a status change moves a backfill between lists, not in the order
        storage.update_backfill(_backfill("bf-1", BackfillStatus.COMPLETED))
        completed = storage.get_backfills(status=BackfillStatus.COMPLETED)
        assert [b.backfill_id for b in completed] == ["bf-1", "bf-0"]

    def test_list_pages_on_from_the_last_backfill_of_a_page(self, storage: Storage) -> None:
        for i in range(5):
            status = BackfillStatus.FAILED if i % 2 else BackfillStatus.REQUESTED
            storage.add_backfill(_backfill(f"bf-{i}", status))
        assert [b.backfill_id for b in storage.get_backfills(limit=2, before="bf-3")] == [
            "bf-2",
            "bf-1",
        ]
        requested = storage.get_backfills(status=BackfillStatus.REQUESTED, before="bf-4")
        assert [b.backfill_id for b in requested] == ["bf-2", "bf-0"]
        assert list(storage.get_backfills(before="bf-0")) == []
        assert list(storage.get_backfills(before="no-such-backfill")) == []
