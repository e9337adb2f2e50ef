"""Assets: ``@asset`` and the ``AssetsDefinition`` it (and ``@multi_asset``) produces."""

from __future__ import annotations

import dataclasses
import inspect
import keyword
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from knoll._utils import (
    RESERVED_NAMES,
    check_asset_name,
    did_you_mean,
    docstring,
    source_location,
)
from knoll.defs.asset_spec import (
    DEFAULT_ASSET_IN,
    AssetDep,
    AssetIn,
    AssetSpec,
    dep_on,
    mapped_specs,
    normalize_deps,
)
from knoll.defs.check import AssetCheckSpec
from knoll.defs.composition import current_composition
from knoll.defs.compute_kind import kinds_with_compute_kind, with_compute_kind
from knoll.defs.hook import HookDefinition, check_hooks
from knoll.defs.keys import AssetCheckKey, AssetKey, key_for_name
from knoll.defs.node_assets import ByOutputName, graph_with_hooks, node_asset_specs, prune_graph
from knoll.defs.op import DEFAULT_OUT, In, OpDefinition, Out, build_op
from knoll.defs.output import DEFAULT_OUTPUT, MaterializeResult
from knoll.defs.policies import AutomationCondition, BackfillPolicy, RetryPolicy
from knoll.defs.runtime import runtime
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.freshness import FreshnessPolicy
    from knoll.defs.graph import GraphDefinition
    from knoll.defs.partitions import PartitionMapping, PartitionsDefinition


@dataclass(frozen=True)
class AssetOut:
    """One output of a ``@multi_asset``: the asset it produces and how it is stored."""

    key: AssetKey | str | Sequence[str] | None = None
    key_prefix: str | Sequence[str] | None = None
    dagster_type: Any = inspect.Parameter.empty
    description: str | None = None
    is_required: bool = True
    io_manager_key: str | None = None
    metadata: Mapping[str, Any] | None = None
    group_name: str | None = None
    code_version: str | None = None
    automation_condition: AutomationCondition | None = None
    owners: Sequence[str] | None = None
    tags: Mapping[str, str] | None = None
    kinds: Sequence[str] | None = None
    is_virtual: bool = False

    def to_spec(
        self,
        output_name: str,
        deps: Sequence[AssetDep],
        group: str | None,
        partitions_def: PartitionsDefinition | None = None,
    ) -> AssetSpec:
        if self.key is not None:
            if self.key_prefix is not None:
                raise DefinitionError(
                    f"AssetOut for output {output_name!r} sets both key= and key_prefix=; keep "
                    "key= alone (a full key), or key_prefix= alone (the output name is the rest)."
                )
            key = AssetKey.from_coercible(self.key)
        else:
            key = AssetKey(output_name)
            if self.key_prefix:
                key = key.with_prefix(self.key_prefix)
        return AssetSpec(
            key,
            deps=deps,
            description=self.description,
            metadata=self.metadata,
            skippable=not self.is_required,
            group_name=self.group_name or group,
            code_version=self.code_version,
            automation_condition=self.automation_condition,
            owners=self.owners,
            tags=self.tags,
            kinds=self.kinds,
            partitions_def=partitions_def,
            is_virtual=self.is_virtual,
        )


