"""Reading and writing a backfill's state: its body, the runs of its chunks, the cancel flag.

Cancelling is asked for twice: the status goes to CANCELING and a key-value flag is set, so a
daemon that rewrites the backfill's progress at the same moment cannot lose the request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from knoll.daemon.backfill.model import (
    BACKFILL_TAG,
    FAILED,
    SUBMITTED,
    BackfillBody,
    Group,
    GroupPlan,
    chunk_run_id,
    state_of_run,
)
from knoll.errors import InvalidInvocationError
from knoll.execution.run import RunStatus
from knoll.storage.base import Backfill, BackfillStatus, RunsFilter

if TYPE_CHECKING:
    from knoll.instance import Instance

_LOOKUP = 500  # run ids per query
UNFINISHED = tuple(status for status in RunStatus if not status.is_finished)


def cancel_key(backfill_id: str) -> str:
    return f"knoll/backfill/{backfill_id}/cancel"


def cancel_requested(instance: Instance, backfill: Backfill) -> bool:
    if backfill.status is BackfillStatus.CANCELING:
        return True
    key = cancel_key(backfill.backfill_id)
    return instance.storage.kv_get([key]).get(key) == "1"


def get_backfill(instance: Instance, backfill_id: str) -> Backfill:
    """The stored backfill ``backfill_id``; an error naming the command that lists them."""
    backfill = instance.storage.get_backfill(backfill_id)
    if backfill is None:
        raise InvalidInvocationError(
            f"there is no backfill {backfill_id!r} in {instance.settings.storage.describe()}: "
            "`knoll backfill list` shows the backfills there are."
        )
    return backfill


def save(
    instance: Instance, backfill: Backfill, body: BackfillBody, status: BackfillStatus
) -> Backfill:
    """Store ``body`` with ``status``; a cancel asked for meanwhile is kept (CANCELING)."""
    stored = instance.storage.get_backfill(backfill.backfill_id)
    if (
        status is BackfillStatus.REQUESTED
        and stored is not None
        and cancel_requested(instance, stored)
    ):
        status = BackfillStatus.CANCELING
    updated = Backfill(backfill.backfill_id, status, backfill.created_timestamp, body.to_json())
    instance.storage.update_backfill(updated)
    return updated


def chunk_run_ids(
    backfill_id: str, group: Group, plan: GroupPlan, chunks: Sequence[int]
) -> list[str]:
    ids: list[str] = []
    for chunk in chunks:
        first, last = plan.chunk_range(chunk)
        ids.append(chunk_run_id(backfill_id, group, first, last, group.attempt(chunk)))
    return ids


def submitted_chunks(group: Group) -> Iterator[int]:
    states = group.states
    at = states.find(SUBMITTED.encode())
    while at != -1:
        yield at
        at = states.find(SUBMITTED.encode(), at + 1)


def refresh(
    instance: Instance,
    backfill_id: str,
    body: BackfillBody,
    plans: Sequence[GroupPlan],
    groups: Sequence[int],
) -> None:
    """Move the submitted chunks of ``groups`` to what their runs say (a deleted run: failed)."""
    storage = instance.storage
    for index in groups:
        group, plan = body.groups[index], plans[index]
        chunks = list(submitted_chunks(group))
        for start in range(0, len(chunks), _LOOKUP):
            part = chunks[start : start + _LOOKUP]
            ids = chunk_run_ids(backfill_id, group, plan, part)
            page = storage.get_runs(RunsFilter(run_ids=ids), limit=len(ids))
            status_of = {r.run.run_id: r.run.status for r in page.records}
            for chunk, run_id in zip(part, ids, strict=True):
                status = status_of.get(run_id)
                state = FAILED if status is None else state_of_run(status)
                group.states[chunk] = ord(state)


def count_unfinished_runs(instance: Instance, backfill_id: str) -> int:
    return instance.storage.count_runs(
        RunsFilter(tags={BACKFILL_TAG: backfill_id}, statuses=UNFINISHED)
    )
