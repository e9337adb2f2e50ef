"""The daemon's ``backfills`` duty: each pass advances every requested backfill.

A pass plans a backfill's chunks (cached between passes), looks up the runs of the chunks that
others wait for, and submits to the run queue (QUEUED, so the queue's limits and pools hold)
each chunk whose upstream chunks in the backfill have materialized; a chunk whose upstream
failed is skipped. Runs are derived from the group's template run (no code server call per
run), written in batches, and the progress is stored after each batch. A daemon killed between
writing runs and storing progress writes the same run ids again on its next pass: storage
refuses them (``RunAlreadyStoredError``), so no run is ever made twice.

A backfill asked to cancel has its queued runs canceled and ends CANCELED (runs already
started finish); one with nothing left to request ends COMPLETED once all its runs have
succeeded, FAILED once they have all finished and one did not.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from knoll.daemon.backfill.model import (
    BACKFILL_TAG,
    ENDED,
    MATERIALIZED,
    REQUESTED,
    SKIPPED,
    SUBMITTED,
    BackfillBody,
    Group,
    GroupPlan,
    chunk_run_id,
    partition_tags,
    plan_backfill,
)
from knoll.daemon.backfill.state import (
    cancel_requested,
    count_unfinished_runs,
    refresh,
    save,
)
from knoll.errors import RunAlreadyStoredError, RunStatusError, WorkspaceError
from knoll.execution.events import EventType, run_event
from knoll.execution.run import Run, RunStatus
from knoll.instance.launcher import LaunchRequest
from knoll.storage.base import Backfill, BackfillStatus, RunsFilter

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = ["BACKFILL_DUTY", "BackfillSubmitter", "BuildRun"]

BACKFILL_DUTY = "backfills"
"""The daemon duty that submits the runs of backfills, and the name of its lease."""

BATCH = 1000  # runs written (and progress stored) at a time
_BLOCKED = frozenset(ord(s) for s in ENDED - {MATERIALIZED})

_log = logging.getLogger("knoll.daemon.backfills")

BuildRun = Callable[[LaunchRequest, str], Run]
"""Builds one run through the code server of a location (for groups without a template)."""


@dataclass
class _Pending:
    group: int
    chunk: int
    run: Run


class BackfillSubmitter:
    """Advances backfills, one pass at a time (see the module). ``build`` builds a run
    through a code server, for groups whose run config depends on the partition; ``keep``
    (renewing the duty's lease) is called between batches and stops the pass when False."""

    def __init__(
        self,
        instance: Instance,
        build: BuildRun | None = None,
        *,
        batch: int = BATCH,
    ) -> None:
        self.instance = instance
        self.build = build
        self.batch = batch
        self._plans: dict[str, list[GroupPlan]] = {}

    def one_pass(self, keep: Callable[[], bool] = lambda: True) -> None:
        """Advance every backfill that is CANCELING or REQUESTED."""
        storage = self.instance.storage
        first_error: Exception | None = None
        for status in (BackfillStatus.CANCELING, BackfillStatus.REQUESTED):
            for backfill in storage.get_backfills(status=status, limit=1000):
                try:
                    if not self.advance(backfill, keep):
                        break
                except Exception as exc:  # the others go on; the pass reports the first
                    self._fail(backfill, exc)
                    first_error = first_error or exc
        if first_error is not None:
            raise first_error

    def advance(self, backfill: Backfill, keep: Callable[[], bool] = lambda: True) -> bool:
        """One step of one backfill; False when ``keep`` said to stop the pass."""
        body = BackfillBody.from_json(backfill.body)
        body.error = None  # the error of an earlier pass, if any, is over once this one works
        plans = self._plan(backfill.backfill_id, body)
        if cancel_requested(self.instance, backfill):
            self._cancel(backfill, body, plans)
            return True
        gating = sorted(
            {e.group for g in body.groups if REQUESTED.encode() in g.states for e in g.parents}
        )
        refresh(self.instance, backfill.backfill_id, body, plans, gating)
        if not self._submit(backfill, body, plans, keep):
            return False
        self._finish(backfill, body, plans)
        return True

    def forget(self, backfill_id: str) -> None:
        self._plans.pop(backfill_id, None)

    # ---- planning and submitting ----------------------------------------------------------

    def _plan(self, backfill_id: str, body: BackfillBody) -> list[GroupPlan]:
        plans = self._plans.get(backfill_id)
        if plans is None:
            plans = plan_backfill(body, self.instance.storage)
            self._plans[backfill_id] = plans
        return plans

    def _submit(
        self,
        backfill: Backfill,
        body: BackfillBody,
        plans: Sequence[GroupPlan],
        keep: Callable[[], bool],
    ) -> bool:
        pending: list[_Pending] = []
        for index, (group, plan) in enumerate(zip(body.groups, plans, strict=True)):
            for chunk in _requested(group):
                waits = plan.waits_for[chunk] if plan.waits_for is not None else ()
                upstream = [body.groups[g].states[c] for g, c in waits]
                if any(state in _BLOCKED for state in upstream):
                    group.states[chunk] = ord(SKIPPED)
                    continue
                if any(state != ord(MATERIALIZED) for state in upstream):
                    continue  # waits for its upstream partitions
                pending.append(_Pending(index, chunk, self._run(backfill, body, index, chunk)))
                if len(pending) >= self.batch:
                    self._write(backfill, body, pending)
                    pending = []
                    if not keep():
                        return False
                    if self._canceled(backfill):
                        return False
        self._write(backfill, body, pending)
        return True

    def _run(self, backfill: Backfill, body: BackfillBody, index: int, chunk: int) -> Run:
        group, plan = body.groups[index], self._plans[backfill.backfill_id][index]
        keys = plan.chunk_keys(chunk)
        run_id = chunk_run_id(backfill.backfill_id, group, keys[0], keys[-1], group.attempt(chunk))
        template = group.template
        if template is None:
            template = self._build(backfill, body, group, keys)
            return replace(template, run_id=run_id, status=RunStatus.QUEUED)
        tags = {**template.tags, **partition_tags(keys)}
        return replace(template, run_id=run_id, status=RunStatus.QUEUED, tags=tags)

    def _build(
        self, backfill: Backfill, body: BackfillBody, group: Group, keys: Sequence[str]
    ) -> Run:
        if self.build is None:
            raise WorkspaceError(
                f"backfill {backfill.backfill_id}: the runs of {group.name} are built by the code "
                f"server of location {body.location!r}, and this daemon serves none: run "
                "`knoll daemon run` with that location (-m, -f or -w)."
            )
        request = LaunchRequest(
            job_name=group.job_name,
            asset_selection=(
                None if group.assets is None
                else ", ".join(k.to_user_string() for k in group.assets)
            ),
            run_config=dict(body.run_config),
            tags={**body.tags, BACKFILL_TAG: backfill.backfill_id},
            partition_key=keys[0] if len(keys) == 1 else None,
            partition_range_start=keys[0] if len(keys) > 1 else None,
            partition_range_end=keys[-1] if len(keys) > 1 else None,
        )  # fmt: skip
        return self.build(request, body.location)

    def _write(self, backfill: Backfill, body: BackfillBody, pending: Sequence[_Pending]) -> None:
        """Store the runs of ``pending`` (a run stored by an earlier pass is kept), then the
        progress that says they are submitted."""
        if not pending:
            save(self.instance, backfill, body, BackfillStatus.REQUESTED)
            return
        storage = self.instance.storage
        try:
            storage.add_runs([p.run for p in pending])
        except RunAlreadyStoredError:
            # a pass before this one stored some of them and stopped before saying so
            for item in pending:
                with contextlib.suppress(RunAlreadyStoredError):
                    storage.add_run(item.run)
        for item in pending:
            body.groups[item.group].states[item.chunk] = ord(SUBMITTED)
        save(self.instance, backfill, body, BackfillStatus.REQUESTED)

    def _canceled(self, backfill: Backfill) -> bool:
        stored = self.instance.storage.get_backfill(backfill.backfill_id)
        return stored is None or cancel_requested(self.instance, stored)

    # ---- ending ------------------------------------------------------------------------------

    def _finish(self, backfill: Backfill, body: BackfillBody, plans: Sequence[GroupPlan]) -> None:
        if any(REQUESTED.encode() in group.states for group in body.groups):
            return
        if count_unfinished_runs(self.instance, backfill.backfill_id):
            return
        refresh(self.instance, backfill.backfill_id, body, plans, range(len(body.groups)))
        done = all(
            group.states.count(MATERIALIZED.encode()) == len(group.states) for group in body.groups
        )
        status = BackfillStatus.COMPLETED if done else BackfillStatus.FAILED
        saved = save(self.instance, backfill, body, status)
        if saved.status is not BackfillStatus.CANCELING:
            self.forget(backfill.backfill_id)

    def _cancel(self, backfill: Backfill, body: BackfillBody, plans: Sequence[GroupPlan]) -> None:
        """Cancel the backfill's queued runs and end it CANCELED."""
        instance = self.instance
        tags = {BACKFILL_TAG: backfill.backfill_id}
        while True:
            page = instance.storage.get_runs(
                RunsFilter(tags=tags, statuses=[RunStatus.QUEUED]), limit=self.batch
            )
            if not page.records:
                break
            _cancel_queued(instance, [record.run for record in page.records], backfill)
        refresh(instance, backfill.backfill_id, body, plans, range(len(body.groups)))
        for group in body.groups:
            group.states = group.states.replace(SKIPPED.encode(), REQUESTED.encode())
        updated = Backfill(
            backfill.backfill_id,
            BackfillStatus.CANCELED,
            backfill.created_timestamp,
            body.to_json(),
        )
        instance.storage.update_backfill(updated)
        self.forget(backfill.backfill_id)
        _log.info("backfill %s canceled", backfill.backfill_id)

    def _fail(self, backfill: Backfill, exc: Exception) -> None:
        """Log why ``backfill`` could not advance and keep it in the backfill (``show``
        prints it); the next pass tries again."""
        error = f"{type(exc).__name__}: {exc}"
        _log.error("backfill %s could not advance: %s", backfill.backfill_id, error)
        self.forget(backfill.backfill_id)
        with contextlib.suppress(Exception):  # the storage itself may be what failed
            stored = self.instance.storage.get_backfill(backfill.backfill_id)
            if stored is not None:
                body = dict(stored.body)
                body["error"] = error
                self.instance.storage.update_backfill(
                    Backfill(stored.backfill_id, stored.status, stored.created_timestamp, body)
                )


def _requested(group: Group) -> list[int]:
    states = group.states
    found: list[int] = []
    at = states.find(REQUESTED.encode())
    while at != -1:
        found.append(at)
        at = states.find(REQUESTED.encode(), at + 1)
    return found


def _cancel_queued(instance: Instance, runs: Sequence[Run], backfill: Backfill) -> None:
    message = f"canceled with backfill {backfill.backfill_id}"
    events = [run_event(run, EventType.RUN_CANCELED, f"run {run.run_id} {message}") for run in runs]
    try:
        instance.write_events(events)
    except RunStatusError:  # one started meanwhile: cancel the others one by one
        for event in events:
            with contextlib.suppress(RunStatusError):
                instance.write_events([event])
