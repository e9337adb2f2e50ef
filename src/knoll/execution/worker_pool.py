"""Warm worker processes for the multiprocess executor: forked once per run, one step at a time.

A worker inherits the loaded definitions, the job and the plan from the coordinator that forked
it, sets its resources up once, then runs the steps it is sent. It sends the events of each
step back as versioned JSON; inputs and outputs travel through the IO managers, never the pipe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from knoll._serdes import deserialize, serialize
from knoll.errors import KnollError
from knoll.execution.context import OutputContext, PartitionScope
from knoll.execution.dynamic_steps import concrete_step, resolve_step, split_kept_name
from knoll.execution.events import RunEvent, SerializableError
from knoll.execution.plan import UNRESOLVED, ExecutionPlan, Step
from knoll.execution.resources import build_resources
from knoll.execution.run_state import EventWriter, RunState, StepOutcome, outside_outputs
from knoll.execution.step import run_capture, run_step

# Message kinds on the pipe, worker -> coordinator: one byte, then JSON.
EVENTS = b"E"  # a batch of RunEvents
DONE = b"D"  # {"step": key, "outcome": "SUCCESS" | "FAILURE"}
READY = b"R"  # resources are set up; send steps
INIT_FAILED = b"X"  # a SerializableError: resources could not be set up


@dataclass(frozen=True)
class WorkerSeed:
    """What every worker of one run starts from (inherited through fork, never pickled)."""

    state: RunState
    plan: ExecutionPlan
    resource_defs: Mapping[str, Any]
    resource_config: Mapping[str, Any]
    needed_resources: frozenset[str]


@dataclass
class Worker:
    """The coordinator's handle on one worker process."""

    process: BaseProcess
    conn: Connection
    ready: bool = False
    step_key: str | None = None


