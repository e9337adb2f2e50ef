"""The multiprocess executor's coordinator: hands ready steps to warm workers, records events.

The coordinator is the process that called execute. It forks its workers once at run start
(after the code is loaded: no per-step spawn, no re-import), sends each a step whose upstream
steps have finished, and is the single writer of the run's events. A worker that dies fails
its step and is replaced.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Mapping
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any

from knoll._serdes import deserialize
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.executor import ExecutorDefinition
from knoll.errors import DefinitionError, ExecutionError, KnollError, UserCodeError
from knoll.execution.dynamic_steps import (
    dynamic_output_key,
    has_dynamic_outputs,
    has_mapped_steps,
    is_resolvable,
    needs_resolution,
    resolve_step,
    selection_keys,
)
from knoll.execution.events import (
    EventType,
    IOData,
    RunEvent,
    SerializableError,
    StepFailureData,
    StepOutputData,
)
from knoll.execution.plan import ExecutionPlan, Step
from knoll.execution.pools import POLL_INTERVAL, waiting_message
from knoll.execution.run_state import RunState, StepOutcome
from knoll.execution.step import skip_if_blocked
from knoll.execution.worker_pool import (
    DONE,
    EVENTS,
    INIT_FAILED,
    READY,
    MappingKeys,
    Worker,
    WorkerSeed,
    decode_events,
    output_context,
    send_step,
    start_worker,
    stop_worker,
)

if TYPE_CHECKING:
    from knoll.execution.prepare import PreparedRun


def start_method_for(platform: str) -> str:
    """The way to start workers on ``platform`` (a ``sys.platform`` value): fork where it is
    safe (Linux and other Unixes), forkserver on macOS, where forking a process that may hold
    system framework threads is unsafe, and spawn on Windows, which has neither."""
    if platform.startswith("win"):
        return "spawn"
    if platform == "darwin":
        return "forkserver"
    return "fork"


def max_workers(executor: ExecutorDefinition, step_count: int, *, fans_out: bool = False) -> int:
    """How many workers a run starts: ``max_concurrent`` (0 or unset: one per CPU), never more
    than the run has steps (unless it ``fans_out`` over dynamic outputs: its mapped steps
    become as many steps as their mapping keys)."""
    wanted = int(executor.config.get("max_concurrent") or os.cpu_count() or 1)
    return max(1, wanted if fans_out else min(wanted, step_count))


def check_cross_process_io(resource_defs: Mapping[str, Any], io_keys: set[str], owner: str) -> None:
    """Refuse IO managers that keep values in one process's memory."""
    from knoll.execution.io_managers import InMemoryIOManager, mem_io_manager

    for key in sorted(io_keys):
        value = resource_defs.get(key)
        if isinstance(value, InMemoryIOManager) or value is mem_io_manager:
            raise DefinitionError(
                f"{owner} runs with the multiprocess executor, but its IO manager {key!r} is an "
                "InMemoryIOManager, which keeps values in the memory of one process: steps in "
                "other worker processes could not load them. Use FilesystemIOManager (resources="
                f"{{{key!r}: FilesystemIOManager(base_dir=...)}}) or the in_process executor."
            )


class StoredOutputs(dict[tuple[str, str], Any]):
    """Outputs produced in worker processes, loaded through their IO manager on first use."""

    def __init__(self, keys: list[tuple[str, str]], loader: Any) -> None:
        super().__init__((key, _NOT_LOADED) for key in keys)
        self._loader = loader

    def __getitem__(self, key: tuple[str, str]) -> Any:
        value = super().__getitem__(key)
        if value is _NOT_LOADED:
            value = self._loader(key)
            self[key] = value
        return value


_NOT_LOADED = object()


def run_multiprocess(state: RunState, prepared: PreparedRun) -> list[tuple[str, str]]:
    """Run the plan's steps in worker processes; return the outputs they stored.

    Fills ``state.outcomes``, ``state.errors`` and the check results from the workers' events.
    Raises ``ExecutionError`` when the workers cannot start (their resources cannot be set up,
    or workers that do not fork cannot load the job).
    """
    executor = prepared.executor
    assert executor is not None
    plan = prepared.plan
    fans_out = has_dynamic_outputs(plan) or has_mapped_steps(plan)
    size = max_workers(executor, len(plan.steps), fans_out=fans_out)
    method = executor.config.get("start_method") or start_method_for(sys.platform)
    start: Callable[[], Worker]
    if method == "fork":
        context = multiprocessing.get_context("fork")
        seed = WorkerSeed(
            state,
            plan,
            prepared.resource_defs,
            prepared.resolved.resource_config,
            frozenset(prepared.needed_resources),
        )
        start = functools.partial(start_worker, context, seed)
    else:
        from knoll.execution.spawned import (
            make_recipe,
            spawned_worker_context,
            start_spawned_worker,
        )

        recipe = make_recipe(
            state,
            selection_keys(plan),
            method,
            asset_selection=prepared.asset_selection,
            op_selection=prepared.op_selection,
            resource_overrides=prepared.resource_overrides,
        )
        start = functools.partial(
            start_spawned_worker, spawned_worker_context(method, recipe.origin), recipe
        )
    coordinator = _Coordinator(state, plan, start, size)
    try:
        coordinator.run()
    finally:
        coordinator.shutdown()
    return coordinator.stored