@dataclass(frozen=True, eq=False)
class AssetsDefinition:
    """One computation that produces one or more assets, or an external asset (no op)."""

    op: OpDefinition | None
    specs_by_output: Mapping[str, AssetSpec]
    input_keys: Mapping[str, AssetKey] = field(default_factory=dict)
    partitions_def: PartitionsDefinition | None = None
    can_subset: bool = False
    selected_keys: frozenset[AssetKey] | None = None
    check_specs: tuple[AssetCheckSpec, ...] = ()
    backfill_policy: BackfillPolicy | None = None
    source: str = "<unknown>"
    # a graph-backed asset (@graph_asset, from_graph): the graph whose ops compute it; ``op``
    # then stands for the whole graph (its inputs, outputs and resources), never runs itself
    graph_def: GraphDefinition | None = None
    is_observable: bool = False  # an observable source asset: its op observes, never writes
    # resources bound by with_resources(); Definitions and materialize() merge them in
    resource_defs: Mapping[str, Any] = field(default_factory=dict)
    # a graph-backed definition: the graph output of each of ``check_specs`` (same order),
    # and the checks a subset of it runs (None: all of them)
    check_outputs: tuple[str, ...] = ()
    selected_check_keys: frozenset[AssetCheckKey] | None = None

    # ---- identity ----------------------------------------------------------------------
    @property
    def keys(self) -> frozenset[AssetKey]:
        """The asset keys this definition produces (after subsetting)."""
        # the selection when there is one: building the full set first is per-step work
        return self.all_keys if self.selected_keys is None else self.selected_keys

    @property
    def all_keys(self) -> frozenset[AssetKey]:
        return frozenset(s.key for s in self.specs_by_output.values())

    @property
    def key(self) -> AssetKey:
        """The key of a single-asset definition."""
        if len(self.specs_by_output) != 1:
            raise DefinitionError(
                f"{self.describe()} produces {len(self.specs_by_output)} assets; use .keys "
                "or name the asset you mean."
            )
        return next(iter(self.specs_by_output.values())).key

    @property
    def specs(self) -> tuple[AssetSpec, ...]:
        return tuple(self.specs_by_output.values())

    @property
    def is_executable(self) -> bool:
        return self.op is not None

    @property
    def node_name(self) -> str:
        if self.op is None:
            raise DefinitionError(f"{self.describe()} is external: it has no op to run.")
        return self.op.name

    @property
    def check_keys(self) -> frozenset[AssetCheckKey]:
        return frozenset(s.key for s in self.check_specs)

    @property
    def selected_checks(self) -> frozenset[AssetCheckKey]:
        """The checks a run of this (subset of a) definition reports."""
        if self.selected_check_keys is None:
            return self.check_keys
        return self.selected_check_keys

    @property
    def check_specs_by_output(self) -> dict[str, AssetCheckSpec]:
        """A graph-backed definition's checks by the graph output that computes each."""
        return dict(zip(self.check_outputs, self.check_specs, strict=True))

    def spec_for(self, key: AssetKey) -> AssetSpec:
        for spec in self.specs_by_output.values():
            if spec.key == key:
                return spec
        raise DefinitionError(f"{self.describe()} does not produce {key.to_user_string()!r}.")

    def output_for(self, key: AssetKey) -> str:
        for name, spec in self.specs_by_output.items():
            if spec.key == key:
                return name
        raise DefinitionError(f"{self.describe()} does not produce {key.to_user_string()!r}.")

    def partition_mapping_for(self, upstream: AssetKey) -> PartitionMapping | None:
        for spec in self.specs_by_output.values():
            for dep in spec.deps:
                if dep.asset_key == upstream and dep.partition_mapping is not None:
                    return dep.partition_mapping
        return None

    def describe(self) -> str:
        keys = sorted(self.all_keys)
        if len(keys) == 1:
            return f"asset {keys[0].to_user_string()!r}"
        name = self.op.name if self.op else "external assets"
        return f"multi-asset {name!r} ({', '.join(k.to_user_string() for k in keys)})"

    # ---- changes ----------------------------------------------------------------------
    def subset_for(
        self, keys: Iterable[AssetKey], check_keys: Iterable[AssetCheckKey] | None = None
    ) -> AssetsDefinition:
        """This definition restricted to ``keys`` (only for ``can_subset`` multi-assets).

        ``check_keys`` narrows the checks of a graph-backed definition: a subset of it runs only
        the ops its selected assets and checks need; one that cannot be split must run all.
        """
        wanted = frozenset(keys) & self.all_keys
        checks = self.check_keys if check_keys is None else frozenset(check_keys) & self.check_keys
        everything = wanted == self.all_keys
        if everything and (checks == self.check_keys or self.graph_def is None):
            return dataclasses.replace(self, selected_keys=None, selected_check_keys=None)
        if not self.can_subset and everything:  # a graph that cannot be split: all its checks
            left_out = sorted(k.to_user_string() for k in self.check_keys - checks)
            raise DefinitionError(
                f"{self.describe()} cannot be split: the selection leaves out its checks "
                f"{left_out}. Select its checks too (AssetSelection.assets(...) includes them), "
                "or declare it with can_subset=True."
            )
        if not self.can_subset:
            missing = sorted(k.to_user_string() for k in self.all_keys - wanted)
            raise DefinitionError(
                f"{self.describe()} cannot be split: the selection leaves out {missing}. "
                "Select all of its assets, or declare it with can_subset=True and yield only "
                "context.selected_output_names."
            )
        if self.graph_def is None:
            return dataclasses.replace(self, selected_keys=wanted)
        # a graph-backed subset runs only the ops its selected outputs need; one that reads an
        # asset of the graph left out of the run loads it from storage, as in Dagster
        outputs = [name for name, spec in self.specs_by_output.items() if spec.key in wanted]
        outputs += [name for name, spec in self.check_specs_by_output.items() if spec.key in checks]
        boundaries: dict[str, AssetKey | None] = {
            name: spec.key for name, spec in self.specs_by_output.items()
        }
        boundaries.update(dict.fromkeys(self.check_outputs))
        graph_def, loaded = prune_graph(self.graph_def, outputs, boundaries)
        # an op that runs anyway keeps the outputs of its unselected checks: a result for one
        # is then let through, as Dagster does
        mappings = self.graph_def.output_mappings
        kept = [
            name
            for name in self.check_outputs
            if name not in outputs and mappings[name].node_name in graph_def.invocations
        ]
        if kept:
            graph_def, loaded = prune_graph(self.graph_def, [*outputs, *kept], boundaries)
        return dataclasses.replace(
            self,
            selected_keys=wanted,
            selected_check_keys=checks,
            graph_def=graph_def,
            input_keys={**self.input_keys, **loaded},
        )

    def with_attributes(
        self,
        *,
        key_prefix: str | Sequence[str] | None = None,
        group_name: str | None = None,
        renamed: Mapping[AssetKey, AssetKey] | None = None,
    ) -> AssetsDefinition:
        """A copy with every key prefixed and/or its group set (used by loaders).

        ``renamed`` maps the old keys of other assets prefixed together with this one to their
        new keys, so that dependencies on them follow.
        """
        prefix = (key_prefix,) if isinstance(key_prefix, str) else tuple(key_prefix or ())
        new_keys = dict(renamed or {})
        if prefix:
            new_keys.update((key, key.with_prefix(prefix)) for key in self.all_keys)

        def remap(key: AssetKey) -> AssetKey:
            return new_keys.get(key, key)

        specs = {}
        for name, spec in self.specs_by_output.items():
            changes: dict[str, Any] = {
                "key": remap(spec.key),
                "deps": tuple(
                    AssetDep(remap(d.asset_key), partition_mapping=d.partition_mapping)
                    for d in spec.deps
                ),
            }
            if group_name is not None:
                if spec.group_name not in (None, group_name):
                    raise DefinitionError(
                        f"cannot set group {group_name!r} on {spec.key.to_user_string()!r}: "
                        f"it already declares group {spec.group_name!r}."
                    )
                changes["group_name"] = group_name
            specs[name] = spec.replace(**changes)
        checks = tuple(dataclasses.replace(c, asset=remap(c.asset_key)) for c in self.check_specs)
        selected = None if self.selected_keys is None else frozenset(map(remap, self.selected_keys))
        selected_checks = self.selected_check_keys
        if selected_checks is not None:
            selected_checks = frozenset(
                AssetCheckKey(remap(c.asset_key), c.name) for c in selected_checks
            )
        op_def = self.op
        if op_def is not None and prefix:
            op_def = op_def.replace(name="__".join((*prefix, op_def.name)))
        return dataclasses.replace(
            self,
            op=op_def,
            specs_by_output=specs,
            input_keys={name: remap(key) for name, key in self.input_keys.items()},
            check_specs=checks,
            selected_keys=selected,
            selected_check_keys=selected_checks,
        )

    def map_asset_specs(self, func: Callable[[AssetSpec], AssetSpec]) -> AssetsDefinition:
        """A copy with ``func`` applied to each of its specs; keys and input deps must stay."""
        return dataclasses.replace(
            self, specs_by_output=mapped_specs(self.specs_by_output, self.input_keys, func)
        )

    # ---- graph-backed ------------------------------------------------------------------
    @classmethod
    def from_graph(  # noqa: PLR0913 (Dagster's keyword arguments)
        cls,
        graph_def: GraphDefinition,
        *,
        keys_by_input_name: Mapping[str, AssetKey] | None = None,
        keys_by_output_name: Mapping[str, AssetKey] | None = None,
        key_prefix: str | Sequence[str] | None = None,
        partitions_def: PartitionsDefinition | None = None,
        partition_mappings: Mapping[str, PartitionMapping] | None = None,
        group_name: str | None = None,
        group_names_by_output_name: Mapping[str, str | None] | None = None,
        descriptions_by_output_name: Mapping[str, str] | None = None,
        metadata_by_output_name: Mapping[str, Mapping[str, Any] | None] | None = None,
        tags_by_output_name: Mapping[str, Mapping[str, str] | None] | None = None,
        owners_by_output_name: Mapping[str, Sequence[str]] | None = None,
        code_versions_by_output_name: Mapping[str, str | None] | None = None,
        automation_conditions_by_output_name: Mapping[str, AutomationCondition | None]
        | None = None,
        backfill_policy: BackfillPolicy | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        hook_defs: Iterable[HookDefinition] | None = None,
        can_subset: bool = False,
        internal_asset_deps: Mapping[str, Collection[AssetKey]] | None = None,
        check_specs: Sequence[AssetCheckSpec] | None = None,
    ) -> AssetsDefinition:
        """Assets computed by the ops of ``graph_def``: one asset per output of the graph.

        ``internal_asset_deps`` narrows what each output depends on, as in ``@multi_asset``.
        ``check_specs`` declares checks computed by the graph: the output named
        ``spec.get_python_identifier()`` computes each (it is not an asset). The graph's own
        ``config=`` (``@graph(config=...)``) configures its ops.
        """
        check_outputs = {spec.get_python_identifier() for spec in check_specs or ()}
        input_keys, specs = node_asset_specs(
            graph_def,
            "from_graph",
            keys_by_input_name=keys_by_input_name,
            keys_by_output_name=keys_by_output_name,
            key_prefix=key_prefix,
            partitions_def=partitions_def,
            partition_mappings=partition_mappings,
            group_name=group_name,
            description=graph_def.description,
            by_output=ByOutputName(
                group_names_by_output_name,
                descriptions_by_output_name,
                metadata_by_output_name,
                tags_by_output_name,
                owners_by_output_name,
                code_versions_by_output_name,
                automation_conditions_by_output_name,
            ),
            check_outputs=check_outputs,
        )
        owner = f"AssetsDefinition.from_graph({graph_def.describe()})"
        if internal_asset_deps is not None:
            _narrow_node_deps(specs, internal_asset_deps, owner)
        return graph_backed_definition(
            graph_def,
            input_keys,
            specs,
            partitions_def,
            backfill_policy,
            graph_def.source,
            owner,
            hooks=hook_defs,
            resource_defs=resource_defs,
            can_subset=can_subset,
            check_specs=check_specs,
        )

    @classmethod
    def from_op(  # noqa: PLR0913 (Dagster's keyword arguments)
        cls,
        op_def: OpDefinition,
        *,
        keys_by_input_name: Mapping[str, AssetKey] | None = None,
        keys_by_output_name: Mapping[str, AssetKey] | None = None,
        key_prefix: str | Sequence[str] | None = None,
        partitions_def: PartitionsDefinition | None = None,
        partition_mappings: Mapping[str, PartitionMapping] | None = None,
        group_name: str | None = None,
        group_names_by_output_name: Mapping[str, str | None] | None = None,
        descriptions_by_output_name: Mapping[str, str] | None = None,
        metadata_by_output_name: Mapping[str, Mapping[str, Any] | None] | None = None,
        tags_by_output_name: Mapping[str, Mapping[str, str] | None] | None = None,
        automation_conditions_by_output_name: Mapping[str, AutomationCondition | None]
        | None = None,
        backfill_policy: BackfillPolicy | None = None,
        can_subset: bool = False,
        hook_defs: Iterable[HookDefinition] | None = None,
        internal_asset_deps: Mapping[str, Collection[AssetKey]] | None = None,
    ) -> AssetsDefinition:
        """Assets computed by ``op_def``: one asset per output of the op, run as one step.

        ``internal_asset_deps`` narrows what each output depends on, as in ``@multi_asset``.
        """
        input_keys, specs = node_asset_specs(
            op_def,
            "from_op",
            keys_by_input_name=keys_by_input_name,
            keys_by_output_name=keys_by_output_name,
            key_prefix=key_prefix,
            partitions_def=partitions_def,
            partition_mappings=partition_mappings,
            group_name=group_name,
            description=op_def.description,
            by_output=ByOutputName(
                group_names_by_output_name,
                descriptions_by_output_name,
                metadata_by_output_name,
                tags_by_output_name,
                automation_conditions=automation_conditions_by_output_name,
            ),
        )
        if internal_asset_deps is not None:
            _narrow_node_deps(
                specs, internal_asset_deps, f"AssetsDefinition.from_op({op_def.describe()})"
            )
        op_def = op_def.replace(kind="asset" if len(specs) == 1 else "multi-asset")
        return cls(
            op=op_def.with_hooks(hook_defs) if hook_defs is not None else op_def,
            specs_by_output=specs,
            input_keys=input_keys,
            partitions_def=partitions_def,
            can_subset=can_subset,
            backfill_policy=backfill_policy,
            source=op_def.source,
        )

    # ---- direct invocation -----------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.op is None:
            raise DefinitionError(f"{self.describe()} is external and cannot be invoked.")
        if self.graph_def is not None:
            raise DefinitionError(
                f"{self.describe()} is computed by a graph of ops and cannot be called directly. "
                "Run it with materialize([...]) or call its ops one by one."
            )
        if current_composition() is not None:
            raise DefinitionError(
                f"{self.describe()} was called inside a @graph or @job body. Assets are not "
                "wired by calling them: select them with define_asset_job(selection=...)."
            )
        return runtime().invoke(self.op, args, kwargs, self)

    def __repr__(self) -> str:
        return f"<AssetsDefinition {self.describe()}>"