class _PipeSink:
    """Sends a worker's event batches to the coordinator, the single writer of the run."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def write_events(self, events: Sequence[RunEvent]) -> None:
        self.conn.send_bytes(EVENTS + serialize(list(events)).encode())


def start_worker(context: Any, seed: WorkerSeed) -> Worker:
    """Fork one worker from ``seed`` with the multiprocessing ``context``."""
    parent, child = context.Pipe(duplex=True)
    process = context.Process(target=worker_main, args=(child, seed), daemon=True)
    process.start()
    child.close()  # the worker holds its end; EOF here then means the worker is gone
    return Worker(process, parent)


@dataclass(frozen=True)
class MappingKeys:
    """What a worker needs to resolve a mapped step (or a collect) as the coordinator did: the
    mapping keys of the dynamic outputs of steps that succeeded, and the steps each mapped
    step became."""

    by_output: list[tuple[str, str, list[str]]]
    resolved: dict[str, list[str]]

    @staticmethod
    def of(state: RunState, step: Step) -> MappingKeys:
        """What resolving ``step`` (a step of the plan) reads: the mapping keys of the dynamic
        steps it depends on, and the steps the mapped steps it reads became."""
        reads = set(step.upstream)
        if step.mapped_by is not None:  # a map of a map reads the dynamic step's keys too
            reads.add(step.mapped_by[0])
        return MappingKeys(
            [
                (step_key, output, keys)
                for (step_key, output), keys in state.mapping_keys.items()
                if step_key in reads and state.outcomes.get(step_key) is StepOutcome.SUCCESS
            ],
            {k: v for k, v in state.resolved.items() if k in reads},
        )


def send_step(
    worker: Worker,
    step_key: str,
    produced: list[tuple[str, str, str]],
    mapping: MappingKeys | None = None,
) -> None:
    """Ask ``worker`` to run ``step_key``; ``produced`` lists the upstream outputs that exist,
    as (step key, output name, id of the run that stored it: this one or, for a re-execution,
    an earlier one). ``mapping`` comes with a step resolved from mapping keys (``op[key]``, or
    one collecting values)."""
    worker.step_key = step_key
    request: dict[str, Any] = {"step": step_key, "produced": produced}
    if mapping is not None:
        request["mapping"] = {"by_output": mapping.by_output, "resolved": mapping.resolved}
    worker.conn.send_bytes(json.dumps(request).encode())


def stop_worker(worker: Worker) -> None:
    """Ask ``worker`` to tear its resources down and exit."""
    with contextlib.suppress(OSError):  # already gone
        worker.conn.send_bytes(b"{}")


def decode_events(payload: bytes) -> list[RunEvent]:
    return list(deserialize(payload))


def worker_main(conn: Connection, seed: WorkerSeed) -> None:
    """The body of a worker process."""
    # Ctrl-C reaches the whole process group: the coordinator alone decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    base = seed.state
    writer = EventWriter(base.run, [_PipeSink(conn)])
    # with the steps a re-execution does not run, whose stored outputs it loads
    steps = {s.key: s for s in [*outside_outputs(seed.plan).values(), *seed.plan.steps]}
    try:
        with build_resources(
            seed.resource_defs,
            resource_config=seed.resource_config,
            run_id=base.run.run_id,
            only=seed.needed_resources,
        ) as resources:
            conn.send_bytes(READY)
            with run_capture(base.recorder.compute_logs):
                _serve_steps(conn, seed, resources, writer, steps)
    except KnollError as exc:
        writer.flush()
        conn.send_bytes(INIT_FAILED + serialize(SerializableError.from_exception(exc)).encode())
    writer.flush()
    conn.close()


def _serve_steps(
    conn: Connection,
    seed: WorkerSeed,
    resources: Any,
    writer: EventWriter,
    steps: Mapping[str, Step],
) -> None:
    """Run the steps the coordinator sends, one at a time, until it says stop."""
    base = seed.state
    while True:
        request = json.loads(conn.recv_bytes())
        if not request:
            break
        state = RunState(
            run=base.run,
            job=base.job,
            resources=resources,
            node_config=base.node_config,
            partition=base.partition,
            writer=writer,
            recorder=base.recorder,
        )
        step = _requested_step(state, steps, request)
        # a step is sent once every upstream step succeeded (in this run or earlier)
        for up in step.upstream:
            state.outcomes[up] = StepOutcome.SUCCESS
        for step_key, output_name, stored_by in request["produced"]:
            name, mapping_key = split_kept_name(output_name)
            state.output_contexts[(step_key, output_name)] = output_context(
                state, concrete_step(steps, step_key), name, stored_by, mapping_key
            )
        try:
            outcome = run_step(state, step)
        finally:
            state.close()
        writer.flush()
        done = {"step": step.key, "outcome": outcome.value}
        conn.send_bytes(DONE + json.dumps(done).encode())


def _requested_step(state: RunState, steps: Mapping[str, Step], request: Any) -> Step:
    """The step the coordinator asks for; a step resolved from mapping keys is resolved here
    again, from the mapping keys the coordinator sends with it."""
    key = request["step"]
    mapping = request.get("mapping")
    if mapping is None:
        return steps[key]
    for step_key, output, keys in mapping["by_output"]:
        state.mapping_keys[(step_key, output)] = list(keys)
        state.outcomes[step_key] = StepOutcome.SUCCESS
    state.resolved.update({k: list(v) for k, v in mapping["resolved"].items()})
    step = steps.get(key)
    if step is None:  # one mapping key of a mapped step: resolve only that one
        handle, mapping_key = split_kept_name(key)
        unresolved = steps[f"{handle}{UNRESOLVED}"]
        step = dataclasses.replace(unresolved, only_mapping_keys=frozenset({mapping_key or ""}))
    (resolved,) = resolve_step(state, step)
    state.outcomes.clear()
    return resolved


def step_partition(state: RunState, step: Step) -> PartitionScope | None:
    """The partition(s) a step's outputs cover (as ``step.py`` gives its context)."""
    if state.partition is None:
        return None
    if step.assets_def is not None and step.assets_def.partitions_def is None:
        return None
    return state.partition


def output_context(
    state: RunState,
    step: Step,
    output_name: str,
    run_id: str | None = None,
    mapping_key: str | None = None,
) -> OutputContext:
    """The context an output of ``step`` was stored with, rebuilt in another process so that
    its IO manager can load it (the metadata the step logged at run time is not included).
    ``run_id`` is the run that stored it, when not this one (re-execution); ``mapping_key``
    names one value of a dynamic output."""
    output_def = step.op.output_defs[output_name]
    asset_key = None
    definition_metadata = output_def.metadata
    if step.assets_def is not None and output_name in step.assets_def.specs_by_output:
        spec = step.assets_def.specs_by_output[output_name]
        asset_key = spec.key
        definition_metadata = spec.metadata
    context = OutputContext(
        name=output_name,
        step_key=step.key,
        run_id=run_id or state.run.run_id,
        asset_key=asset_key,
        partitions_def=step.assets_def.partitions_def if step.assets_def else None,
        partition=step_partition(state, step),
        definition_metadata=definition_metadata,
        dagster_type=output_def.type,
        op_def=step.op,
        resources=state.resources,
        io_manager_key=output_def.io_manager_key,
    )
    context.mapping_key = mapping_key
    return context
