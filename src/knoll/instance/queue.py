"""The run queue: runs submitted as QUEUED wait here until the limits of ``run_queue`` in
knoll.yaml let them start.

``dequeue`` is one pass of the queue (``knoll run queue-worker`` calls it every
``dequeue_interval_seconds``): under the dequeue lease in storage, it takes queued runs in
order (higher ``knoll/priority`` first, then first in, first out), skips a run that a limit
holds back without holding back the runs behind it, moves each run it picks from QUEUED to
STARTING with a conditional update (so no run ever starts twice, even if two dequeuers race),
and hands it to ``launch``. Until a queue worker runs, queued runs stay QUEUED.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from knoll.errors import InvalidInvocationError, RunStatusError
from knoll.execution.events import EventType, run_event
from knoll.execution.run import Run, RunStatus
from knoll.instance.config import RunQueueSettings
from knoll.storage.base import PRIORITY_TAG, RunRecord

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = ["DEFAULT_LEASE_SECONDS", "dequeue", "dequeuer_id", "submit_run"]

DEFAULT_LEASE_SECONDS = 30.0
"""How long one dequeue pass may hold the lease before another dequeuer may take it over."""

_log = logging.getLogger("knoll.run_queue")


def dequeuer_id() -> str:
    """An owner name for the dequeue lease that no other process shares: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def submit_run(instance: Instance, run: Run) -> RunRecord:
    """Store ``run`` as QUEUED: it starts when ``dequeue`` finds room for it."""
    if run.status is not RunStatus.QUEUED:
        raise InvalidInvocationError(
            f"run {run.run_id} is {run.status.value}, so it cannot be queued: submit a new run "
            "(status QUEUED, the default), or start this one directly."
        )
    priority = run.tags.get(PRIORITY_TAG)
    if priority is not None:
        try:
            int(priority)
        except ValueError:
            raise InvalidInvocationError(
                f"run {run.run_id} has tag {PRIORITY_TAG}={priority!r}, which is not an "
                f"integer: write a whole number such as '10' (higher starts first) or '-1'."
            ) from None
    return instance.storage.add_run(run)


def dequeue(  # noqa: PLR0912
    instance: Instance,
    launch: Callable[[RunRecord], None],
    *,
    settings: RunQueueSettings | None = None,
    owner: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    now: float | None = None,
    accept: Callable[[RunRecord], bool] | None = None,
) -> list[str]:
    """Start the queued runs that fit the limits: returns their run ids, in the order started.

    ``launch`` receives each run once it is STARTING; a launch that raises moves that run to
    FAILURE and the pass goes on. A run that ``accept`` refuses (a run of a code location
    another queue worker serves) is left QUEUED, untouched, and holds back no run behind it.
    Returns ``[]`` without looking at the queue when another dequeuer holds the lease.
    ``settings`` defaults to ``run_queue`` of the instance's knoll.yaml.
    """
    limits = settings if settings is not None else instance.settings.run_queue
    storage = instance.storage
    me = owner if owner is not None else dequeuer_id()
    if not storage.acquire_queue_lease(me, lease_seconds, now=now):
        return []
    started: list[str] = []
    try:
        queued = storage.get_queued_runs()
        if not queued:
            return started
        in_progress = storage.count_in_progress_runs()
        tag_limits = limits.tag_concurrency_limits
        keys = sorted({limit.key for limit in tag_limits})
        counts = dict(storage.count_in_progress_runs_by_tag(keys)) if keys else {}
        unlimited = limits.max_concurrent_runs < 0
        deadline = time.monotonic() + lease_seconds / 2
        for record in queued:
            if not unlimited and in_progress >= limits.max_concurrent_runs:
                break
            if accept is not None and not accept(record):
                continue  # another dequeuer's run: not claimed, not counted
            tags = record.run.tags
            if any(
                limit.applies_to(tags) and limit.in_progress(counts, tags) >= limit.limit
                for limit in tag_limits
            ):
                continue  # held back by a tag limit; the runs behind it may still fit
            if time.monotonic() > deadline:
                # A long pass renews the lease; if it was lost, another dequeuer has the queue.
                if not storage.renew_queue_lease(me, lease_seconds):
                    break
                deadline = time.monotonic() + lease_seconds / 2
            claimed = storage.claim_queued_run(record.run.run_id)
            if claimed is None:
                continue  # cancelled meanwhile, or started by a dequeuer that raced us
            counted = [(key, tags[key]) for key in keys if key in tags]
            in_progress += 1
            for pair in counted:
                counts[pair] = counts.get(pair, 0) + 1
            try:
                launch(claimed)
            except Exception as exc:
                _fail_launch(instance, claimed, exc)
                # it ended: it takes no room from the runs behind it
                in_progress -= 1
                for pair in counted:
                    counts[pair] -= 1
                continue
            started.append(claimed.run.run_id)
    finally:
        storage.release_queue_lease(me)
    return started


def _fail_launch(instance: Instance, record: RunRecord, exc: Exception) -> None:
    run_id = record.run.run_id
    _log.error(
        "run %s could not be launched (%s: %s); it is marked FAILURE. Fix the run launcher "
        "and re-execute the run.",
        run_id,
        type(exc).__name__,
        exc,
    )
    current = instance.storage.get_run(run_id)
    if current is None or current.run.is_finished:
        return  # the launcher recorded why (or a canceller ended it)
    event = run_event(
        current.run,
        EventType.RUN_FAILURE,
        f"run {run_id} could not be launched: {type(exc).__name__}: {exc}",
    )
    with contextlib.suppress(RunStatusError):  # canceled meanwhile
        instance.write_events([event])
