"""Stopping a run on SIGTERM/SIGINT without storing any batch of its events twice.

A signal turns into an exception in the main thread; the run's executor catches it, records
RUN_CANCELED and tears resources down. Two things would otherwise go wrong:

- a signal that lands while a batch is being stored (committed, but the write has not
  returned) makes the event writer keep that batch as unwritten, and write it again with
  RUN_CANCELED: the switch holds the exception back until the write has returned;
- an exception raised once a batch is stored (by the switch, or while a later sink such as
  the command line's reporter prints it) has the same effect: the switch remembers the last
  stored batch and drops those very events when they come again.

``knoll asset materialize``/``knoll job execute``/``knoll run reexecute`` and the run worker
use it, through :class:`GuardedRecorder` or their own recorder.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from knoll.execution.events import EventType, RunEvent
from knoll.execution.recorder import RunRecorder
from knoll.execution.run import Run

if TYPE_CHECKING:
    from knoll.execution.capture import ComputeLogTarget
    from knoll.execution.pools import SlotClaims

__all__ = ["CancelSwitch", "GuardedRecorder"]

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class CancelSwitch:
    """Turns SIGTERM/SIGINT into ``error(signum)`` in the main thread, but never in the middle
    of an event write, and never so that a stored batch is stored again."""

    def __init__(self, error: Callable[[int], BaseException]) -> None:
        self.pid = os.getpid()
        self.requested = False
        self.raised = False
        self.writing = 0
        self.signum: int | None = None
        self._error = error
        self._stored: set[int] = set()
        self._stored_events: list[RunEvent] = []  # keeps the ids in _stored unique

    def install(self) -> Callable[[], None]:
        """Handle SIGTERM and SIGINT with this switch; returns what puts the old handlers back."""
        previous = {signum: signal.signal(signum, self.on_signal) for signum in SIGNALS}

        def restore() -> None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

        return restore

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self.pid:
            # a step worker forked by the multiprocess executor (the signal went to the whole
            # process group): it simply stops, and the run's own process records the end
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if self.signum is None:
            self.signum = signum
        self.requested = True
        if not self.writing:
            self.raise_once()

    def raise_once(self) -> None:
        if self.requested and not self.raised:
            self.raised = True
            raise self._error(self.signum if self.signum is not None else signal.SIGINT)

    def write(
        self, events: Sequence[RunEvent], store: Callable[[Sequence[RunEvent]], None]
    ) -> None:
        """Store ``events`` with ``store``, minus those this switch saw stored already; a
        signal that arrives meanwhile takes effect once ``store`` has returned."""
        fresh = [e for e in events if id(e) not in self._stored]
        self.writing += 1
        try:
            if fresh or not events:
                store(fresh)
            self._stored_events = list(events)
            self._stored = {id(e) for e in self._stored_events}
        finally:
            self.writing -= 1
        self.raise_once()


class GuardedRecorder:
    """A run recorder that stores through ``recorder`` under ``switch`` (see
    :meth:`CancelSwitch.write`); everything else is ``recorder``'s."""

    def __init__(self, recorder: RunRecorder, switch: CancelSwitch) -> None:
        self._recorder = recorder
        self._switch = switch
        self.run_id: str | None = None  # the run it recorded, once started

    @property
    def outputs_dir(self) -> Path | None:
        return self._recorder.outputs_dir

    @property
    def compute_logs(self) -> ComputeLogTarget | None:
        return self._recorder.compute_logs

    @property
    def slot_claims(self) -> SlotClaims | None:
        return self._recorder.slot_claims

    @property
    def shares_events(self) -> bool:
        return self._recorder.shares_events

    @property
    def context_instance(self) -> object | None:
        return self._recorder.context_instance

    @property
    def run_heartbeat_interval(self) -> float | None:
        return self._recorder.run_heartbeat_interval

    def process_reference(self) -> dict[str, str] | None:
        return self._recorder.process_reference()

    def record_run_heartbeat(self, run_id: str, *, interval: float) -> object:
        return self._recorder.record_run_heartbeat(run_id, interval=interval)

    def start_run(self, run: Run) -> None:
        self._recorder.start_run(run)
        self.run_id = run.run_id

    def write_events(self, events: Sequence[RunEvent]) -> None:
        self._switch.write(events, self._recorder.write_events)

    def find_run(self, run_id: str) -> Run | None:
        return self._recorder.find_run(run_id)

    def events_of_run(self, run_id: str, of_types: Collection[EventType]) -> list[RunEvent]:
        return self._recorder.events_of_run(run_id, of_types)

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        return self._recorder.get_dynamic_partitions(partitions_def_name)

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return self._recorder.has_dynamic_partition(partitions_def_name, partition_key)
