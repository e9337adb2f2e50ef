"""Loading a step's inputs: from earlier steps, or from assets through their IO managers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from knoll.defs.asset import AssetsDefinition
from knoll.defs.keys import AssetKey
from knoll.defs.partitions import infer_partition_mapping
from knoll.errors import (
    ExecutionError,
    UserCodeError,
)
from knoll.execution.context import (
    InputContext,
    OutputContext,
    RunLogger,
)
from knoll.execution.context_partitions import InputPartitions
from knoll.execution.events import (
    EventType,
    IOData,
)
from knoll.execution.plan import FromAsset, FromMany, FromNothing, FromStep, Step
from knoll.execution.run_state import RunState, StepFailed, error_text, produced

# ---- inputs -----------------------------------------------------------------------------


def load_input(state: RunState, step: Step, name: str, log: RunLogger) -> Any:
    source = step.inputs.get(name, FromNothing())
    if isinstance(source, FromNothing):
        input_def = step.op.input_defs[name]
        if input_def.has_default:
            return input_def.default_value
        raise StepFailed(
            ExecutionError(
                f"{step.describe()}: input {name!r} has no value: it is not wired to any "
                f"output and has no default. Connect it in the graph or give In(default_value=...)."
            )
        )
    if isinstance(source, FromMany):
        return [
            _load_from_step(state, step, name, s, log) for s in source.sources if produced(state, s)
        ]
    if isinstance(source, FromStep):
        return _load_from_step(state, step, name, source, log)
    assert isinstance(source, FromAsset), "mapped and collected inputs resolve before steps run"
    return _load_from_asset(state, step, name, source, log)


def _upstream_partition_keys(
    state: RunState, step: Step, upstream_key: AssetKey, upstream_def: Any
) -> tuple[str, ...] | None:
    if upstream_def is None:
        return None
    down_def = step.assets_def.partitions_def if step.assets_def is not None else None
    if step.check_def is not None:
        checked = step.check_def.asset_keys
        down_def = _asset_partitions_def(state, checked[0]) if len(checked) == 1 else None
    explicit = step.assets_def.partition_mapping_for(upstream_key) if step.assets_def else None
    mapping = infer_partition_mapping(explicit, down_def, upstream_def, step.describe())
    keys = state.partition.keys if (state.partition is not None and down_def is not None) else None
    return tuple(mapping.get_upstream_partition_keys(keys, down_def, upstream_def))


def input_partitions(state: RunState, step: Step, name: str) -> InputPartitions | None:
    """The upstream partitions input ``name`` of ``step`` reads (None: not an asset input)."""
    key = step.input_asset_keys.get(name)
    if key is None:
        return None
    upstream_def = _asset_partitions_def(state, key)
    return InputPartitions(upstream_def, _upstream_partition_keys(state, step, key, upstream_def))


def _asset_partitions_def(state: RunState, key: AssetKey) -> Any:
    graph = state.job.asset_graph
    if graph is None or not graph.has(key):
        return None
    return graph.node(key).assets_def.partitions_def


def _load_from_step(
    state: RunState, step: Step, name: str, source: FromStep, log: RunLogger
) -> Any:
    upstream_ctx = state.output_contexts.get((source.step_key, source.output_name))
    if upstream_ctx is None:
        raise StepFailed(
            ExecutionError(
                f"{step.describe()}: input {name!r} needs output {source.output_name!r} of step "
                f"{source.step_key!r}, which did not produce it (it is optional and was not "
                "yielded)."
            )
        )
    asset_key = step.input_asset_keys.get(name)
    partition_keys = None
    upstream_def = upstream_ctx.asset_partitions_def
    if asset_key is not None:
        partition_keys = _upstream_partition_keys(state, step, asset_key, upstream_def)
    io_key = _io_manager_key_of(upstream_ctx)
    upstream = _Upstream(
        io_key, asset_key, upstream_ctx, upstream_def, partition_keys, source.step_key
    )
    return _call_load(state, step, name, upstream, log)


def _io_manager_key_of(output_ctx: OutputContext) -> str:
    return output_ctx.io_manager_key


def _load_from_asset(
    state: RunState, step: Step, name: str, source: FromAsset, log: RunLogger
) -> Any:
    key = source.asset_key
    graph = state.job.asset_graph
    if graph is None or not graph.has(key):
        raise StepFailed(ExecutionError(f"{step.describe()}: upstream asset {key} is unknown."))
    upstream_def: AssetsDefinition = graph.node(key).assets_def
    output_name = upstream_def.output_for(key)
    spec = upstream_def.spec_for(key)
    io_key = spec.io_manager_key or "io_manager"  # an external asset names its IO manager
    if upstream_def.op is not None:
        io_key = upstream_def.op.output_defs[output_name].io_manager_key
    upstream_ctx = OutputContext(
        name=output_name,
        step_key=upstream_def.op.name if upstream_def.op else key.to_python_identifier(),
        run_id=state.run.run_id,
        asset_key=key,
        partitions_def=upstream_def.partitions_def,
        definition_metadata=spec.metadata,
        op_def=upstream_def.op,
        resources=state.resources,
        log=log,
        io_manager_key=io_key,
    )
    partition_keys = _upstream_partition_keys(state, step, key, upstream_def.partitions_def)
    upstream = _Upstream(
        io_key, key, upstream_ctx, upstream_def.partitions_def, partition_keys, None
    )
    return _call_load(state, step, name, upstream, log)


@dataclass(frozen=True)
class _Upstream:
    """Where an input is loaded from: the IO manager and the output (or asset) that stored it."""

    io_key: str
    asset_key: AssetKey | None
    output: OutputContext
    partitions_def: Any
    partition_keys: tuple[str, ...] | None
    step_key: str | None  # None for an asset computed outside the run


def _call_load(state: RunState, step: Step, name: str, upstream: _Upstream, log: RunLogger) -> Any:
    io_key, asset_key, upstream_ctx = upstream.io_key, upstream.asset_key, upstream.output
    upstream_step = upstream.step_key
    io_manager = state.resources.get(io_key)
    input_def = step.op.input_defs[name]
    context = InputContext(
        name=name,
        step_key=step.key,
        run_id=state.run.run_id,
        asset_key=asset_key,
        upstream_output=upstream_ctx,
        partitions_def=upstream.partitions_def,
        partition_keys=upstream.partition_keys,
        metadata=input_def.metadata,
        dagster_type=input_def.type,
        op_def=step.op,
        resources=state.resources,
        log=log,
    )
    try:
        value = io_manager.load_input(context)
    except Exception as exc:
        what = (
            f"asset {asset_key.to_user_string()!r}" if asset_key else f"output of {upstream_step!r}"
        )
        error = UserCodeError(
            f"{step.describe()}: IO manager {io_key!r} failed to load input {name!r} ({what}): "
            f"{error_text(exc)}",
            exc,
        )
        error.__cause__ = exc
        raise StepFailed(error) from exc
    message = f"loaded input {name!r} with IO manager {io_key!r}"
    if upstream_ctx.run_id != state.run.run_id:
        # a re-execution reads what an earlier run of its lineage stored
        message += (
            f" from output {upstream_ctx.name!r} of step {upstream_step!r} stored by run "
            f"{upstream_ctx.run_id}"
        )
    state.writer.emit(
        EventType.LOADED_INPUT,
        step.key,
        message,
        logging.DEBUG,
        IOData(name, io_key, asset_key, upstream_step),
    )
    return value
