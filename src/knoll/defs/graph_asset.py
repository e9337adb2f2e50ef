"""Graph-backed assets: ``@graph_asset`` and ``@graph_multi_asset``.

The body wires ops like a ``@graph``; each output of the graph is an asset. A run executes the
graph's ops as steps of their own (``asset_name.op_name``), and the step that computes a graph
output records that asset's materialization. The parameters of the body are upstream assets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from knoll._utils import check_asset_name, check_node_name, did_you_mean, docstring, source_location
from knoll.defs.asset import (
    AssetOut,
    AssetsDefinition,
    check_asset_op_name,
    graph_backed_definition,
)
from knoll.defs.asset_spec import DEFAULT_ASSET_IN, AssetDep, AssetIn, AssetSpec
from knoll.defs.check import AssetCheckSpec
from knoll.defs.graph import GraphDefinition, build_graph
from knoll.defs.keys import AssetKey, key_for_name
from knoll.defs.output import DEFAULT_OUTPUT
from knoll.defs.policies import AutomationCondition, BackfillPolicy
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.config_mapping import ConfigMapping
    from knoll.defs.hook import HookDefinition
    from knoll.defs.partitions import PartitionsDefinition


def _input_keys(
    graph_def: GraphDefinition, ins: Mapping[str, AssetIn] | None, owner: str
) -> tuple[dict[str, AssetKey], list[AssetDep]]:
    """The upstream asset of each graph input (named like it unless ``ins`` maps it)."""
    for name in ins or {}:
        if name not in graph_def.input_defs:
            raise DefinitionError(
                f"{owner} ({graph_def.source}) maps input {name!r} in ins=, but its function has "
                f"no parameter {name!r}.{did_you_mean(name, list(graph_def.input_defs))}"
            )
    keys: dict[str, AssetKey] = {}
    deps: list[AssetDep] = []
    for name in graph_def.input_defs:
        asset_in = (ins or {}).get(name) or DEFAULT_ASSET_IN
        if not isinstance(asset_in, AssetIn):
            raise DefinitionError(
                f"ins[{name!r}] of {owner} must be an AssetIn(...), got {type(asset_in).__name__}."
            )
        keys[name] = asset_in.resolve_key(name)
        deps.append(AssetDep(keys[name], partition_mapping=asset_in.partition_mapping))
    return keys, deps


def _graph_asset_key(
    fn: Callable[..., Any],
    name: str | None,
    key: AssetKey | str | Sequence[str] | None,
    key_prefix: str | Sequence[str] | None,
) -> AssetKey:
    if key is not None:
        if name is not None or key_prefix is not None:
            raise DefinitionError(
                f"@graph_asset on {fn.__name__} ({source_location(fn)}) sets key= together with "
                "name= or key_prefix=; use key= alone, or name= with key_prefix=."
            )
        return AssetKey.from_coercible(key)
    asset_key = key_for_name(
        check_asset_name(name or fn.__name__, f"@graph_asset on {fn.__name__}")
    )
    return asset_key.with_prefix(key_prefix) if key_prefix else asset_key


@overload
def graph_asset(compose_fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def graph_asset(
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    key_prefix: str | Sequence[str] | None = None,
    group_name: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    automation_condition: AutomationCondition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    code_version: str | None = None,
    key: AssetKey | str | Sequence[str] | None = None,
    hooks: Iterable[HookDefinition] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config: ConfigMapping | Mapping[str, Any] | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def graph_asset(  # noqa: PLR0913 (Dagster's keyword arguments)
    compose_fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    key_prefix: str | Sequence[str] | None = None,
    group_name: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    automation_condition: AutomationCondition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    code_version: str | None = None,
    key: AssetKey | str | Sequence[str] | None = None,
    hooks: Iterable[HookDefinition] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config: ConfigMapping | Mapping[str, Any] | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare one asset computed by several ops: the body wires them like a ``@graph``.

    ``hooks`` run after each step of the graph's ops; ``resource_defs`` binds resources to the
    asset, as ``with_resources`` does. ``config`` configures the graph's ops (a
    ``ConfigMapping`` or a dict of their config). With ``check_specs`` the body returns a dict:
    the asset under ``"result"`` and each check's result under ``spec.get_python_identifier()``.
    """

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        asset_key = _graph_asset_key(fn, name, key, key_prefix)
        owner = f"asset {asset_key.to_user_string()!r}"
        graph_def = build_graph(
            fn,
            name=check_asset_op_name(asset_key, owner, fn),
            description=description,
            tags=None,
            config=config,
        )
        _check_outputs(graph_def, check_specs, owner)
        input_keys, deps = _input_keys(graph_def, ins, owner)
        spec = AssetSpec(
            asset_key,
            deps=deps,
            description=description or docstring(fn),
            metadata=metadata,
            group_name=group_name,
            code_version=code_version,
            automation_condition=automation_condition,
            owners=owners,
            tags=tags,
            kinds=kinds,
            partitions_def=partitions_def,
        )
        outputs = [o for o in graph_def.output_defs if o not in _check_names(check_specs)]
        return graph_backed_definition(
            graph_def,
            input_keys,
            {outputs[0] if outputs else DEFAULT_OUTPUT: spec},
            partitions_def,
            backfill_policy,
            graph_def.source,
            owner,
            hooks=hooks,
            resource_defs=resource_defs,
            check_specs=check_specs,
        )

    if compose_fn is not None:
        return decorate(compose_fn)
    return decorate


