"""Graphs: ops wired together by calling them inside a ``@graph`` or ``@job`` body."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from knoll._utils import check_node_name, check_tags, docstring, source_location
from knoll.defs.composition import (
    CollectedOutput,
    DynamicHandle,
    GraphInputRef,
    Invocation,
    InvokedOutput,
    MappedOutput,
    composing,
    current_composition,
)
from knoll.defs.hook import HookDefinition
from knoll.defs.job import JobDefinition
from knoll.defs.job_config import normalize_graph_config
from knoll.defs.op import InputDef, NodeDefinition, OpDefinition, OutputDef
from knoll.defs.output import DEFAULT_OUTPUT
from knoll.defs.params import ComputeSignature
from knoll.errors import CycleError, DefinitionError, InvalidInvocationError

if TYPE_CHECKING:
    from knoll.defs.config_mapping import ConfigMapping
    from knoll.defs.partitions import PartitionsDefinition


@dataclass(frozen=True, eq=False)
class GraphDefinition(NodeDefinition):
    """Nodes (ops or graphs) and the wiring between them."""

    name: str
    invocations: Mapping[str, Invocation]
    input_defs: Mapping[str, InputDef]
    # graph input name -> the (node, input) pairs it feeds
    input_mappings: Mapping[str, tuple[tuple[str, str], ...]]
    output_defs: Mapping[str, OutputDef]
    output_mappings: Mapping[str, InvokedOutput]
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    source: str = "<unknown>"
    # config=: how a run's config of this graph becomes the config of its ops
    config_mapping: ConfigMapping | None = None

    def describe(self) -> str:
        return f"graph {self.name!r}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_composition() is None:
            raise InvalidInvocationError(
                f"{self.describe()} can only be called inside another @graph or @job body. "
                "To run it, use graph.to_job().execute_in_process()."
            )
        return self._compose(args, kwargs, None)

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(self.invocations)

    def node(self, name: str) -> NodeDefinition:
        return self.invocations[name].node

    def iterate_ops(self, prefix: str = "") -> list[tuple[str, OpDefinition]]:
        """Every op in this graph and nested graphs, with its dotted handle."""
        out: list[tuple[str, OpDefinition]] = []
        for name, invocation in self.invocations.items():
            handle = f"{prefix}{name}"
            if isinstance(invocation.node, GraphDefinition):
                out.extend(invocation.node.iterate_ops(handle + "."))
            elif isinstance(invocation.node, OpDefinition):
                out.append((handle, invocation.node))
        return out

    def as_op(self, kind: str) -> OpDefinition:
        """An op that stands for this whole graph (its inputs, outputs, resources) in an asset.

        A graph-backed asset runs the graph's own ops; this stand-in is never executed.
        """
        name = self.name
        owner = f"{kind} {name!r}"

        def compute(*_: Any, **__: Any) -> Any:
            raise InvalidInvocationError(
                f"{owner} is computed by the ops of graph {name!r}; it cannot run as one op."
            )

        resources = frozenset(
            k for _, op_def in self.iterate_ops() for k in op_def.required_resource_keys
        )
        return OpDefinition(
            name=name,
            compute_fn=compute,
            signature=_NO_SIGNATURE,
            input_defs=self.input_defs,
            output_defs=self.output_defs,
            required_resource_keys=resources,
            # the config a run gives the graph (its mapping's outer shape), for snapshots
            config_schema=self.config_mapping.config_schema if self.config_mapping else None,
            description=self.description,
            tags=self.tags,
            kind=kind,
        )

    def to_job(  # noqa: PLR0913 (Dagster's keyword arguments)
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        config: Any = None,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        executor_def: Any = None,
        partitions_def: PartitionsDefinition | None = None,
        op_retry_policy: Any = None,
        hooks: Iterable[HookDefinition] | None = None,
    ) -> JobDefinition:
        """Bind this graph to resources, config and an executor, making a runnable job.

        A graph with a config mapping and no ``config=`` here makes a job whose run config
        gives the graph's outer config as ``ops: {config: ...}``, as Dagster's does.
        """
        if config is None and self.config_mapping is not None:
            # Imported here, not at the top: declaring a graph without config stays light.
            from knoll.defs.config_mapping import job_config_of_graph

            config = job_config_of_graph(self.config_mapping, self.describe())
        made = JobDefinition.for_graph(
            self,
            name=self.name if name is None else name,
            description=description or self.description,
            resource_defs=resource_defs,
            config=config,
            tags=tags,
            metadata=metadata,
            executor_def=executor_def,
            partitions_def=partitions_def,
            op_retry_policy=op_retry_policy,
        )
        return made.with_hooks(hooks) if hooks else made

    def execute_in_process(self, **kwargs: Any) -> Any:
        """Run this graph in the current process (see ``JobDefinition.execute_in_process``)."""
        resources = kwargs.pop("resources", None)
        return self.to_job(resource_defs=resources).execute_in_process(**kwargs)


_NO_SIGNATURE = ComputeSignature(
    context_param=None,
    config_param=None,
    resource_params=(),
    return_annotation=inspect.Parameter.empty,
    is_async=False,
    is_generator=False,
    accepts_kwargs=False,
)


def build_graph(
    fn: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    tags: Mapping[str, str] | None,
    out: Mapping[str, Any] | None = None,
    config: Any = None,
) -> GraphDefinition:
    graph_name = check_node_name(fn.__name__ if name is None else name, "graph")
    owner = f"graph {graph_name!r}"
    params = list(inspect.signature(fn).parameters.values())
    refs = {p.name: GraphInputRef(graph_name, p.name) for p in params}
    with composing(graph_name) as composition:
        returned = fn(**refs)
    invocations = composition.invocations
    output_mappings = _output_mappings(returned, owner, out)
    for out_name, ref in output_mappings.items():
        if isinstance(ref, (DynamicHandle, MappedOutput, CollectedOutput)):
            raise DefinitionError(
                f"{owner} returns output {out_name!r} from {ref.node_name!r}, which is dynamic, "
                "mapped or collected; knoll does not pass those out of a graph yet. Map and "
                "collect inside the graph, and return the output of the op reading .collect()."
            )
    input_mappings: dict[str, list[tuple[str, str]]] = {p: [] for p in refs}
    for invocation in invocations.values():
        for input_name, value in invocation.inputs.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, GraphInputRef):
                    input_mappings[item.input_name].append((invocation.name, input_name))
    input_defs: dict[str, InputDef] = {}
    for input_name, targets in input_mappings.items():
        if not targets:
            raise DefinitionError(
                f"{owner} ({source_location(fn)}) has a parameter {input_name!r} that no op uses."
            )
        node_name, node_input = targets[0]
        inner = invocations[node_name].node.input_defs[node_input]
        input_defs[input_name] = InputDef(input_name, inner.type, inner.default_value)
    output_defs = {
        out_name: _mapped_output_def(out_name, ref, invocations)
        for out_name, ref in output_mappings.items()
    }
    _check_acyclic(invocations, owner)
    return GraphDefinition(
        name=graph_name,
        invocations=dict(invocations),
        input_defs=input_defs,
        input_mappings={k: tuple(v) for k, v in input_mappings.items()},
        output_defs=output_defs,
        output_mappings=output_mappings,
        description=description or docstring(fn),
        tags=check_tags(dict(tags) if tags else None, owner),
        source=source_location(fn),
        config_mapping=normalize_graph_config(config, owner),
    )


def _mapped_output_def(
    name: str, ref: InvokedOutput, invocations: Mapping[str, Invocation]
) -> OutputDef:
    inner = invocations[ref.node_name].node.output_defs[ref.output_name]
    return OutputDef(name, inner.type, inner.is_required, inner.io_manager_key)


def _output_mappings(
    returned: Any, owner: str, out: Mapping[str, Any] | None
) -> dict[str, InvokedOutput]:
    declared = list(out or {})
    if returned is None:
        return {}
    if isinstance(returned, InvokedOutput):
        if len(declared) > 1:
            raise DefinitionError(
                f"{owner} declares outputs {declared} in out=, but its body returned one output; "
                "return a tuple or a dict with one value per declared output."
            )
        return {declared[0] if declared else DEFAULT_OUTPUT: returned}
    if isinstance(returned, dict):
        result = {}
        for key, value in returned.items():
            if not isinstance(value, InvokedOutput):
                raise DefinitionError(
                    f"{owner} returned {value!r} for output {key!r}: return outputs of ops."
                )
            result[check_node_name(key, "output", owner)] = value
        if declared and sorted(result) != sorted(declared):
            raise DefinitionError(
                f"{owner} returned outputs {sorted(result)}, but declares {sorted(declared)} in "
                "out=; return a dict with exactly the declared names."
            )
        return result
    if isinstance(returned, tuple):
        names = declared
        if len(names) != len(returned):
            raise DefinitionError(
                f"{owner} returned {len(returned)} outputs; declare their names with "
                "@graph(out={'a': GraphOut(), 'b': GraphOut()}) or return a dict."
            )
        return dict(zip(names, returned, strict=True))
    raise DefinitionError(
        f"{owner} returned a {type(returned).__name__}; a graph body returns the outputs of ops "
        "(one, a tuple or a dict) or nothing."
    )


def _check_acyclic(invocations: Mapping[str, Invocation], owner: str) -> None:
    # Wiring in a composition function can only point at already-invoked nodes, so a cycle is
    # impossible; this guards graphs assembled by other means.
    seen: set[str] = set()
    for name, invocation in invocations.items():
        for value in invocation.inputs.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, InvokedOutput) and item.node_name not in seen:
                    raise CycleError(
                        f"{owner}: node {name!r} uses {item.node_name!r} before it runs."
                    )
        seen.add(name)


@dataclass(frozen=True)
class GraphOut:
    """Declares an output of a graph (names the values a graph body returns as a tuple)."""

    description: str | None = None


@overload
def graph(fn: Callable[..., Any], /) -> GraphDefinition: ...


@overload
def graph(
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    out: Mapping[str, GraphOut] | None = None,
    config: ConfigMapping | Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], GraphDefinition]: ...


def graph(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    out: Mapping[str, GraphOut] | None = None,
    config: ConfigMapping | Mapping[str, Any] | None = None,
) -> GraphDefinition | Callable[[Callable[..., Any]], GraphDefinition]:
    """Declare a graph: the body calls ops (or graphs) to wire their outputs to inputs.

    ``config=`` configures the graph's ops: a ``ConfigMapping`` (the graph then takes config
    of the mapping's shape, which the mapping turns into its ops' config) or a dict of its ops'
    config (``{"my_op": {"config": {...}}}``), which they then always get.
    """

    def decorate(f: Callable[..., Any]) -> GraphDefinition:
        return build_graph(f, name=name, description=description, tags=tags, out=out, config=config)

    if fn is not None:
        return decorate(fn)
    return decorate


@overload
def job(fn: Callable[..., Any], /) -> JobDefinition: ...


@overload
def job(
    *,
    name: str | None = None,
    description: str | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config: Any = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    executor_def: Any = None,
    partitions_def: PartitionsDefinition | None = None,
    op_retry_policy: Any = None,
    hooks: Iterable[HookDefinition] | None = None,
) -> Callable[[Callable[..., Any]], JobDefinition]: ...


def job(  # noqa: PLR0913 (Dagster's keyword arguments)
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config: Any = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    executor_def: Any = None,
    partitions_def: PartitionsDefinition | None = None,
    op_retry_policy: Any = None,
    hooks: Iterable[HookDefinition] | None = None,
) -> JobDefinition | Callable[[Callable[..., Any]], JobDefinition]:
    """Declare a job: the body wires ops like a graph; the job adds resources and config."""

    def decorate(f: Callable[..., Any]) -> JobDefinition:
        # checked here first, so that a bad name is reported as a job name, not a graph name
        check_node_name(f.__name__ if name is None else name, "job")
        graph_def = build_graph(f, name=name, description=description, tags=None)
        return graph_def.to_job(
            description=description,
            resource_defs=resource_defs,
            config=config,
            tags=tags,
            metadata=metadata,
            executor_def=executor_def,
            partitions_def=partitions_def,
            op_retry_policy=op_retry_policy,
            hooks=hooks,
        )

    if fn is not None:
        return decorate(fn)
    return decorate
