"""Execution plans: the steps of a run, their inputs' sources and their order.

An asset job becomes one step per (subset of a) selected assets definition and one per
``@asset_check``; upstream assets outside the selection are loaded through their IO
managers, never recomputed. An op job becomes one step per op, nested graphs flattened to
dotted handles (``outer.inner``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from knoll._utils import did_you_mean
from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_graph import AssetGraph
from knoll.defs.check import AssetChecksDefinition
from knoll.defs.composition import CollectedOutput, GraphInputRef, InvokedOutput, MappedInput
from knoll.defs.config_mapping import ConfigMapping
from knoll.defs.graph import GraphDefinition
from knoll.defs.job import JobDefinition
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.op import OpDefinition
from knoll.errors import CycleError, DefinitionError


@dataclass(frozen=True)
class FromStep:
    """The input comes from an output of an earlier step of this run."""

    step_key: str
    output_name: str


@dataclass(frozen=True)
class FromAsset:
    """The input is an asset not computed in this run: loaded through its IO manager."""

    asset_key: AssetKey


@dataclass(frozen=True)
class FromMany:
    """Fan-in: a list of values from several sources."""

    sources: tuple[FromStep, ...]


@dataclass(frozen=True)
class FromNothing:
    """The input has no source: it takes its default, or a value from run config."""


@dataclass(frozen=True)
class FromMapped:
    """The value of a dynamic output for the mapping key of the (mapped) step reading it."""

    step_key: str
    output_name: str


@dataclass(frozen=True)
class FromCollected:
    """The values of every mapping key of a dynamic output (``of_dynamic``) or of a mapped
    step's output, as one list in the order the keys were yielded."""

    step_key: str  # the dynamic step, or the unresolved key (``op[?]``) of the mapped step
    output_name: str
    of_dynamic: bool


InputSource = FromStep | FromAsset | FromMany | FromNothing | FromMapped | FromCollected

UNRESOLVED = "[?]"
"""The suffix of a mapped step's key before its mapping keys are known (``op[?]``)."""


@dataclass(frozen=True, eq=False)
class Step:
    """One unit of execution: an op invocation, an assets definition or an asset check."""

    key: str
    op: OpDefinition
    inputs: Mapping[str, InputSource]
    upstream: tuple[str, ...]  # step keys that must finish first (data and ordering)
    assets_def: AssetsDefinition | None = None
    check_def: AssetChecksDefinition | None = None
    # asset keys of the input names (asset steps and check steps)
    input_asset_keys: Mapping[str, AssetKey] = field(default_factory=dict)
    # the outputs this step must produce (a subset of a multi-asset's outputs)
    selected_outputs: frozenset[str] = frozenset()
    # the checks an asset step reports on itself (check_specs)
    selected_checks: frozenset[AssetCheckKey] = frozenset()
    # blocking checks whose failure must stop this step
    blocking_checks_upstream: tuple[AssetCheckKey, ...] = ()
    # an op of a graph-backed asset: its outputs that compute checks (output -> check), each
    # produced once the op returns the check's AssetCheckResult
    check_outputs: Mapping[str, AssetCheckKey] = field(default_factory=dict)
    # an op of a graph-backed asset: every check of that asset (a result without check_name is
    # resolved among them, as Dagster does)
    graph_checks: frozenset[AssetCheckKey] = frozenset()
    # an op of a graph-backed asset: ``assets_def`` holds only the assets this op computes
    in_graph_asset: bool = False
    # a mapped step: the dynamic output (step key, output name) it runs once per key of
    mapped_by: tuple[str, str] | None = None
    # a mapped step resolved at run time: its key (its step key is ``handle[mapping_key]``)
    mapping_key: str | None = None
    # a mapped step that a re-execution runs for some of its mapping keys only (None: all)
    only_mapping_keys: frozenset[str] | None = None

    @property
    def handle(self) -> str:
        """The node's handle in the job (``outer.inner``), without a mapping key."""
        if self.mapped_by is None:
            return self.key
        return self.key[: self.key.rindex("[")]

    @property
    def kind(self) -> str:
        if self.check_def is not None:
            return "asset check"
        if self.assets_def is not None:
            return self.op.kind
        return "op"

    def describe(self) -> str:
        if self.check_def is not None:
            return self.check_def.describe()
        if self.in_graph_asset:
            return f"op {self.key!r}"
        if self.assets_def is not None:
            keys = sorted(self.assets_def.all_keys)
            if len(keys) == 1:
                return f"asset {keys[0].to_user_string()!r}"
            return f"multi-asset {self.op.name!r}"
        return f"op {self.key!r}"

    @property
    def produced_asset_keys(self) -> frozenset[AssetKey]:
        if self.assets_def is None:
            return frozenset()
        specs = self.assets_def.specs_by_output
        return frozenset(specs[o].key for o in self.selected_outputs if o in specs)