def graph_backed_definition(  # noqa: PLR0913 (the parts of a graph-backed definition)
    graph_def: GraphDefinition,
    input_keys: Mapping[str, AssetKey],
    specs_by_output: Mapping[str, AssetSpec],
    partitions_def: PartitionsDefinition | None,
    backfill_policy: BackfillPolicy | None,
    source: str,
    owner: str | None = None,
    *,
    hooks: Iterable[HookDefinition] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    can_subset: bool = False,
    check_specs: Sequence[AssetCheckSpec] | None = None,
) -> AssetsDefinition:
    """The definition of assets computed by the ops of ``graph_def`` (one per graph output).

    ``hooks`` run after each step of the graph's ops; ``resource_defs`` are bound to the assets
    as ``with_resources`` would. Each of ``check_specs`` is computed by the graph output named
    ``spec.get_python_identifier()``, whose op returns its ``AssetCheckResult``.
    """
    owner = owner or graph_def.describe()
    if not graph_def.output_defs or not specs_by_output:
        raise DefinitionError(
            f"{owner} ({source}) returns no output, so it computes no "
            "asset. Return the output of the op that computes the asset from the graph body."
        )
    checks = checks_of(check_specs, {s.key for s in specs_by_output.values()}, owner)
    check_outputs = tuple(spec.get_python_identifier() for spec in checks)
    for spec, output in zip(checks, check_outputs, strict=True):
        if output not in graph_def.output_defs:
            raise DefinitionError(
                f"{owner} ({source}) declares check {spec.name!r} of "
                f"{spec.asset_key.to_user_string()!r} in check_specs=, but its graph has no "
                f"output {output!r}. Return the output of the op that returns the check's "
                f"AssetCheckResult under that name, for example: return {{'result': ..., "
                f"{output!r}: validate(...)}}."
            )
    hook_set = check_hooks(hooks, owner)
    if hook_set:
        graph_def = graph_with_hooks(graph_def, hook_set)
    return AssetsDefinition(
        op=graph_def.as_op("asset" if len(specs_by_output) == 1 else "multi-asset"),
        specs_by_output=dict(specs_by_output),
        input_keys=dict(input_keys),
        partitions_def=partitions_def,
        check_specs=checks,
        backfill_policy=backfill_policy,
        source=source,
        graph_def=graph_def,
        resource_defs=dict(resource_defs or {}),
        can_subset=can_subset,
        check_outputs=check_outputs,
    )


