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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knoll.errors import InvalidInvocationError, RunStatusError
from knoll.execution.events import EventType, run_event
from knoll.execution.run import Run, RunStatus
from knoll.instance.config import RunQueueSettings
from knoll.storage.base import PRIORITY_TAG, QUEUE_LEASE, RunRecord, check_lease_seconds

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


@dataclass
class _Room:
    """What the queue limits leave free during one pass: in-progress runs, overall and per tag."""

    limits: RunQueueSettings
    in_progress: int
    counts: dict[tuple[str, str], int]
    keys: list[str]

    @classmethod
    def measure(cls, instance: Instance, limits: RunQueueSettings) -> _Room:
        storage = instance.storage
        keys = sorted({limit.key for limit in limits.tag_concurrency_limits})
        counts = dict(storage.count_in_progress_runs_by_tag(keys)) if keys else {}
        return cls(limits, storage.count_in_progress_runs(), counts, keys)

    def is_full(self) -> bool:
        maximum = self.limits.max_concurrent_runs
        return maximum >= 0 and self.in_progress >= maximum

    def holds_back(self, tags: Mapping[str, str]) -> bool:
        return any(
            limit.applies_to(tags) and limit.in_progress(self.counts, tags) >= limit.limit
            for limit in self.limits.tag_concurrency_limits
        )

    def take(self, tags: Mapping[str, str], amount: int = 1) -> None:
        self.in_progress += amount
        for pair in ((key, tags[key]) for key in self.keys if key in tags):
            self.counts[pair] = self.counts.get(pair, 0) + amount


class _Lease:
    """The dequeue lease of one pass, renewed when the pass has used half of it."""

    def __init__(self, instance: Instance, owner: str, seconds: float) -> None:
        self._storage = instance.storage
        self._owner = owner
        self._seconds = seconds
        self._deadline = time.monotonic() + seconds / 2

    def still_held(self) -> bool:
        if time.monotonic() <= self._deadline:
            return True
        # A long pass renews the lease; if it was lost, another dequeuer has the queue.
        if not self._storage.renew_lease(QUEUE_LEASE, self._owner, self._seconds):
            return False
        self._deadline = time.monotonic() + self._seconds / 2
        return True


def dequeue(
    instance: Instance,
    launch: Callable[[RunRecord], None],
    *,
    settings: RunQueueSettings | None = None,
    owner: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    now: float | None = None,
    accept: Callable[[RunRecord], bool] | None = None,
    keep_lease: bool = False,
) -> list[str]:
    """Start the queued runs that fit the limits: returns their run ids, in the order started.

    ``launch`` receives each run once it is STARTING; a launch that raises moves that run to
    FAILURE and the pass goes on. A run that ``accept`` refuses (a run of a code location
    another queue worker serves) is left QUEUED, untouched, and holds back no run behind it.
    Returns ``[]`` without looking at the queue when another dequeuer holds the lease.
    ``settings`` defaults to ``run_queue`` of the instance's knoll.yaml. With ``keep_lease``
    the lease stays with ``owner`` after the pass (the daemon holds it between passes and
    renews it); otherwise the pass releases it.
    """
    limits = settings if settings is not None else instance.settings.run_queue
    storage = instance.storage
    me = owner if owner is not None else dequeuer_id()
    check_lease_seconds("the run queue", lease_seconds)
    if not storage.acquire_lease(QUEUE_LEASE, me, lease_seconds, now=now):
        return []
    try:
        queued = storage.get_queued_runs()
        if not queued:
            return []
        lease = _Lease(instance, me, lease_seconds)
        return _start_fitting(
            instance, queued, _Room.measure(instance, limits), lease, launch, accept
        )
    finally:
        if not keep_lease:
            storage.release_lease(QUEUE_LEASE, me)


def _start_fitting(
    instance: Instance,
    queued: Sequence[RunRecord],
    room: _Room,
    lease: _Lease,
    launch: Callable[[RunRecord], None],
    accept: Callable[[RunRecord], bool] | None,
) -> list[str]:
    started: list[str] = []
    for record in queued:
        if room.is_full():
            break
        if accept is not None and not accept(record):
            continue  # another dequeuer's run: not claimed, not counted
        if room.holds_back(record.run.tags):
            continue  # held back by a tag limit; the runs behind it may still fit
        if not lease.still_held():
            break
        claimed = instance.storage.claim_queued_run(record.run.run_id)
        if claimed is None:
            continue  # cancelled meanwhile, or started by a dequeuer that raced us
        if _launch(instance, claimed, room, launch):
            started.append(claimed.run.run_id)
    return started


def _launch(
    instance: Instance, claimed: RunRecord, room: _Room, launch: Callable[[RunRecord], None]
) -> bool:
    tags = claimed.run.tags
    room.take(tags)
    try:
        launch(claimed)
    except Exception as exc:
        _fail_launch(instance, claimed, exc)
        room.take(tags, -1)  # it ended: it takes no room from the runs behind it
        return False
    return True


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
