"""Where a run is recorded: the one typed seam between execution and whatever stores runs.

Execution never sees an instance, a storage or a code server: it sees a :class:`RunRecorder`.
Three implement it: ``knoll.instance.Instance`` (a deployment's storage), :class:`MemoryRecorder`
(a run that keeps nothing beyond its result, such as ``materialize()`` without an instance)
and the run worker's recorder (a run stored already by the launcher, which it checks before
it starts and which a canceller may move while it runs).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from knoll.execution.events import EventType, RunEvent
from knoll.execution.run import Run

if TYPE_CHECKING:
    from knoll.execution.capture import ComputeLogTarget
    from knoll.execution.pools import SlotClaims

__all__ = ["MemoryRecorder", "RunRecorder"]


@runtime_checkable
class RunRecorder(Protocol):
    """What a run needs from the place it is recorded in."""

    # ---- where a run's files and leases go

    @property
    def outputs_dir(self) -> Path | None:
        """The base folder of the default IO manager's files (None: its own default)."""
        ...

    @property
    def compute_logs(self) -> ComputeLogTarget | None:
        """Where steps' stdout and stderr are captured (None: not captured)."""
        ...

    @property
    def slot_claims(self) -> SlotClaims | None:
        """Where pool slots are claimed (None: pools are not honoured)."""
        ...

    @property
    def shares_events(self) -> bool:
        """Whether others read the run's events while it runs (they are then also written
        in the background during long steps, not only when a step ends)."""
        ...

    @property
    def context_instance(self) -> object | None:
        """What ``context.instance`` gives user code."""
        ...

    def process_reference(self) -> dict[str, str] | None:
        """How a worker process opens this recorder again: ``{"open": "module:function",
        "home": path}``; None when it cannot (the worker then records nothing of its own)."""
        ...

    # ---- heartbeats (so that a run whose process died does not stay STARTED)

    @property
    def run_heartbeat_interval(self) -> float | None:
        """Seconds between two heartbeats of a run executing into this recorder; None when
        its runs do not beat (nothing outside this process could read the heartbeat)."""
        ...

    def record_run_heartbeat(self, run_id: str, *, interval: float) -> object:
        """Record that this process (its pid, on this host) is alive and running ``run_id``,
        and will beat again within ``interval`` seconds."""
        ...

    # ---- writing

    def start_run(self, run: Run) -> None:
        """Record that ``run`` (STARTING) is about to execute, before its first event."""
        ...

    def write_events(self, events: Sequence[RunEvent]) -> None:
        """Store a batch of the run's events, all or none."""
        ...

    # ---- reading (partitions, and the outputs of earlier runs)

    def find_run(self, run_id: str) -> Run | None:
        """The recorded run ``run_id``, or None."""
        ...

    def events_of_run(self, run_id: str, of_types: Collection[EventType]) -> list[RunEvent]:
        """The recorded events of ``run_id`` of these types, in order."""
        ...

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]: ...

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool: ...


class MemoryRecorder:
    """A recorder that keeps runs and events in this process's memory, and nothing else: no
    compute logs, no pools, no dynamic partitions, nothing another process could read."""

    outputs_dir: Path | None = None
    compute_logs: ComputeLogTarget | None = None
    slot_claims: SlotClaims | None = None
    shares_events = False
    context_instance: object | None = None
    run_heartbeat_interval: float | None = None

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}
        self._events: dict[str, list[RunEvent]] = {}

    def process_reference(self) -> dict[str, str] | None:
        return None

    def record_run_heartbeat(self, run_id: str, *, interval: float) -> None:
        return None  # kept nowhere: no other process could read it

    def start_run(self, run: Run) -> None:
        self._runs[run.run_id] = run
        self._events.setdefault(run.run_id, [])

    def write_events(self, events: Sequence[RunEvent]) -> None:
        for event in events:
            self._events.setdefault(event.run_id, []).append(event)

    def find_run(self, run_id: str) -> Run | None:
        return self._runs.get(run_id)

    def events_of_run(self, run_id: str, of_types: Collection[EventType]) -> list[RunEvent]:
        return [e for e in self._events.get(run_id, ()) if e.event_type in of_types]

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        return []

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return False
