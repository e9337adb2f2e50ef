"""``@multi_asset``: one op that computes several assets, declared by ``AssetOut``s or
``AssetSpec``s."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from knoll._utils import (
    check_node_name,
    source_location,
)
from knoll.defs.asset_spec import (
    AssetDep,
    AssetIn,
    AssetSpec,
    normalize_deps,
)
from knoll.defs.check import AssetCheckSpec
from knoll.defs.compute_kind import kinds_with_compute_kind, with_compute_kind
from knoll.defs.hook import HookDefinition
from knoll.defs.keys import AssetKey
from knoll.defs.op import Out, build_op
from knoll.defs.output import MaterializeResult
from knoll.defs.policies import BackfillPolicy, RetryPolicy
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.partitions import PartitionsDefinition


from knoll.defs.asset import (
    AssetOut,
    AssetsDefinition,
    apply_internal_deps,
    checks_of,
    merge_deps,
    op_ins,
    resolve_asset_ins,
)


def multi_asset(  # noqa: PLR0913 (Dagster's keyword arguments)
    *,
    outs: Mapping[str, AssetOut] | None = None,
    specs: Sequence[AssetSpec] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Sequence[Any] | None = None,
    description: str | None = None,
    group_name: str | None = None,
    can_subset: bool = False,
    required_resource_keys: Collection[str] | None = None,
    config_schema: Any = None,
    partitions_def: PartitionsDefinition | None = None,
    op_tags: Mapping[str, str] | None = None,
    retry_policy: RetryPolicy | None = None,
    backfill_policy: BackfillPolicy | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    code_version: str | None = None,
    pool: str | None = None,
    internal_asset_deps: Mapping[str, Collection[AssetKey | str | Sequence[str]]] | None = None,
    compute_kind: str | None = None,
    hooks: Iterable[HookDefinition] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare one function that produces several assets, given as ``outs=`` or ``specs=``.

    ``internal_asset_deps`` maps an output name to the asset keys that output really depends
    on (among the multi-asset's upstream assets and its other outputs); an output left out
    depends on every upstream asset. ``hooks`` run after each step of the multi-asset.
    """

    def decorate(f: Callable[..., Any]) -> AssetsDefinition:
        op_name = check_node_name(f.__name__ if name is None else name, "multi-asset")
        owner = f"multi-asset {op_name!r}"
        if bool(outs) == bool(specs):
            raise DefinitionError(
                f"{owner} ({source_location(f)}) needs exactly one of outs= "
                "(a dict of AssetOut) or specs= (a list of AssetSpec)."
            )
        op_def = build_op(
            f,
            name=op_name,
            ins=op_ins(ins),
            out=_multi_asset_outs(outs, specs, owner, code_version),
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            description=description,
            tags=with_compute_kind(op_tags, compute_kind),
            retry_policy=retry_policy,
            pool=pool,
            code_version=code_version,
            owner=owner,
        ).replace(kind="multi-asset")
        if hooks is not None:
            op_def = op_def.with_hooks(hooks)
        input_keys, data_deps = resolve_asset_ins(op_def, ins or {}, owner)
        shared_deps = merge_deps(data_deps, normalize_deps(deps, owner), owner)
        specs_by_output, pdef = _multi_asset_specs(
            outs, specs, shared_deps, group_name, partitions_def, owner
        )
        if internal_asset_deps is not None:
            if specs:
                raise DefinitionError(
                    f"{owner} sets both specs= and internal_asset_deps=; give each AssetSpec "
                    "its own deps=[...] instead."
                )
            apply_internal_deps(specs_by_output, internal_asset_deps, shared_deps, owner)
        if compute_kind is not None:
            for out_name, spec in specs_by_output.items():
                kinds = kinds_with_compute_kind(sorted(spec.kinds), compute_kind, owner)
                specs_by_output[out_name] = spec.replace(kinds=kinds)
        seen = _outputs_by_key(specs_by_output, owner)
        return AssetsDefinition(
            op=op_def,
            specs_by_output=specs_by_output,
            input_keys=input_keys,
            partitions_def=pdef,
            can_subset=can_subset,
            check_specs=checks_of(check_specs, set(seen), owner),
            backfill_policy=backfill_policy,
            source=source_location(f),
        )

    return decorate