def external_assets_definition(spec: AssetSpec) -> AssetsDefinition:
    return AssetsDefinition(
        op=None,
        specs_by_output={spec.key.to_python_identifier(): spec},
        partitions_def=spec.partitions_def,
    )


def resolve_asset_ins(
    op_def: OpDefinition, ins: Mapping[str, AssetIn], owner: str
) -> tuple[dict[str, AssetKey], list[AssetDep]]:
    unknown = set(ins) - set(op_def.input_defs) if ins else None
    if unknown:
        name = sorted(unknown)[0]
        raise DefinitionError(
            f"{owner} ({op_def.source}) maps input {name!r} in ins=, but its function has no "
            f"parameter {name!r}.{did_you_mean(name, list(op_def.input_defs))}"
        )
    if not ins:  # every input is the asset named like its parameter
        keys = {input_name: key_for_name(input_name) for input_name in op_def.input_defs}
        return keys, [dep_on(key) for key in keys.values()]
    input_keys: dict[str, AssetKey] = {}
    deps: list[AssetDep] = []
    for input_name in op_def.input_defs:
        asset_in = ins.get(input_name) or DEFAULT_ASSET_IN
        key = asset_in.resolve_key(input_name)
        input_keys[input_name] = key
        mapping = asset_in.partition_mapping
        deps.append(dep_on(key) if mapping is None else AssetDep(key, partition_mapping=mapping))
    return input_keys, deps