class _Coordinator:
    def __init__(
        self, state: RunState, plan: ExecutionPlan, start: Callable[[], Worker], size: int
    ) -> None:
        self.state = state
        self.plan = plan
        self.start = start
        self.size = size
        self.workers: list[Worker] = []
        # the run's steps by key, with the steps mapped steps become once resolved
        self.steps = {s.key: s for s in plan.steps}
        self.pending = [s.key for s in plan.steps]
        self.in_plan = set(self.pending)
        # resolved step -> the plan's step it was resolved from: a worker resolves it again
        # from that step and the mapping keys it reads (the other steps it finds in its plan)
        self.resolved_from: dict[str, Step] = {}
        self.resolving = has_mapped_steps(plan)
        # (step, output) -> the name its latest value is kept under (``items[key]``)
        self.kept_as: dict[tuple[str, str], str] = {}
        # (step, output, run that stored it): outputs of earlier runs a re-execution loads
        # are in the state before the run starts
        self.produced: list[tuple[str, str, str]] = [
            (k, o, c.run_id) for (k, o), c in state.output_contexts.items()
        ]
        self.stored: list[tuple[str, str]] = []
        # a worker that dies at start-up would otherwise be replaced forever
        self.replacements_left = size + len(plan.steps)
        # The coordinator claims pool slots for its workers: a step waiting for a full pool
        # then holds no worker, and the run's leases have one owner.
        self.slots = state.slots
        self.waiting_for_pool: set[str] = set()  # steps ready but for their pool

    def run(self) -> None:
        self.workers = [self.start() for _ in range(self.size)]
        while self.pending or any(w.step_key is not None for w in self.workers):
            self._dispatch()
            if not any(w.step_key is not None for w in self.workers) and not self.pending:
                break
            self.state.writer.flush()
            self._receive(self._wake_after())
            if self.slots is not None:
                self.slots.renew_due()
            self.state.writer.flush()

    def _wake_after(self) -> float | None:
        """How long to wait for workers before asking a full pool again or renewing leases."""
        if self.slots is None:
            return None
        if self.waiting_for_pool:
            return min(POLL_INTERVAL, self.slots.seconds_to_renewal())
        return self.slots.seconds_to_renewal() if self.slots.held else None

    def shutdown(self) -> None:
        for worker in self.workers:
            stop_worker(worker)
        for worker in self.workers:
            # Resources tear down in the worker; events it sends while doing so are kept.
            self._drain(worker)
            worker.process.join(timeout=60)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self.state.writer.flush()

    # ---- scheduling -----------------------------------------------------------------------
    def _dispatch(self) -> None:
        progressed = True
        while progressed:
            progressed = False
            for key in list(self.pending):
                step = self.steps[key]
                if self.resolving and needs_resolution(step):
                    if is_resolvable(self.state, step, self.in_plan):
                        self._resolve(key, step)
                        progressed = True
                        break  # go again over the pending steps, with the resolved ones
                    continue
                if any(u in self.in_plan and u not in self.state.outcomes for u in step.upstream):
                    continue
                if skip_if_blocked(self.state, step):
                    self.pending.remove(key)
                    progressed = True
                    continue
                idle = next((w for w in self.workers if w.ready and w.step_key is None), None)
                if idle is None:
                    return
                if not self._claim(step):
                    continue  # a step behind it may be free to start
                self.pending.remove(key)
                upstream = set(step.upstream)
                produced = [p for p in self.produced if p[0] in upstream]
                original = self.resolved_from.get(key)
                mapping = MappingKeys.of(self.state, original) if original is not None else None
                send_step(idle, key, produced, mapping)

    def _resolve(self, key: str, step: Step) -> None:
        """Replace pending ``key`` with the steps it resolves to, now that its mapping keys
        are known (none: it is recorded as skipped, as what reads it will be)."""
        resolved = resolve_step(self.state, step)
        at = self.pending.index(key)
        self.pending[at : at + 1] = [s.key for s in resolved]
        for s in resolved:
            self.steps[s.key] = s
            self.in_plan.add(s.key)
            self.resolved_from[s.key] = step

    def _claim(self, step: Step) -> bool:
        """Take a slot of ``step``'s pool, if it has one; False while the pool is full."""
        pool, slots = step.op.pool, self.slots
        if pool is None or slots is None:
            return True
        if slots.try_claim(pool, step.key):
            self.waiting_for_pool.discard(step.key)
            return True
        if step.key not in self.waiting_for_pool:
            self.waiting_for_pool.add(step.key)
            self.state.writer.emit(
                EventType.LOG_MESSAGE,
                step.key,
                waiting_message(slots.claims, pool, step.describe()),
                logging.INFO,
            )
        return False

    def _release(self, step_key: str) -> None:
        pool = self.steps[step_key].op.pool
        if pool is not None and self.slots is not None:
            self.slots.release(pool, step_key)

    def _receive(self, timeout: float | None) -> None:
        by_handle: dict[Any, Worker] = {}
        for worker in self.workers:
            by_handle[worker.conn] = worker
            by_handle[worker.process.sentinel] = worker
        for handle in wait(list(by_handle), timeout):
            worker = by_handle[handle]
            if worker not in self.workers:
                continue  # already replaced in this round
            if handle is worker.conn:
                try:
                    self._handle(worker, worker.conn.recv_bytes())
                except EOFError:
                    self._lost(worker)
            elif not worker.conn.poll():
                self._lost(worker)

    def _drain(self, worker: Worker) -> None:
        try:
            while worker.conn.poll(60 if worker.process.is_alive() else 0):
                self._handle(worker, worker.conn.recv_bytes())
        except (EOFError, OSError):
            pass

    def _handle(self, worker: Worker, message: bytes) -> None:
        kind, payload = message[:1], message[1:]
        if kind == EVENTS:
            events = decode_events(payload)
            for event in events:
                self._observe(event)
            self.state.writer.add(events)
        elif kind == DONE:
            if worker.step_key is not None:
                self._release(worker.step_key)
            worker.step_key = None
        elif kind == READY:
            worker.ready = True
        elif kind == INIT_FAILED:
            error: SerializableError = deserialize(payload)
            raise ExecutionError(
                f"a worker process of run {self.state.run.run_id} could not start: {error.message}"
            )

    def _observe(self, event: RunEvent) -> None:
        """Keep what the coordinator needs to decide the next steps and the run's outcome."""
        state, key, data = self.state, event.step_key, event.data
        if key is None:
            return
        if event.event_type is EventType.STEP_OUTPUT and isinstance(data, StepOutputData):
            name, mapping_key = data.output_name, data.mapping_key
            kept_as = name if mapping_key is None else dynamic_output_key(name, mapping_key)
            self.kept_as[(key, name)] = kept_as
            self.produced.append((key, kept_as, state.run.run_id))
            state.output_contexts[(key, kept_as)] = output_context(
                state, self.steps[key], name, mapping_key=mapping_key
            )
            if mapping_key is not None:
                state.mapping_keys.setdefault((key, name), []).append(mapping_key)
        elif event.event_type is EventType.HANDLED_OUTPUT and isinstance(data, IOData):
            self.stored.append((key, self.kept_as.get((key, data.name), data.name)))
        elif event.event_type is EventType.STEP_SUCCESS:
            state.outcomes[key] = StepOutcome.SUCCESS
        elif event.event_type is EventType.STEP_FAILURE and isinstance(data, StepFailureData):
            state.outcomes[key] = StepOutcome.FAILURE
            state.errors[key] = _remote_error(event.message, data)
        elif event.event_type is EventType.ASSET_CHECK_EVALUATION and isinstance(
            data, AssetCheckEvaluation
        ):
            state.check_evaluations.append(data)
            if data.blocks_downstream:
                state.blocked_assets.add(data.asset_key)

    def _lost(self, worker: Worker) -> None:
        """``worker`` died: fail its step, and start a fresh worker in its place."""
        self._drain(worker)
        worker.process.join()
        worker.conn.close()
        self.workers.remove(worker)
        code = worker.process.exitcode
        how = (
            f"was killed by signal {signal.Signals(-code).name}"
            if code is not None and code < 0
            else f"exited with code {code}"
        )
        key = worker.step_key
        if key is not None:
            self._release(key)
        if key is not None and key not in self.state.outcomes:
            step = self.steps[key]
            message = (
                f"{step.describe()} (step {key!r}) failed: its worker process "
                f"(pid {worker.process.pid}) {how} while running it. Look for what stopped the "
                "process (out of memory, a crash in native code, a kill); the step can be "
                "retried by re-executing the run from failure."
            )
            error = ExecutionError(message)
            self.state.writer.emit(
                EventType.STEP_FAILURE,
                key,
                message,
                logging.ERROR,
                StepFailureData(SerializableError.from_exception(error), user_code=False),
            )
            self.state.outcomes[key] = StepOutcome.FAILURE
            self.state.errors[key] = error
        if not worker.ready and key is None:
            self.replacements_left -= 1
        if self.replacements_left <= 0:
            raise ExecutionError(
                f"the worker processes of run {self.state.run.run_id} keep dying before they "
                f"start (the last one {how}); see the run's logs."
            )
        if self.pending:
            self.workers.append(self.start())


def _remote_error(message: str, data: StepFailureData) -> KnollError:
    """A worker's step error as an exception of this process (the original stays in its
    process; its text and stack are in the event)."""
    if not data.user_code:
        return ExecutionError(message)
    cause = data.error.cause
    original = ExecutionError(cause.to_string() if cause is not None else message)
    error = UserCodeError(message, original)
    error.__cause__ = original
    return error
