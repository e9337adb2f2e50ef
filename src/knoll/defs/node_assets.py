"""The asset specs of an existing op or graph: ``AssetsDefinition.from_graph`` and ``from_op``.

Each output of the node is an asset (keyed by ``keys_by_output_name``, else by the output
name under ``key_prefix``) and each input reads an upstream asset (``keys_by_input_name``,
else the asset named like the input); every asset depends on all of the inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from knoll._utils import did_you_mean
from knoll.defs.asset_spec import AssetDep, AssetSpec
from knoll.defs.composition import GraphInputRef, InvokedOutput
from knoll.defs.keys import AssetKey
from knoll.defs.op import InputDef, OpDefinition
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.graph import GraphDefinition
    from knoll.defs.hook import HookDefinition
    from knoll.defs.op import NodeDefinition
    from knoll.defs.partitions import PartitionMapping, PartitionsDefinition
    from knoll.defs.policies import AutomationCondition


@dataclass(frozen=True)
class ByOutputName:
    """The ``*_by_output_name`` arguments of ``from_graph`` and ``from_op``."""

    group_names: Mapping[str, str | None] | None = None
    descriptions: Mapping[str, str] | None = None
    metadata: Mapping[str, Mapping[str, Any] | None] | None = None
    tags: Mapping[str, Mapping[str, str] | None] | None = None
    owners: Mapping[str, Sequence[str]] | None = None
    code_versions: Mapping[str, str | None] | None = None
    automation_conditions: Mapping[str, AutomationCondition | None] | None = None


def _check_names(
    node: NodeDefinition,
    method: str,
    keys_by_input_name: Mapping[str, Any] | None,
    keys_by_output_name: Mapping[str, Any] | None,
    partition_mappings: Mapping[str, Any] | None,
) -> None:
    for label, kind, names, known in (
        ("keys_by_input_name", "input", keys_by_input_name, node.input_defs),
        ("keys_by_output_name", "output", keys_by_output_name, node.output_defs),
        ("partition_mappings", "input", partition_mappings, node.input_defs),
    ):
        for name in names or {}:
            if name not in known:
                raise DefinitionError(
                    f"{label} of AssetsDefinition.{method} names {name!r}, which is not an "
                    f"{kind} of {node.describe()}.{did_you_mean(name, list(known))}"
                )


def node_asset_specs(  # noqa: PLR0913 (the arguments of from_graph and from_op)
    node: NodeDefinition,
    method: str,
    *,
    keys_by_input_name: Mapping[str, AssetKey] | None,
    keys_by_output_name: Mapping[str, AssetKey] | None,
    key_prefix: str | Sequence[str] | None,
    partitions_def: PartitionsDefinition | None,
    partition_mappings: Mapping[str, PartitionMapping] | None,
    group_name: str | None,
    description: str | None,
    by_output: ByOutputName,
    check_outputs: Collection[str] = (),
) -> tuple[dict[str, AssetKey], dict[str, AssetSpec]]:
    """The input keys and the spec of each output of ``node``, checked.

    ``check_outputs`` are outputs that compute checks, not assets: they get no spec.
    """
    _check_names(node, method, keys_by_input_name, keys_by_output_name, partition_mappings)
    given_inputs = keys_by_input_name or {}
    input_keys = {
        name: AssetKey.from_coercible(given_inputs.get(name) or name) for name in node.input_defs
    }
    mappings = partition_mappings or {}
    deps = [AssetDep(key, partition_mapping=mappings.get(n)) for n, key in input_keys.items()]
    specs: dict[str, AssetSpec] = {}
    for out in node.output_defs:
        if out in check_outputs:
            if keys_by_output_name and out in keys_by_output_name:
                raise DefinitionError(
                    f"keys_by_output_name of AssetsDefinition.{method} maps output {out!r} of "
                    f"{node.describe()}, which computes a check of check_specs=; map only the "
                    "outputs that are assets."
                )
            continue
        key = (keys_by_output_name or {}).get(out)
        asset_key = AssetKey.from_coercible(key) if key is not None else AssetKey(out)
        if key is None and key_prefix:
            asset_key = asset_key.with_prefix(key_prefix)
        specs[out] = AssetSpec(
            asset_key,
            deps=deps,
            description=(by_output.descriptions or {}).get(out) or description,
            metadata=(by_output.metadata or {}).get(out),
            group_name=(by_output.group_names or {}).get(out) or group_name,
            code_version=(by_output.code_versions or {}).get(out),
            automation_condition=(by_output.automation_conditions or {}).get(out),
            owners=(by_output.owners or {}).get(out),
            tags=(by_output.tags or {}).get(out),
            partitions_def=partitions_def,
        )
    return input_keys, specs


def graph_with_hooks(
    graph_def: GraphDefinition, hooks: frozenset[HookDefinition]
) -> GraphDefinition:
    """``graph_def`` with ``hooks`` attached to every op in it (nested graphs included)."""
    invocations = {}
    for name, invocation in graph_def.invocations.items():
        node = invocation.node
        if isinstance(node, OpDefinition):
            hooked: NodeDefinition = node.with_hooks(hooks)
        else:  # a nested graph
            hooked = graph_with_hooks(cast("GraphDefinition", node), hooks)
        invocations[name] = dataclasses.replace(invocation, node=hooked)
    return dataclasses.replace(graph_def, invocations=invocations)


def prune_graph(
    graph_def: GraphDefinition,
    output_names: Iterable[str],
    boundaries: Mapping[str, AssetKey | None] | None = None,
) -> tuple[GraphDefinition, dict[str, AssetKey]]:
    """``graph_def`` cut down to the nodes that ``output_names`` need (a subset run of it).

    ``boundaries`` are graph outputs left out of the run that stand for other assets (their key)
    or checks (None). As in Dagster, the walk upstream stops at them: an op that reads one gets
    that asset loaded from storage instead, through a new graph input (returned with its asset
    key), and an op that only waits on one (an ``In(Nothing)``) no longer waits.
    """
    outputs = {name: graph_def.output_mappings[name] for name in output_names}
    given = boundaries or {}
    stops = {
        (ref.node_name, ref.output_name): given[name]
        for name, ref in graph_def.output_mappings.items()
        if name in given and name not in outputs
    }
    loaded: dict[str, AssetKey] = {}
    invocations = dict(graph_def.invocations)
    needed: set[str] = set()
    pending = [ref.node_name for ref in outputs.values()]
    while pending:
        node_name = pending.pop()
        if node_name in needed:
            continue
        needed.add(node_name)
        invocation = invocations[node_name]
        inputs = dict(invocation.inputs)
        for input_name, source in invocation.inputs.items():
            refs = source if isinstance(source, list) else [source]
            kept: list[Any] = []
            for ref in refs:
                if not isinstance(ref, InvokedOutput):
                    kept.append(ref)
                    continue
                at = (ref.node_name, ref.output_name)
                if at not in stops:
                    kept.append(ref)
                    pending.append(ref.node_name)
                    continue
                if invocation.node.input_defs[input_name].is_nothing:
                    continue  # only ordering: nothing to load
                key = stops[at]
                if key is None:  # a data input from a check's op: run that op after all
                    kept.append(ref)
                    pending.append(ref.node_name)
                    continue
                graph_input = f"__{key.to_python_identifier()}"
                loaded[graph_input] = key
                kept.append(GraphInputRef(graph_def.name, graph_input))
            if not kept:
                del inputs[input_name]
            else:
                inputs[input_name] = kept if isinstance(source, list) else kept[0]
        invocations[node_name] = dataclasses.replace(invocation, inputs=inputs)
    input_mappings = {
        name: tuple(t for t in targets if t[0] in needed)
        for name, targets in graph_def.input_mappings.items()
    }
    input_defs = dict(graph_def.input_defs)
    for graph_input in loaded:
        targets = [
            (node_name, input_name)
            for node_name in needed
            for input_name, source in invocations[node_name].inputs.items()
            for ref in (source if isinstance(source, list) else [source])
            if isinstance(ref, GraphInputRef) and ref.input_name == graph_input
        ]
        input_mappings[graph_input] = tuple(targets)
        node_name, input_name = targets[0]
        inner = invocations[node_name].node.input_defs[input_name]
        input_defs[graph_input] = InputDef(graph_input, inner.type, inner.default_value)
    pruned = dataclasses.replace(
        graph_def,
        invocations={n: i for n, i in invocations.items() if n in needed},
        input_defs=input_defs,
        input_mappings=input_mappings,
        output_defs={n: d for n, d in graph_def.output_defs.items() if n in outputs},
        output_mappings=outputs,
    )
    return pruned, loaded