def op_ins(ins: Mapping[str, AssetIn] | None) -> dict[str, In]:
    out: dict[str, In] = {}
    for name, asset_in in (ins or {}).items():
        if not isinstance(asset_in, AssetIn):
            raise DefinitionError(
                f"ins[{name!r}] must be an AssetIn(...), got {type(asset_in).__name__}."
            )
        out[name] = In(
            asset_in.dagster_type if asset_in.dagster_type is not None else inspect.Parameter.empty,
            metadata=asset_in.metadata,
        )
    return out


def merge_deps(
    data_deps: Sequence[AssetDep], extra: tuple[AssetDep, ...], owner: str
) -> list[AssetDep]:
    out = list(data_deps)
    if not extra:
        return out
    seen = {d.asset_key for d in out}
    for dep in extra:
        if dep.asset_key in seen:
            raise DefinitionError(
                f"{owner} names {dep.asset_key.to_user_string()!r} both as an input and in deps=; "
                "keep it as an input (use AssetIn(partition_mapping=...) for its mapping)."
            )
        seen.add(dep.asset_key)
        out.append(dep)
    return out


def _asset_out(dagster_type: Any, io_manager_key: str | None, code_version: str | None) -> Out:
    if dagster_type is None and io_manager_key is None and code_version is None:
        return DEFAULT_OUT
    return Out(
        dagster_type if dagster_type is not None else inspect.Parameter.empty,
        io_manager_key=io_manager_key,
        code_version=code_version,
    )


