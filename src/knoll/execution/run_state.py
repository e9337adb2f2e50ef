"""What the steps of one run share: the event writer, run state and step outcomes."""

from __future__ import annotations

import contextlib
import enum
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.job import JobDefinition
from knoll.defs.keys import AssetKey
from knoll.errors import KnollError, StorageWriteError
from knoll.execution.context import (
    OutputContext,
    PartitionScope,
)
from knoll.execution.events import (
    EventSink,
    EventType,
    RunEvent,
)
from knoll.execution.plan import (
    ExecutionPlan,
    FromCollected,
    FromMany,
    FromMapped,
    FromStep,
    Step,
    build_plan,
)
from knoll.execution.recorder import MemoryRecorder, RunRecorder
from knoll.execution.run import Run

if TYPE_CHECKING:
    from knoll.execution.pools import SlotKeeper


class StepOutcome(enum.Enum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    SKIPPED = "SKIPPED"


class EventWriter:
    """Builds a run's events and hands them to the sinks in batches.

    Batches go out when a step ends (one transaction per step for a persisted run) and, while
    ``flushing_every`` is active, every few tenths of a second in between, so that a long step
    shows as started without costing a transaction per event.
    """

    def __init__(self, run: Run, sinks: Sequence[EventSink]) -> None:
        self.run_id = run.run_id
        self.job_name = run.job_name
        self.sinks = list(sinks)
        self.all_events: list[RunEvent] = []
        self._pending: list[RunEvent] = []
        # One lock for appending and for writing, so batches reach the sinks in order.
        self._lock = threading.Lock()
        # Set by the first write the storage failed: from then on the run's steps stop.
        self.write_failure: StorageWriteError | None = None

    def emit(
        self,
        event_type: EventType,
        step_key: str | None,
        message: str = "",
        level: int = logging.DEBUG,
        data: Any = None,
    ) -> RunEvent:
        event = RunEvent(
            event_type, self.run_id, self.job_name, time.time(), step_key, message, level, data
        )
        with self._lock:
            self.all_events.append(event)
            self._pending.append(event)
        if self.write_failure is not None and step_key is not None:
            # a step logging on while its events cannot be stored: stop it here
            raise self.write_failure.with_detail("the step was stopped")
        return event

    def add(self, events: list[RunEvent]) -> None:
        """Take events built elsewhere (a worker process of this run) as this run's own."""
        with self._lock:
            self.all_events.extend(events)
            self._pending.extend(events)

    def flush(self) -> None:
        with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                # the recorder is the first sink: a batch it did not store reaches no other
                for sink in self.sinks:
                    sink.write_events(batch)
            except BaseException as exc:
                self._pending[:0] = batch  # not written: kept for the next flush
                if isinstance(exc, StorageWriteError) and self.write_failure is None:
                    self.write_failure = exc
                raise

    def drop_pending(self) -> int:
        """Forget the events not written yet (storage refused them); how many there were."""
        with self._lock:
            dropped, self._pending = len(self._pending), []
        return dropped

    @contextlib.contextmanager
    def flushing_every(self, seconds: float) -> Iterator[None]:
        """Flush in the background every ``seconds`` while the block runs (persisted runs)."""
        if not self.sinks:
            yield
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(seconds) and self.write_failure is None:
                # A failed write keeps its events; the next flush in the run's own thread
                # raises the error where the run can handle it (a storage that cannot write
                # also stops the step at its next event).
                with contextlib.suppress(Exception):
                    self.flush()

        thread = threading.Thread(target=loop, name=f"knoll-events-{self.run_id[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


@dataclass
class RunState:
    """What the steps of one run share."""

    run: Run
    job: JobDefinition
    resources: Any  # knoll.execution.resources.Resources
    node_config: Mapping[str, Any]
    partition: PartitionScope | None
    writer: EventWriter
    recorder: RunRecorder = field(default_factory=MemoryRecorder)
    # the pool slots of the run; None when steps run without claiming (no instance with
    # concurrency storage, no pooled step, or a worker whose coordinator claims for it)
    slots: SlotKeeper | None = None
    outputs: dict[tuple[str, str], Any] = field(default_factory=dict)
    output_contexts: dict[tuple[str, str], OutputContext] = field(default_factory=dict)
    outcomes: dict[str, StepOutcome] = field(default_factory=dict)
    errors: dict[str, KnollError] = field(default_factory=dict)
    blocked_assets: set[AssetKey] = field(default_factory=set)
    check_evaluations: list[AssetCheckEvaluation] = field(default_factory=list)
    # (dynamic step, output) -> its mapping keys, in the order they were yielded
    mapping_keys: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # a mapped step's unresolved key (``op[?]``) -> the step keys it became
    resolved: dict[str, list[str]] = field(default_factory=dict)
    _loop: Any = None  # an asyncio event loop, created for the first coroutine
    _worker: Any = None  # a one-thread pool, when the run was started inside a running loop

    def run_coroutine(self, coro: Any) -> Any:
        # asyncio is imported on first use: it costs more to import than all of knoll.
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._run_on_own_loop(coro)
        # The caller is itself async (a notebook, an async test): its loop cannot be re-entered
        # from here, so coroutines run on the run's own loop in one helper thread.
        if self._worker is None:
            from concurrent.futures import ThreadPoolExecutor

            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="knoll-async")
        # in the step's context, so that what it logs with get_knoll_logger reaches the step
        import contextvars

        context = contextvars.copy_context()
        return self._worker.submit(context.run, self._run_on_own_loop, coro).result()

    def _run_on_own_loop(self, coro: Any) -> Any:
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        loop, worker = self._loop, self._worker
        self._loop = self._worker = None
        if loop is not None:

            def finish() -> None:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

            if worker is not None:
                worker.submit(finish).result()
            else:
                finish()
        if worker is not None:
            worker.shutdown()


class StepFailed(Exception):
    """Raised inside a step to fail it with a knoll error (not user code), without retry."""

    def __init__(self, error: KnollError) -> None:
        self.error = error
        super().__init__(str(error))


@dataclass(frozen=True)
class Returned:
    value: Any


def error_text(exc: BaseException) -> str:
    # knoll's own messages read as sentences; other exceptions need their class to make sense
    return str(exc) if isinstance(exc, KnollError) else f"{type(exc).__name__}: {exc}"


def short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def produced(state: RunState, source: FromStep) -> bool:
    """False when the upstream step succeeded without yielding this (optional) output."""
    if state.outcomes.get(source.step_key) is not StepOutcome.SUCCESS:
        return True  # not run in this run (or failed): handled elsewhere
    return (source.step_key, source.output_name) in state.output_contexts


def step_sources(step: Step) -> tuple[FromStep, ...]:
    """The outputs of other steps that ``step`` reads."""
    found: list[FromStep] = []
    for source in step.inputs.values():
        if isinstance(source, FromStep):
            found.append(source)
        elif isinstance(source, FromMany):
            found.extend(source.sources)
    return tuple(found)


def outside_outputs(plan: ExecutionPlan) -> dict[tuple[str, str], Step]:
    """The outputs that steps of ``plan`` read from steps of its job that are not in it, each
    with the step that produces it: a plan narrowed to some steps of an op job (re-execution,
    resume) loads them from the run that stored them instead of computing them. A dynamic
    output, or a mapped step's output, is named as planned (``items`` of ``op[?]``), for every
    mapping key at once."""
    in_plan = set(plan.step_keys)
    wanted = [
        s
        for step in plan.steps
        for s in [*step_sources(step), *_dynamic_sources(step)]
        if s.step_key not in in_plan
    ]
    if not wanted:
        return {}
    every = {step.key: step for step in build_plan(plan.job).steps}
    return {(s.step_key, s.output_name): every[s.step_key] for s in wanted}


def _dynamic_sources(step: Step) -> list[FromStep]:
    return [
        FromStep(s.step_key, s.output_name)
        for s in step.inputs.values()
        if isinstance(s, (FromMapped, FromCollected))
    ]