@dataclass(frozen=True)
class ExecutionPlan:
    """Steps in an order where every step comes after the steps it depends on."""

    job: JobDefinition
    steps: tuple[Step, ...]
    asset_keys: frozenset[AssetKey] = frozenset()
    check_keys: frozenset[AssetCheckKey] = frozenset()
    # graph handle -> the config mapping of that graph (@graph(config=), @graph_asset(config=))
    graph_configs: Mapping[str, ConfigMapping] = field(default_factory=dict)
    # handles in configured graphs that a subset run leaves out: their mapped config is ignored
    omitted_nodes: frozenset[str] = frozenset()
    # (graph-backed asset's node, graph output) -> (step, output) that computes it
    graph_outputs: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise DefinitionError(
            f"no step {key!r} in job {self.job.name!r}."
            f"{did_you_mean(key, [s.key for s in self.steps])}"
        )

    @property
    def step_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.steps)


def build_plan(
    job: JobDefinition,
    *,
    asset_selection: frozenset[AssetKey] | None = None,
    op_selection: Sequence[str] | None = None,
) -> ExecutionPlan:
    if job.asset_graph is not None:
        selection = job.asset_selection if asset_selection is None else asset_selection
        if selection is None:
            selection = job.asset_graph.executable_keys
        checks = job.check_selection
        if asset_selection is not None or checks is None:
            checks = frozenset(c for k in selection for c in job.asset_graph.checks_for(k))
        return _asset_plan(job, job.asset_graph, frozenset(selection), checks)
    if job.graph_def is None:  # pragma: no cover - JobDefinition always has one of the two
        raise DefinitionError(f"{job.describe()} has neither ops nor assets.")
    steps = _flatten(job.graph_def)
    if op_selection:
        steps = _select_ops(steps, op_selection, job)
    configs = {h: m for h, m in graph_config_mappings(job.graph_def, "") if h}
    return ExecutionPlan(job, tuple(steps), graph_configs=configs)


def graph_config_mappings(graph_def: GraphDefinition, handle: str) -> list[tuple[str, Any]]:
    """(handle, config mapping) of ``graph_def`` (at ``handle``) and of the graphs inside it."""
    found: list[tuple[str, Any]] = []
    if graph_def.config_mapping is not None:
        found.append((handle, graph_def.config_mapping))
    for name, invocation in graph_def.invocations.items():
        if isinstance(invocation.node, GraphDefinition):
            inner = f"{handle}.{name}" if handle else name
            found.extend(graph_config_mappings(invocation.node, inner))
    return found


def _node_handles(graph_def: GraphDefinition, prefix: str) -> set[str]:
    handles: set[str] = set()
    for name, invocation in graph_def.invocations.items():
        handles.add(prefix + name)
        if isinstance(invocation.node, GraphDefinition):
            handles.update(_node_handles(invocation.node, f"{prefix}{name}."))
    return handles


# ---- asset jobs -------------------------------------------------------------------------


# asset key -> (key of the step that computes it, output name)
_Producers = Mapping[AssetKey, tuple[str, str]]
# asset key -> the blocking @asset_check steps of it: (check key, step key)
_BlockingChecks = Mapping[AssetKey, list[tuple[AssetCheckKey, str]]]


