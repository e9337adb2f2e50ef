"""What a user does to a stored backfill: read its progress, cancel it, resume it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from knoll.daemon.backfill.model import (
    CANCELED,
    FAILED,
    MATERIALIZED,
    REQUESTED,
    SKIPPED,
    SUBMITTED,
    BackfillBody,
    plan_backfill,
)
from knoll.daemon.backfill.state import cancel_key, chunk_run_ids, get_backfill, refresh
from knoll.errors import InvalidInvocationError
from knoll.storage.base import Backfill, BackfillStatus

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = ["GroupProgress", "Progress", "backfill_progress", "cancel_backfill", "resume_backfill"]

STATE_NAMES: Mapping[str, str] = {
    REQUESTED: "requested",
    SUBMITTED: "in progress",
    MATERIALIZED: "materialized",
    FAILED: "failed",
    CANCELED: "canceled",
    SKIPPED: "skipped",
}
"""The name of each chunk state, in the order progress lists them."""


@dataclass(frozen=True)
class GroupProgress:
    """One group of assets (or the job): partitions and run ids by state name."""

    name: str
    assets: tuple[str, ...]
    partitions: Mapping[str, int]
    run_ids: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    by_partition: tuple[tuple[str, str, str | None], ...] = ()
    """Each partition: its key, its state's name and its run id (None before it has one)."""


@dataclass(frozen=True)
class Progress:
    """Where a backfill is, read from its stored state and its runs."""

    backfill: Backfill
    body: BackfillBody
    groups: tuple[GroupProgress, ...]

    def total(self, state_name: str) -> int:
        return sum(group.partitions.get(state_name, 0) for group in self.groups)


def backfill_progress(instance: Instance, backfill_id: str) -> Progress:
    """The progress of backfill ``backfill_id``, with its submitted runs looked up now."""
    backfill = get_backfill(instance, backfill_id)
    body = BackfillBody.from_json(backfill.body)
    plans = plan_backfill(body, instance.storage)
    refresh(instance, backfill.backfill_id, body, plans, range(len(body.groups)))
    groups: list[GroupProgress] = []
    for group, plan in zip(body.groups, plans, strict=True):
        partitions = dict.fromkeys(STATE_NAMES.values(), 0)
        by_state: dict[str, list[int]] = {}
        for chunk, state in enumerate(group.states.decode()):
            partitions[STATE_NAMES[state]] += plan.chunk_size(chunk)
            by_state.setdefault(state, []).append(chunk)
        run_of: dict[int, str] = {}
        for state, chunks in by_state.items():
            if state not in (REQUESTED, SKIPPED):
                ids = chunk_run_ids(backfill.backfill_id, group, plan, chunks)
                run_of.update(zip(chunks, ids, strict=True))
        run_ids = {
            STATE_NAMES[state]: tuple(run_of[chunk] for chunk in chunks)
            for state, chunks in by_state.items()
            if state not in (REQUESTED, SKIPPED)
        }
        by_partition = tuple(
            (key, STATE_NAMES[chr(group.states[chunk])], run_of.get(chunk))
            for chunk in range(len(plan.chunks))
            for key in plan.chunk_keys(chunk)
        )
        names = (
            tuple(k.to_user_string() for k in group.assets)
            if group.assets is not None
            else (group.name,)
        )
        groups.append(GroupProgress(group.name, names, partitions, run_ids, by_partition))
    return Progress(backfill, body, tuple(groups))


def cancel_backfill(instance: Instance, backfill_id: str) -> Backfill:
    """Ask the daemon to cancel backfill ``backfill_id``: it requests no more runs, cancels
    its queued runs and ends CANCELED. Returns the backfill, now CANCELING."""
    backfill = get_backfill(instance, backfill_id)
    if backfill.status is BackfillStatus.CANCELING:
        return backfill
    if backfill.status is not BackfillStatus.REQUESTED:
        raise InvalidInvocationError(
            f"backfill {backfill_id} is {backfill.status.value}: only a requested backfill can "
            f"be canceled. `knoll backfill show {backfill_id}` shows what it did."
        )
    instance.storage.kv_set({cancel_key(backfill_id): "1"})
    canceling = Backfill(
        backfill_id, BackfillStatus.CANCELING, backfill.created_timestamp, backfill.body
    )
    instance.storage.update_backfill(canceling)
    return canceling


def resume_backfill(instance: Instance, backfill_id: str) -> int:
    """Request again the partitions of a FAILED or CANCELED backfill that did not
    materialize (failed, canceled, skipped or never requested): how many there are."""
    backfill = get_backfill(instance, backfill_id)
    if backfill.status not in (BackfillStatus.FAILED, BackfillStatus.CANCELED):
        hint = {
            BackfillStatus.COMPLETED: "every partition of it has materialized",
            BackfillStatus.REQUESTED: "the daemon is still submitting its runs",
            BackfillStatus.CANCELING: "wait until it is CANCELED",
        }[backfill.status]
        raise InvalidInvocationError(
            f"backfill {backfill_id} is {backfill.status.value}, so there is nothing to resume "
            f"({hint}): only a FAILED or CANCELED backfill can be resumed."
        )
    body = BackfillBody.from_json(backfill.body)
    plans = plan_backfill(body, instance.storage)
    refresh(instance, backfill_id, body, plans, range(len(body.groups)))
    again = 0
    for group, plan in zip(body.groups, plans, strict=True):
        for chunk, state in enumerate(group.states.decode()):
            if state in (FAILED, CANCELED):
                group.next_attempt(chunk)
            if state in (FAILED, CANCELED, SKIPPED, REQUESTED):
                group.states[chunk] = ord(REQUESTED)
                again += plan.chunk_size(chunk)
    body.error = None
    instance.storage.kv_set({cancel_key(backfill_id): "0"})
    instance.storage.update_backfill(
        Backfill(backfill_id, BackfillStatus.REQUESTED, backfill.created_timestamp, body.to_json())
    )
    return again