def _returns_no_value(annotation: Any) -> bool:
    return annotation is None or annotation is type(None) or annotation is MaterializeResult


@overload
def asset(fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def asset(
    *,
    name: str | None = None,
    key: AssetKey | str | Sequence[str] | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Sequence[Any] | None = None,
    group_name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    op_tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    code_version: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    io_manager_key: str | None = None,
    required_resource_keys: Collection[str] | None = None,
    config_schema: Any = None,
    retry_policy: RetryPolicy | None = None,
    hooks: Iterable[HookDefinition] | None = None,
    backfill_policy: BackfillPolicy | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    automation_condition: AutomationCondition | None = None,
    pool: str | None = None,
    dagster_type: Any = None,
    compute_kind: str | None = None,
    is_virtual: bool = False,
    freshness_policy: FreshnessPolicy | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def asset(  # noqa: PLR0913 (Dagster's keyword arguments)
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key: AssetKey | str | Sequence[str] | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Sequence[Any] | None = None,
    group_name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    op_tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    code_version: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    io_manager_key: str | None = None,
    required_resource_keys: Collection[str] | None = None,
    config_schema: Any = None,
    retry_policy: RetryPolicy | None = None,
    hooks: Iterable[HookDefinition] | None = None,
    backfill_policy: BackfillPolicy | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    automation_condition: AutomationCondition | None = None,
    pool: str | None = None,
    dagster_type: Any = None,
    compute_kind: str | None = None,
    is_virtual: bool = False,
    freshness_policy: FreshnessPolicy | None = None,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare an asset computed by the decorated function.

    Parameter names are upstream assets (``ins=`` maps them elsewhere); a ``Config``-typed
    parameter is its config; resource-typed parameters are resources. ``compute_kind`` is
    Dagster's older spelling of one kind (``kinds=[compute_kind]``). ``is_virtual=True`` marks
    a view, which staleness and automation look through to its upstream assets.
    """
    options = _AssetOptions(
        name,
        key,
        key_prefix,
        ins,
        deps,
        group_name,
        description,
        metadata,
        tags,
        op_tags,
        owners,
        kinds,
        code_version,
        partitions_def,
        io_manager_key,
        required_resource_keys,
        config_schema,
        retry_policy,
        hooks,
        backfill_policy,
        check_specs,
        automation_condition,
        pool,
        dagster_type,
        compute_kind,
        is_virtual,
        freshness_policy,
    )
    if fn is not None:
        return _asset_definition(fn, options)
    return lambda f: _asset_definition(f, options)


class _AssetOptions(NamedTuple):
    """The keyword arguments of ``@asset``, kept together (a tuple: one object per call)."""

    name: str | None
    key: AssetKey | str | Sequence[str] | None
    key_prefix: str | Sequence[str] | None
    ins: Mapping[str, AssetIn] | None
    deps: Sequence[Any] | None
    group_name: str | None
    description: str | None
    metadata: Mapping[str, Any] | None
    tags: Mapping[str, str] | None
    op_tags: Mapping[str, str] | None
    owners: Sequence[str] | None
    kinds: Sequence[str] | None
    code_version: str | None
    partitions_def: PartitionsDefinition | None
    io_manager_key: str | None
    required_resource_keys: Collection[str] | None
    config_schema: Any
    retry_policy: RetryPolicy | None
    hooks: Iterable[HookDefinition] | None
    backfill_policy: BackfillPolicy | None
    check_specs: Sequence[AssetCheckSpec] | None
    automation_condition: AutomationCondition | None
    pool: str | None
    dagster_type: Any
    compute_kind: str | None
    is_virtual: bool
    freshness_policy: FreshnessPolicy | None


def _asset_key(f: Callable[..., Any], options: _AssetOptions) -> AssetKey:
    key, name, key_prefix = options.key, options.name, options.key_prefix
    if key is not None and (name is not None or key_prefix is not None):
        raise DefinitionError(
            f"@asset on {f.__name__} ({source_location(f)}) sets key= together with "
            "name= or key_prefix=; use key= alone, or name= with key_prefix=."
        )
    if key is not None:
        return AssetKey.from_coercible(key)
    asset_key = key_for_name(check_asset_name(name or f.__name__, f"@asset on {f.__name__}"))
    return asset_key.with_prefix(key_prefix) if key_prefix else asset_key


def _asset_op(
    f: Callable[..., Any], options: _AssetOptions, op_name: str, owner: str, doc: str | None
) -> OpDefinition:
    op_def = build_op(
        f,
        name=op_name,
        ins=op_ins(options.ins) if options.ins else None,
        out=_asset_out(options.dagster_type, options.io_manager_key, options.code_version),
        config_schema=options.config_schema,
        required_resource_keys=options.required_resource_keys,
        description=doc,
        tags=with_compute_kind(options.op_tags, options.compute_kind),
        retry_policy=options.retry_policy,
        pool=options.pool,
        code_version=options.code_version,
        owner=owner,
        kind="asset",
    )
    output = op_def.output_defs[DEFAULT_OUTPUT]
    if _returns_no_value(output.type):
        op_def = op_def.replace(
            output_defs={DEFAULT_OUTPUT: dataclasses.replace(output, type=MaterializeResult)}
        )
    return op_def.with_hooks(options.hooks) if options.hooks is not None else op_def


def check_asset_op_name(asset_key: AssetKey, owner: str, fn: Callable[..., Any]) -> str:
    """The op name of an asset (its key made an identifier), refused when Dagster reserves it
    (the error names where ``fn`` is defined)."""
    op_name = asset_key.to_python_identifier()
    if op_name in RESERVED_NAMES:
        kind = "a Python keyword" if keyword.iskeyword(op_name) else "a reserved word"
        raise DefinitionError(
            f"{owner} ({source_location(fn)}) would compute in an op named {op_name!r}, which "
            f"is {kind} that Dagster and knoll do not take as an op name. Rename the asset "
            f"(name=..., for example {op_name + '_asset'!r}) or put it under a key_prefix=."
        )
    return op_name


def _asset_definition(f: Callable[..., Any], options: _AssetOptions) -> AssetsDefinition:
    asset_key = _asset_key(f, options)
    owner = f"asset {asset_key.to_user_string()!r}"
    op_name = check_asset_op_name(asset_key, owner, f)
    doc = options.description or docstring(f)
    op_def = _asset_op(f, options, op_name, owner, doc)
    ins = options.ins or _NO_INS
    input_keys, data_deps = resolve_asset_ins(op_def, ins, owner)
    deps = options.deps
    all_deps = (
        data_deps if deps is None else merge_deps(data_deps, normalize_deps(deps, owner), owner)
    )
    partitions_def = options.partitions_def
    spec = AssetSpec(
        asset_key,
        deps=all_deps,
        description=doc,
        metadata=options.metadata,
        group_name=options.group_name,
        code_version=options.code_version,
        automation_condition=options.automation_condition,
        owners=options.owners,
        tags=options.tags,
        kinds=kinds_with_compute_kind(options.kinds, options.compute_kind, owner),
        partitions_def=partitions_def,
        is_virtual=options.is_virtual,
        freshness_policy=options.freshness_policy,
    )
    check_specs = options.check_specs
    return AssetsDefinition(
        op=op_def,
        specs_by_output={DEFAULT_OUTPUT: spec},
        input_keys=input_keys,
        partitions_def=partitions_def,
        check_specs=checks_of(check_specs, {asset_key}, owner) if check_specs else (),
        backfill_policy=options.backfill_policy,
        source=source_location(f),
    )


_NO_INS: Mapping[str, AssetIn] = {}


def checks_of(
    specs: Sequence[AssetCheckSpec] | None, keys: set[AssetKey], owner: str
) -> tuple[AssetCheckSpec, ...]:
    out = tuple(specs or ())
    seen: set[AssetCheckKey] = set()
    for spec in out:
        if spec.asset_key not in keys:
            raise DefinitionError(
                f"check {spec.name!r} in check_specs of {owner} targets "
                f"{spec.asset_key.to_user_string()!r}, which {owner} does not produce."
            )
        if spec.key in seen:
            raise DefinitionError(f"{owner} declares check {spec.name!r} twice.")
        seen.add(spec.key)
    return out


def _narrow_node_deps(
    specs: dict[str, AssetSpec],
    internal_asset_deps: Mapping[str, Collection[AssetKey]],
    owner: str,
) -> None:
    """``internal_asset_deps`` of ``from_graph``/``from_op``: every spec starts with all inputs."""
    shared = next(iter(specs.values())).deps if specs else ()
    apply_internal_deps(specs, internal_asset_deps, shared, owner)


def apply_internal_deps(
    specs_by_output: dict[str, AssetSpec],
    internal_asset_deps: Mapping[str, Collection[AssetKey | str | Sequence[str]]],
    shared_deps: Sequence[AssetDep],
    owner: str,
) -> None:
    """Narrow the deps of each output named in ``internal_asset_deps`` to the keys it lists."""
    upstream = {d.asset_key: d for d in shared_deps}
    own_keys = {spec.key for spec in specs_by_output.values()}
    for out_name, keys in internal_asset_deps.items():
        spec = specs_by_output.get(out_name)
        if spec is None:
            raise DefinitionError(
                f"internal_asset_deps of {owner} names output {out_name!r}, which it does not "
                f"have.{did_you_mean(out_name, list(specs_by_output))} Its outputs are "
                f"{sorted(specs_by_output)}."
            )
        deps: list[AssetDep] = []
        for coercible in keys:
            key = AssetKey.from_coercible(coercible)
            if key == spec.key:
                raise DefinitionError(
                    f"internal_asset_deps of {owner} makes {key.to_user_string()!r} depend on "
                    "itself; list only the assets it reads."
                )
            if key not in upstream and key not in own_keys:
                known = sorted(k.to_user_string() for k in (*upstream, *own_keys))
                raise DefinitionError(
                    f"internal_asset_deps[{out_name!r}] of {owner} lists "
                    f"{key.to_user_string()!r}, which is neither an input, a dep nor another "
                    f"output of it (those are {known}). Add it to ins= or deps=, or drop it."
                )
            deps.append(upstream.get(key) or dep_on(key))
        specs_by_output[out_name] = spec.replace(deps=tuple(deps))