def _asset_plan(
    job: JobDefinition,
    graph: AssetGraph,
    selection: frozenset[AssetKey],
    checks: frozenset[AssetCheckKey],
) -> ExecutionPlan:
    for key in sorted(selection, key=lambda k: k.to_user_string()):
        if not graph.node(key).is_executable:
            how = (
                "no definition provides it"
                if key in graph.implicit_external_keys
                else "declared with AssetSpec"
            )
            raise DefinitionError(
                f"asset {key.to_user_string()!r} is external ({how}): knoll does not "
                "materialize it. Leave it out of the selection; to run its checks, select "
                f"AssetSelection.checks_for_assets({key.to_user_string()!r})."
            )
    step_defs, producer = _subsets(graph, selection, checks)
    # a graph-backed definition that cannot be split reports all of its checks
    checks = checks.union(*(s.selected_checks for _, s in step_defs if s.graph_def is not None))
    check_steps, blocking_by_asset = _check_steps(graph, checks, producer)
    steps: list[Step] = []
    configs: dict[str, Any] = {}
    omitted: set[str] = set()
    graph_outputs: dict[tuple[str, str], tuple[str, str]] = {}
    for original, subset in step_defs:
        if subset.graph_def is not None:
            steps.extend(_graph_asset_steps(subset, producer, blocking_by_asset, graph))
            for name, source in _graph_output_steps(subset).items():
                graph_outputs[(subset.node_name, name)] = (source.step_key, source.output_name)
            mappings = graph_config_mappings(subset.graph_def, subset.node_name)
            configs.update(mappings)
            if mappings and original.graph_def is not None:
                prefix = subset.node_name + "."
                omitted.update(
                    _node_handles(original.graph_def, prefix)
                    - _node_handles(subset.graph_def, prefix)
                )
        else:
            steps.append(_asset_step(original, subset, checks, producer, blocking_by_asset, graph))
    ordered = _toposort([*steps, *check_steps], job)
    return ExecutionPlan(
        job, tuple(ordered), selection, checks, configs, frozenset(omitted), graph_outputs
    )


def _subsets(
    graph: AssetGraph, selection: frozenset[AssetKey], checks: frozenset[AssetCheckKey]
) -> tuple[list[tuple[AssetsDefinition, AssetsDefinition]], _Producers]:
    """Each definition with the subset of it that computes the selection, and who computes what.

    A graph-backed definition runs for its selected checks too, even with none of its assets.
    """
    by_def: dict[int, tuple[AssetsDefinition, set[AssetKey]]] = {}
    for key in graph.toposorted_keys:
        if key in selection:
            assets_def = graph.node(key).assets_def
            by_def.setdefault(id(assets_def), (assets_def, set()))[1].add(key)
    graph_checks: dict[int, set[AssetCheckKey]] = {}
    for check_key in sorted(checks, key=lambda c: c.to_user_string()):
        if isinstance(graph.check(check_key), AssetChecksDefinition):
            continue
        owner = graph.node(check_key.asset_key).assets_def
        if owner.graph_def is not None:
            by_def.setdefault(id(owner), (owner, set()))
            graph_checks.setdefault(id(owner), set()).add(check_key)
    producer: dict[AssetKey, tuple[str, str]] = {}
    step_defs: list[tuple[AssetsDefinition, AssetsDefinition]] = []
    for original, keys in by_def.values():
        if original.graph_def is not None and original.check_specs:
            wanted = graph_checks.get(id(original), set())
            if not keys and not original.can_subset:
                raise DefinitionError(
                    f"{original.describe()} cannot be split: the selection has its checks "
                    f"{sorted(k.to_user_string() for k in wanted)} but none of its assets. "
                    "Select its assets too, or declare it with can_subset=True."
                )
            subset = original.subset_for(keys, wanted)
        else:
            subset = original.subset_for(keys)
        step_defs.append((original, subset))
        outputs = _graph_output_steps(subset) if subset.graph_def is not None else None
        for key in keys:
            output = subset.output_for(key)
            if outputs is None:
                producer[key] = (subset.node_name, output)
            else:
                producer[key] = (outputs[output].step_key, outputs[output].output_name)
    return step_defs, producer


