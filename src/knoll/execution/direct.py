"""Direct invocation (``my_asset(...)``) and the contexts tests build for it."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from knoll._utils import did_you_mean
from knoll.defs.asset import AssetsDefinition
from knoll.defs.config_schema import coerce_config_arg, default_config_value
from knoll.defs.job import JobDefinition
from knoll.defs.op import OpDefinition
from knoll.defs.partitions import PartitionKeyRange
from knoll.defs.resource_definition import Resources
from knoll.defs.runtime import install_runtime
from knoll.errors import InvalidInvocationError, TypeCheckError
from knoll.execution.context import (
    AssetExecutionContext,
    OpExecutionContext,
    PartitionScope,
    StepState,
)
from knoll.execution.executor import execute_in_process
from knoll.execution.prepare import as_partition_key
from knoll.execution.resources import build_resources
from knoll.execution.run import Run, RunStatus
from knoll.execution.type_check import a_type_name, check_value, type_name

DIRECT_RUN_ID = "EPHEMERAL"


class _BuiltContext:
    """Shared behaviour of contexts made by ``build_op_context`` / ``build_asset_context``:
    they own their resources (torn down on ``with`` exit) and bind to an op when invoked."""

    _stack: contextlib.ExitStack
    _resources: Resources
    _config: Any
    _partition_key: str | None
    _partition_range: PartitionKeyRange | None
    _tags: Mapping[str, str]
    _instance: object | None

    def _init_built(
        self,
        resources: Mapping[str, Any] | None,
        resources_config: Mapping[str, Any] | None,
        config: Any,
        partition_key: str | None,
        partition_key_range: PartitionKeyRange | None,
        run_tags: Mapping[str, str] | None,
        instance: object | None,
    ) -> StepState:
        self._stack = contextlib.ExitStack()
        self._resources = self._stack.enter_context(
            build_resources(
                dict(resources or {}),
                resource_config={
                    k: v.get("config", v) for k, v in (resources_config or {}).items()
                },
                run_id=DIRECT_RUN_ID,
            )
        )
        self._config = config
        self._partition_key = partition_key
        self._partition_range = partition_key_range
        self._tags = dict(run_tags or {})
        self._instance = instance
        return StepState(
            run=Run(DIRECT_RUN_ID, "__ephemeral__", RunStatus.STARTED, self._tags),
            op_def=None,
            step=None,
            op_config=config,
            resources=self._resources,
            emit=None,
            instance=instance,
        )

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def bind(self, op_def: OpDefinition, assets_def: AssetsDefinition | None) -> OpExecutionContext:
        """A context for one invocation of ``op_def``, with its partitions and config resolved."""
        scope = None
        pdef = assets_def.partitions_def if assets_def is not None else None
        owner = assets_def.describe() if assets_def is not None else op_def.describe()
        if self._partition_key is not None or self._partition_range is not None:
            if pdef is None:
                raise InvalidInvocationError(
                    f"the context has a partition, but {owner} is not partitioned."
                )
            if self._partition_key is not None:
                key = as_partition_key(
                    pdef, pdef.validate_partition_key(self._partition_key, owner)
                )
                scope = PartitionScope(pdef, (key,), PartitionKeyRange(key, key))
            else:
                assert self._partition_range is not None
                keys = tuple(
                    as_partition_key(pdef, k)
                    for k in pdef.get_partition_keys_in_range(self._partition_range)
                )
                scope = PartitionScope(pdef, keys, self._partition_range)
        if self._config is not None:
            config = _resolve_config(op_def, self._config, owner)
        else:
            # No config in the context: the call may pass it (config=...); if it does not,
            # invoke() resolves the default or reports what is missing.
            config = default_config_value(op_def.config_schema) if op_def.config_schema else None
        state = StepState(
            run=Run(DIRECT_RUN_ID, "__ephemeral__", RunStatus.STARTED, self._tags),
            op_def=op_def,
            step=None,
            op_config=config,
            resources=self._resources.for_owner(
                self._resources.keys(),
                owner,
                hint=f"Pass it: build_{'asset' if assets_def else 'op'}_context(resources=...).",
            ),
            emit=None,
            partition=scope,
            instance=self._instance,
            assets_def=assets_def,
        )
        if assets_def is not None:
            return AssetExecutionContext(state)
        return OpExecutionContext(state)


class DirectOpExecutionContext(_BuiltContext, OpExecutionContext):
    """An op context built for a test with ``build_op_context``."""


class DirectAssetExecutionContext(_BuiltContext, AssetExecutionContext):
    """An asset context built for a test with ``build_asset_context``."""


def build_op_context(
    resources: Mapping[str, Any] | None = None,
    op_config: Any = None,
    resources_config: Mapping[str, Any] | None = None,
    instance: object | None = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    run_tags: Mapping[str, str] | None = None,
) -> DirectOpExecutionContext:
    """A context to pass when calling an op directly in a test (usable with ``with``)."""
    context = DirectOpExecutionContext.__new__(DirectOpExecutionContext)
    state = context._init_built(
        resources,
        resources_config,
        op_config,
        partition_key,
        partition_key_range,
        run_tags,
        instance,
    )
    OpExecutionContext.__init__(context, state)
    return context


def build_asset_context(
    resources: Mapping[str, Any] | None = None,
    asset_config: Any = None,
    resources_config: Mapping[str, Any] | None = None,
    instance: object | None = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    run_tags: Mapping[str, str] | None = None,
) -> DirectAssetExecutionContext:
    """A context to pass when calling an asset directly in a test (usable with ``with``)."""
    context = DirectAssetExecutionContext.__new__(DirectAssetExecutionContext)
    state = context._init_built(
        resources,
        resources_config,
        asset_config,
        partition_key,
        partition_key_range,
        run_tags,
        instance,
    )
    AssetExecutionContext.__init__(context, state)
    return context


def _resolve_config(op_def: OpDefinition, given: Any, owner: str) -> Any:
    schema = op_def.config_schema
    if schema is None:
        return given
    if given is None:
        value = default_config_value(schema)
        if value is None:
            # no default: validating "nothing" raises the error that names the missing fields
            return coerce_config_arg(schema, None, owner)
        return value
    return coerce_config_arg(schema, given, owner)


def invoke(
    op_def: OpDefinition,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    assets_def: AssetsDefinition | None = None,
) -> Any:
    """Call an op's or asset's function with plain values, as a test would."""
    owner = assets_def.describe() if assets_def is not None else op_def.describe()
    bound = _DirectCall(op_def, assets_def, owner, list(args), dict(kwargs))
    bound.take_context()
    bound.bind_config()
    bound.bind_resources()
    bound.take_positional_inputs()
    bound.bind_inputs()
    return op_def.compute_fn(**bound.call)


@dataclass
class _DirectCall:
    """The keyword arguments of one direct call, bound from what the caller passed."""

    op_def: OpDefinition
    assets_def: AssetsDefinition | None
    owner: str
    remaining: list[Any]  # positional values not bound yet
    given: dict[str, Any]  # keyword values not bound yet
    context: Any = None
    call: dict[str, Any] = field(default_factory=dict)

    def take_context(self) -> None:
        sig, remaining, given = self.op_def.signature, self.remaining, self.given
        context: Any = None
        if sig.context_param is not None:
            if remaining and getattr(remaining[0], "__knoll_context__", False):
                context = remaining.pop(0)
            elif sig.context_param in given:
                context = given.pop(sig.context_param)
        elif remaining and getattr(remaining[0], "__knoll_context__", False):
            context = remaining.pop(0)  # a context the function does not take: used for resources
        if context is None and (sig.context_param is not None or sig.resource_params):
            context = build_asset_context() if self.assets_def is not None else build_op_context()
        if isinstance(context, _BuiltContext):
            context = context.bind(self.op_def, self.assets_def)
        self.context = context
        if sig.context_param is not None:
            self.call[sig.context_param] = context

    def bind_config(self) -> None:
        op_def, owner, context = self.op_def, self.owner, self.context
        config_param = op_def.signature.config_param
        if config_param is None:
            if (
                op_def.config_schema is not None
                and isinstance(context, OpExecutionContext)
                and context.op_config is None
            ):
                # An op reading context.op_config: no config given and no default is an error
                # naming what is missing, not a None that fails later inside the op.
                context._state.op_config = _resolve_config(op_def, None, owner)
            return
        name = config_param.name
        config_type = config_param.annotation
        remaining, given = self.remaining, self.given
        if remaining and isinstance(config_type, type) and isinstance(remaining[0], config_type):
            given[name] = remaining.pop(0)
        if name in given:
            self.call[name] = coerce_config_arg(op_def.config_schema, given.pop(name), owner)
        elif context is not None and context.op_config is not None:
            self.call[name] = context.op_config
        else:
            self.call[name] = _resolve_config(op_def, None, owner)

    def bind_resources(self) -> None:
        context = self.context
        for param in self.op_def.signature.resource_params:
            if param.name in self.given:
                self.call[param.name] = self.given.pop(param.name)
            elif context is not None and param.name in context.resources:
                self.call[param.name] = context.resources.get(param.name)
            else:
                raise InvalidInvocationError(
                    f"{self.owner} needs resource {param.name!r}: pass it as {param.name}=... or "
                    f"through build_{'asset' if self.assets_def else 'op'}_context("
                    f"resources={{{param.name!r}: ...}})."
                )

    @property
    def input_names(self) -> list[str]:
        return [n for n, d in self.op_def.input_defs.items() if not d.is_nothing]

    def take_positional_inputs(self) -> None:
        """Name the positional values by input, then refuse keywords the function lacks."""
        owner, input_names, given = self.owner, self.input_names, self.given
        if len(self.remaining) > len(input_names):
            raise InvalidInvocationError(
                f"{owner} takes {len(input_names)} input(s) ({', '.join(input_names) or 'none'}) "
                f"but was called with {len(self.remaining)} positional values."
            )
        for name, value in zip(input_names, self.remaining, strict=False):
            if name in given:
                raise InvalidInvocationError(f"{owner}: input {name!r} was given twice.")
            given[name] = value
        sig = self.op_def.signature
        for name in list(given):
            if name not in self.op_def.input_defs:
                known = [*input_names, *(p.name for p in sig.resource_params)]
                if sig.config_param is not None:
                    known.append(sig.config_param.name)
                raise InvalidInvocationError(
                    f"{owner} has no parameter {name!r}.{did_you_mean(name, known)} "
                    f"Its inputs: {', '.join(input_names) or 'none'}."
                )

    def bind_inputs(self) -> None:
        owner = self.owner
        for name in self.input_names:
            input_def = self.op_def.input_defs[name]
            if name not in self.given:
                if input_def.has_default:
                    continue
                raise InvalidInvocationError(
                    f"{owner} needs input {name!r}: call it with {name}=<value>."
                )
            value = self.given[name]
            if not check_value(value, input_def.type):
                raise TypeCheckError(
                    f"{owner}: input {name!r} expects {type_name(input_def.type)}, but got "
                    f"{a_type_name(value)}. Pass a value of that type or fix the annotation."
                )
            self.call[name] = value


class _Runtime:
    def invoke(
        self,
        op_def: OpDefinition,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        assets_def: AssetsDefinition | None = None,
    ) -> Any:
        return invoke(op_def, args, kwargs, assets_def)

    def execute_job(self, job: JobDefinition, options: Mapping[str, Any]) -> Any:
        return execute_in_process(job, **options)


install_runtime(_Runtime())