def graph_multi_asset(  # noqa: PLR0913 (Dagster's keyword arguments)
    *,
    outs: Mapping[str, AssetOut],
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    group_name: str | None = None,
    hooks: Iterable[HookDefinition] | None = None,
    can_subset: bool = False,
    resource_defs: Mapping[str, Any] | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    config: ConfigMapping | Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare several assets computed by one graph: one per entry of ``outs``.

    The body returns a dict (or a tuple in the order of ``outs``) of op outputs. ``hooks``,
    ``resource_defs``, ``config`` and ``check_specs`` are as for ``@graph_asset`` (each check's
    result under ``spec.get_python_identifier()`` in the returned dict); with
    ``can_subset=True`` a run that selects some of the assets and checks runs only the ops
    those need.
    """

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        graph_name = check_node_name(fn.__name__ if name is None else name, "graph_multi_asset")
        owner = f"graph_multi_asset {graph_name!r}"
        for out_name, asset_out in outs.items():
            if not isinstance(asset_out, AssetOut):
                raise DefinitionError(
                    f"outs[{out_name!r}] of {owner} must be an AssetOut(...), got "
                    f"{type(asset_out).__name__}."
                )
        check_outs = dict.fromkeys(_check_names(check_specs))
        graph_def = build_graph(
            fn,
            name=graph_name,
            description=docstring(fn),
            tags=None,
            out={**outs, **check_outs},
            config=config,
        )
        input_keys, deps = _input_keys(graph_def, ins, owner)
        specs = {
            out_name: asset_out.to_spec(out_name, deps, group_name, partitions_def)
            for out_name, asset_out in outs.items()
        }
        return graph_backed_definition(
            graph_def,
            input_keys,
            specs,
            partitions_def,
            backfill_policy,
            graph_def.source,
            owner,
            hooks=hooks,
            resource_defs=resource_defs,
            can_subset=can_subset,
            check_specs=check_specs,
        )

    return decorate


def _check_names(check_specs: Sequence[AssetCheckSpec] | None) -> list[str]:
    """The graph outputs that compute ``check_specs``."""
    for spec in check_specs or ():
        if not isinstance(spec, AssetCheckSpec):
            raise DefinitionError(
                f"check_specs= takes AssetCheckSpec(...) objects, got {type(spec).__name__}."
            )
    return [spec.get_python_identifier() for spec in check_specs or ()]


def _check_outputs(
    graph_def: GraphDefinition, check_specs: Sequence[AssetCheckSpec] | None, owner: str
) -> None:
    """A @graph_asset returns its asset (as ``result`` when it returns checks too) and, under
    their names, the outputs that compute its checks."""
    checks = _check_names(check_specs)
    outputs = list(graph_def.output_defs)
    if not checks:
        if len(outputs) > 1:
            raise DefinitionError(
                f"{owner} ({graph_def.source}) returns {len(outputs)} outputs; a @graph_asset "
                "computes one asset. Use @graph_multi_asset(outs={...}) for several."
            )
        return
    expected = [DEFAULT_OUTPUT, *checks]
    if sorted(outputs) != sorted(expected):
        shown = ", ".join(f"{name!r}: ..." for name in expected)
        raise DefinitionError(
            f"{owner} ({graph_def.source}) declares check_specs, so its body returns a dict "
            f"with the asset under 'result' and each check's result under its name: "
            f"return {{{shown}}} (it returned {sorted(outputs) or 'nothing'})."
        )