def _input_sources(
    input_keys: Mapping[str, AssetKey], producer: _Producers
) -> tuple[dict[str, InputSource], list[str]]:
    """Where each input comes from, and the steps among those sources."""
    inputs: dict[str, InputSource] = {}
    upstream: list[str] = []
    for input_name, key in input_keys.items():
        source = _asset_source(key, producer)
        inputs[input_name] = source
        if isinstance(source, FromStep):
            upstream.append(source.step_key)
    return inputs, upstream


def _check_steps(
    graph: AssetGraph, checks: frozenset[AssetCheckKey], producer: _Producers
) -> tuple[list[Step], _BlockingChecks]:
    """Steps for the @asset_check checks that run, and the blocking ones by asset."""
    check_steps: list[Step] = []
    blocking_by_asset: dict[AssetKey, list[tuple[AssetCheckKey, str]]] = {}
    chosen: dict[int, AssetChecksDefinition] = {}
    for check_key in sorted(checks, key=lambda c: c.to_user_string()):
        check = graph.check(check_key)
        if isinstance(check, AssetChecksDefinition):  # check_specs run in the asset's step
            chosen.setdefault(id(check), check)
    for check in chosen.values():
        # a multi-asset check that cannot be split runs (and reports) all of its checks
        selected = check.check_keys & checks if check.can_subset else check.check_keys
        inputs, upstream = _input_sources(check.input_keys, producer)
        for dep in (*check.dep_keys, *check.asset_keys):
            if dep in producer:
                upstream.append(producer[dep][0])
        step = Step(
            key=check.op.name,
            op=check.op,
            inputs=inputs,
            upstream=tuple(dict.fromkeys(upstream)),
            check_def=check,
            input_asset_keys=dict(check.input_keys),
            selected_checks=frozenset(selected),
        )
        check_steps.append(step)
        for spec in check.specs:
            if spec.blocking and spec.key in selected:
                blocking_by_asset.setdefault(spec.asset_key, []).append((spec.key, step.key))
    return check_steps, blocking_by_asset


def _asset_step(
    original: AssetsDefinition,
    subset: AssetsDefinition,
    checks: frozenset[AssetCheckKey],
    producer: _Producers,
    blocking_by_asset: _BlockingChecks,
    graph: AssetGraph,
) -> Step:
    op_def = subset.op
    assert op_def is not None
    inputs, upstream = _input_sources(subset.input_keys, producer)
    blocking: list[AssetCheckKey] = []
    for spec in subset.specs_by_output.values():
        for dep in spec.dep_keys:
            if dep in producer and producer[dep][0] != subset.node_name:
                upstream.append(producer[dep][0])
            upstream.extend(_behind_view(graph, dep, producer))
            for check_key, check_step in blocking_by_asset.get(dep, ()):
                upstream.append(check_step)
                blocking.append(check_key)
    return Step(
        key=subset.node_name,
        op=op_def,
        inputs=inputs,
        upstream=tuple(dict.fromkeys(u for u in upstream if u != subset.node_name)),
        assets_def=subset,
        input_asset_keys=dict(subset.input_keys),
        selected_outputs=frozenset(subset.output_for(k) for k in subset.keys),
        selected_checks=frozenset(s.key for s in original.check_specs if s.key in checks),
        blocking_checks_upstream=tuple(dict.fromkeys(blocking)),
    )


def _graph_output_steps(assets_def: AssetsDefinition) -> dict[str, FromStep]:
    """Graph output name -> the op step (and its output) that computes it."""
    graph_def = assets_def.graph_def
    assert graph_def is not None
    outputs_of = _flatten_into(graph_def, f"{assets_def.node_name}.", {}, [])
    return {
        name: outputs_of[ref.node_name][ref.output_name]
        for name, ref in graph_def.output_mappings.items()
    }