def _multi_asset_specs(
    outs: Mapping[str, AssetOut] | None,
    specs: Sequence[AssetSpec] | None,
    shared_deps: Sequence[AssetDep],
    group_name: str | None,
    partitions_def: PartitionsDefinition | None,
    owner: str,
) -> tuple[dict[str, AssetSpec], PartitionsDefinition | None]:
    """The spec of each output of a ``@multi_asset``, and its one partitions definition."""
    specs_by_output: dict[str, AssetSpec] = {}
    pdef = partitions_def
    if outs:
        for out_name, asset_out in outs.items():
            specs_by_output[out_name] = asset_out.to_spec(
                out_name, shared_deps, group_name, partitions_def
            )
    else:
        pdef = _shared_partitions_def(specs or (), partitions_def, owner)
        for spec in specs or ():
            out_name = spec.key.to_python_identifier()
            if out_name in specs_by_output:
                raise DefinitionError(
                    f"{owner} lists {spec.key.to_user_string()!r} twice in specs= (or two "
                    f"keys that both make the output name {out_name!r}); list each once."
                )
            merged = {d.asset_key: d for d in (*shared_deps, *spec.deps)}
            specs_by_output[out_name] = spec.replace(
                deps=tuple(merged.values()),
                group_name=spec.group_name or group_name,
                partitions_def=pdef,
            )
    return specs_by_output, pdef


def _multi_asset_outs(
    outs: Mapping[str, AssetOut] | None,
    specs: Sequence[AssetSpec] | None,
    owner: str,
    code_version: str | None,
) -> dict[str, Out]:
    """The op outputs of a ``@multi_asset``, from its ``outs=`` or its ``specs=``."""
    op_outs: dict[str, Out] = {}
    if outs:
        for out_name, asset_out in outs.items():
            if not isinstance(asset_out, AssetOut):
                raise DefinitionError(
                    f"outs[{out_name!r}] of {owner} must be an AssetOut, "
                    f"got {type(asset_out).__name__}."
                )
            op_outs[out_name] = Out(
                asset_out.dagster_type,
                description=asset_out.description,
                is_required=asset_out.is_required,
                io_manager_key=asset_out.io_manager_key,
                code_version=asset_out.code_version or code_version,
            )
        return op_outs
    for spec in specs or ():
        op_outs[spec.key.to_python_identifier()] = Out(
            MaterializeResult,
            is_required=not spec.skippable,
            code_version=spec.code_version,
        )
    return op_outs


def _outputs_by_key(specs_by_output: Mapping[str, AssetSpec], owner: str) -> dict[AssetKey, str]:
    seen: dict[AssetKey, str] = {}
    for out_name, spec in specs_by_output.items():
        if spec.key in seen:
            raise DefinitionError(
                f"{owner} produces {spec.key.to_user_string()!r} twice (outputs "
                f"{seen[spec.key]!r} and {out_name!r})."
            )
        seen[spec.key] = out_name
    return seen


def _shared_partitions_def(
    specs: Sequence[AssetSpec], partitions_def: PartitionsDefinition | None, owner: str
) -> PartitionsDefinition | None:
    """The one partitions definition of a multi-asset's specs: one step runs one partition."""
    found = [d for d in (partitions_def, *(s.partitions_def for s in specs)) if d is not None]
    for other in found[1:]:
        if other != found[0]:
            raise DefinitionError(
                f"{owner} mixes partitions ({found[0].describe()} and {other.describe()}). "
                "One multi-asset computes one partition at a time: give all its specs the same "
                "partitions_def, or split it into several assets."
            )
    return found[0] if found else None