def _graph_asset_steps(
    subset: AssetsDefinition,
    producer: _Producers,
    blocking_by_asset: _BlockingChecks,
    graph: AssetGraph,
) -> list[Step]:
    """The op steps of a graph-backed asset, each carrying the assets it computes itself."""
    graph_def = subset.graph_def
    assert graph_def is not None
    graph_inputs = {name: _asset_source(key, producer) for name, key in subset.input_keys.items()}
    op_steps: list[Step] = []
    _flatten_into(graph_def, f"{subset.node_name}.", graph_inputs, op_steps)
    outputs = _graph_output_steps(subset)
    # ordering deps (deps= without data) and blocking checks hold back every op of the graph
    extra: list[str] = []
    blocking: list[AssetCheckKey] = []
    own = f"{subset.node_name}."  # an op of this graph behind a view would wait for itself
    for spec in subset.specs_by_output.values():
        for dep in spec.dep_keys:
            if dep in producer:
                extra.append(producer[dep][0])
            extra.extend(s for s in _behind_view(graph, dep, producer) if not s.startswith(own))
            for check_key, check_step in blocking_by_asset.get(dep, ()):
                extra.append(check_step)
                blocking.append(check_key)
    steps = []
    check_specs = subset.check_specs_by_output
    for op_step in op_steps:
        specs = {
            source.output_name: subset.specs_by_output[name]
            for name, source in outputs.items()
            if source.step_key == op_step.key
            and name in subset.specs_by_output
            and subset.specs_by_output[name].key in subset.keys
        }
        # the checks this op reports: those of its outputs mapped to checks of the graph
        op_checks = {
            source.output_name: check_specs[name]
            for name, source in outputs.items()
            if source.step_key == op_step.key
            and name in check_specs
            and check_specs[name].key in subset.selected_checks
        }
        unselected = {
            source.output_name: check_specs[name]
            for name, source in outputs.items()
            if source.step_key == op_step.key
            and name in check_specs
            and check_specs[name].key not in subset.selected_checks
        }
        fed_by_assets = {
            input_name: subset.input_keys[graph_input]
            for graph_input, targets in _graph_input_targets(graph_def, subset.node_name)
            for step_key, input_name in targets
            if step_key == op_step.key
        }
        view = dataclasses.replace(
            subset,
            op=op_step.op,
            specs_by_output=specs,
            input_keys=fed_by_assets,
            selected_keys=None,
            graph_def=None,
            # the op's checks a subset leaves out too: a result for one is let through
            check_specs=(*op_checks.values(), *unselected.values()),
            check_outputs=(*op_checks, *unselected),
            selected_check_keys=None,
        )
        upstream = [*op_step.upstream, *extra]
        steps.append(
            dataclasses.replace(
                op_step,
                upstream=tuple(dict.fromkeys(u for u in upstream if u != op_step.key)),
                assets_def=view,
                input_asset_keys=fed_by_assets,
                blocking_checks_upstream=tuple(dict.fromkeys(blocking)),
                in_graph_asset=True,
                selected_outputs=op_step.selected_outputs - set(unselected),
                selected_checks=frozenset(spec.key for spec in op_checks.values()),
                check_outputs={out: spec.key for out, spec in op_checks.items()},
                graph_checks=subset.check_keys,
            )
        )
    return steps


def _graph_input_targets(
    graph_def: GraphDefinition, prefix: str
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each graph input with the (step key, input name) pairs it feeds, through nested graphs."""
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for graph_input, targets in graph_def.input_mappings.items():
        flat: list[tuple[str, str]] = []
        for node_name, node_input in targets:
            node = graph_def.node(node_name)
            if isinstance(node, GraphDefinition):
                for inner_input, inner in _graph_input_targets(node, f"{prefix}.{node_name}"):
                    if inner_input == node_input:
                        flat.extend(inner)
            else:
                flat.append((f"{prefix}.{node_name}", node_input))
        out.append((graph_input, flat))
    return out


def _behind_view(graph: AssetGraph, dep: AssetKey, producer: _Producers) -> list[str]:
    """The steps of this run that compute what the view ``dep`` reads, when the run does not
    compute the view itself: a view reads its upstream when it is read, so an asset that
    reads the view waits for them (as in Dagster)."""
    if dep in producer or not graph.has(dep) or not graph.node(dep).is_virtual:
        return []
    ancestors = graph.get_non_virtual_ancestor_keys(dep)
    return [producer[key][0] for key in sorted(ancestors) if key in producer]


def _asset_source(key: AssetKey, producer: _Producers) -> InputSource:
    if key in producer:
        step_key, output = producer[key]
        return FromStep(step_key, output)
    return FromAsset(key)


def _toposort(steps: Sequence[Step], job: JobDefinition) -> list[Step]:
    by_key = {s.key: s for s in steps}
    if len(by_key) != len(steps):
        seen: set[str] = set()
        for step in steps:
            if step.key in seen:
                raise DefinitionError(
                    f"two steps of job {job.name!r} are named {step.key!r}: rename one of the "
                    "assets, checks or ops."
                )
            seen.add(step.key)
    in_degree = {s.key: 0 for s in steps}
    children: dict[str, list[str]] = {s.key: [] for s in steps}
    for step in steps:
        for up in step.upstream:
            if up in by_key:
                in_degree[step.key] += 1
                children[up].append(step.key)
    ready = [s.key for s in steps if in_degree[s.key] == 0]
    order: list[Step] = []
    while ready:
        key = ready.pop(0)
        order.append(by_key[key])
        for child in children[key]:
            in_degree[child] -= 1
            if in_degree[child] == 0:
                ready.append(child)
    if len(order) != len(steps):
        stuck = sorted(k for k, d in in_degree.items() if d > 0)
        raise CycleError(
            f"the steps of job {job.name!r} wait on each other in a cycle among: {stuck}. "
            "A blocking check or a multi-asset dependency closes a loop; split the definition."
        )
    return order


# ---- op jobs ----------------------------------------------------------------------------


def _flatten(graph_def: GraphDefinition) -> list[Step]:
    steps: list[Step] = []
    _flatten_into(graph_def, "", {}, steps)
    return steps


def _flatten_into(
    graph_def: GraphDefinition,
    prefix: str,
    graph_inputs: Mapping[str, InputSource],
    steps: list[Step],
) -> dict[str, dict[str, FromStep]]:
    """Add the steps of ``graph_def``; return where each node's outputs really come from."""
    outputs_of: dict[str, dict[str, FromStep]] = {}

    def resolve(value: Any) -> InputSource:
        if isinstance(value, list):
            sources: list[FromStep] = []
            for item in value:
                resolved = resolve(item)
                if isinstance(resolved, FromStep):
                    sources.append(resolved)
                elif isinstance(resolved, FromMany):
                    sources.extend(resolved.sources)
            return FromMany(tuple(sources))
        if isinstance(value, GraphInputRef):
            return graph_inputs.get(value.input_name, FromNothing())
        if isinstance(value, InvokedOutput):
            found = outputs_of[value.node_name][value.output_name]
            if isinstance(value, MappedInput):
                return FromMapped(found.step_key, found.output_name)
            if isinstance(value, CollectedOutput):
                return FromCollected(found.step_key, found.output_name, value.of_dynamic)
            return found
        raise DefinitionError(
            f"cannot wire {value!r} in graph {graph_def.name!r}"
        )  # pragma: no cover

    for name, invocation in graph_def.invocations.items():
        handle = f"{prefix}{name}"
        wired = {k: resolve(v) for k, v in invocation.inputs.items()}
        node = invocation.node
        if isinstance(node, GraphDefinition):
            inner_inputs: dict[str, InputSource] = {}
            for graph_input in node.input_defs:
                inner_inputs[graph_input] = wired.get(graph_input, FromNothing())
            inner_outputs = _flatten_into(node, handle + ".", inner_inputs, steps)
            outputs_of[name] = {
                out_name: inner_outputs[ref.node_name][ref.output_name]
                for out_name, ref in node.output_mappings.items()
            }
            continue
        if not isinstance(node, OpDefinition):  # pragma: no cover
            raise DefinitionError(f"node {name!r} of graph {graph_def.name!r} is not an op")
        inputs = {n: wired.get(n, FromNothing()) for n in node.input_defs}
        mapped_by = _mapped_by(inputs, {s.key: s for s in steps}, handle)
        key = handle + UNRESOLVED if mapped_by is not None else handle
        upstream: list[str] = []
        for source in inputs.values():
            if isinstance(source, (FromStep, FromMapped, FromCollected)):
                upstream.append(source.step_key)
            elif isinstance(source, FromMany):
                upstream.extend(s.step_key for s in source.sources)
        steps.append(
            Step(
                key=key,
                op=node,
                inputs=inputs,
                upstream=tuple(dict.fromkeys(upstream)),
                selected_outputs=frozenset(node.output_defs),
                mapped_by=mapped_by,
            )
        )
        outputs_of[name] = {out: FromStep(key, out) for out in node.output_defs}
    return outputs_of


def _mapped_by(
    inputs: Mapping[str, InputSource], earlier: Mapping[str, Step], handle: str
) -> tuple[str, str] | None:
    """The dynamic output a step with these inputs fans out over (None: not a mapped step)."""
    found: set[tuple[str, str]] = set()
    for source in inputs.values():
        if isinstance(source, FromMapped):
            if earlier[source.step_key].mapped_by is not None:
                raise DefinitionError(
                    f"op {handle!r} maps over dynamic output {source.output_name!r} of "
                    f"{source.step_key!r}, which itself runs inside .map(): knoll maps one "
                    "level deep. Collect the inner results first."
                )
            found.add((source.step_key, source.output_name))
        elif isinstance(source, FromStep) and source.step_key in earlier:
            upstream = earlier[source.step_key].mapped_by
            if upstream is not None:
                found.add(upstream)
    if len(found) > 1:
        raise DefinitionError(
            f"op {handle!r} takes values mapped over several dynamic outputs "
            f"({sorted(f'{k}.{o}' for k, o in found)}); map over one, and .collect() the others."
        )
    return next(iter(found), None)


def _select_ops(steps: list[Step], op_selection: Sequence[str], job: JobDefinition) -> list[Step]:
    if any(s.mapped_by is not None for s in steps):
        raise DefinitionError(
            f"op_selection cannot narrow job {job.name!r}: it has dynamic outputs (.map), whose "
            "steps are known only at run time. Run the whole job."
        )
    keys = [s.key for s in steps]
    wanted: set[str] = set()
    for name in op_selection:
        # a graph's name selects every op inside it
        inside = [k for k in keys if k == name or k.startswith(f"{name}.")]
        if not inside:
            raise DefinitionError(
                f"op_selection names {name!r}, which is not an op or graph of job {job.name!r}."
                f"{did_you_mean(name, keys)}"
            )
        wanted.update(inside)
    out = []
    for step in steps:
        if step.key not in wanted:
            continue
        inputs: dict[str, InputSource] = {}
        for input_name, source in step.inputs.items():
            sources = source.sources if isinstance(source, FromMany) else (source,)
            cut = [s.step_key for s in sources if isinstance(s, FromStep)]
            cut = [k for k in cut if k not in wanted]
            if not cut:
                inputs[input_name] = source
                continue
            input_def = step.op.input_defs[input_name]
            if not (input_def.has_default or input_def.is_nothing):
                raise DefinitionError(
                    f"op_selection runs op {step.key!r} without op {cut[0]!r}, which produces its "
                    f"input {input_name!r}. Add {cut[0]!r} to op_selection, or give the input a "
                    "default: In(default_value=...)."
                )
            inputs[input_name] = FromNothing()
        upstream = tuple(u for u in step.upstream if u in wanted)
        out.append(
            Step(step.key, step.op, inputs, upstream, selected_outputs=step.selected_outputs)
        )
    return out
