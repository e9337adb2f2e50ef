"""Asset checks: data-quality tests attached to an asset, whose results are events."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knoll._serdes import serializable
from knoll._utils import check_name, check_node_name, docstring, source_location
from knoll.defs.asset_spec import AssetIn, normalize_deps
from knoll.defs.compute_kind import with_compute_kind
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.defs.op import In, OpDefinition, Out, build_op
from knoll.defs.policies import RetryPolicy
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.partitions import PartitionsDefinition


@serializable()
class AssetCheckSeverity(enum.Enum):
    """How bad a failed check is. A failed blocking check of severity ERROR stops downstream."""

    WARN = "WARN"
    ERROR = "ERROR"


@dataclass(frozen=True)
class AssetCheckSpec:
    """Declares a check an asset's own function reports on (``@asset(check_specs=[...])``)."""

    name: str
    asset: Any  # AssetKey | str | Sequence[str] | AssetsDefinition
    description: str | None = None
    blocking: bool = False
    metadata: Mapping[str, Any] | None = None
    additional_deps: Sequence[Any] | None = None
    partitions_def: PartitionsDefinition | None = None
    asset_key: AssetKey = field(init=False)

    def __post_init__(self) -> None:
        check_name(self.name, "asset check")
        object.__setattr__(self, "asset_key", AssetKey.from_coercible(self.asset))

    @property
    def key(self) -> AssetCheckKey:
        return AssetCheckKey(self.asset_key, self.name)

    def get_python_identifier(self) -> str:
        """``asset__key_check``: the check as a Python name, which names the graph output that
        computes it in a graph-backed asset (``@graph_asset(check_specs=[...])``)."""
        return f"{self.asset_key.to_python_identifier()}_{self.name}".replace(".", "_")


class AssetCheckResult:
    """What a check function returns: passed or not, with severity, metadata and description."""

    __slots__ = ("asset_key", "check_name", "description", "metadata", "passed", "severity")

    def __init__(
        self,
        *,
        passed: bool,
        asset_key: AssetKey | str | Sequence[str] | None = None,
        check_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
        description: str | None = None,
    ) -> None:
        if not isinstance(passed, bool):
            raise DefinitionError(
                f"AssetCheckResult(passed={passed!r}): passed must be True or False, "
                f"got {type(passed).__name__}. Use bool(...) on the condition."
            )
        self.passed = passed
        self.asset_key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
        self.check_name = check_name
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata, "AssetCheckResult")
        self.severity = severity
        self.description = description

    def __repr__(self) -> str:
        return (
            f"AssetCheckResult(passed={self.passed}, check_name={self.check_name!r}, "
            f"asset_key={self.asset_key!r}, severity={self.severity.value})"
        )


@serializable()
@dataclass(frozen=True)
class AssetCheckEvaluation:
    """The recorded result of one check: the payload of an ASSET_CHECK_EVALUATION event."""

    asset_key: AssetKey
    check_name: str
    passed: bool
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    description: str | None = None
    blocking: bool = False
    partition: str | None = None

    @property
    def check_key(self) -> AssetCheckKey:
        return AssetCheckKey(self.asset_key, self.check_name)

    @property
    def blocks_downstream(self) -> bool:
        return self.blocking and not self.passed and self.severity is AssetCheckSeverity.ERROR


@dataclass(frozen=True, eq=False)
class AssetChecksDefinition:
    """Checks that run in a step of their own after their assets: one made with
    ``@asset_check``, or several made with ``@multi_asset_check``."""

    op: OpDefinition
    specs: tuple[AssetCheckSpec, ...]
    asset_input: str | None  # the parameter that receives the checked asset's value
    input_keys: Mapping[str, AssetKey]  # every data input (incl. the asset) → its asset key
    dep_keys: tuple[AssetKey, ...]  # non-data dependencies (additional_deps)
    can_subset: bool = False

    @property
    def spec(self) -> AssetCheckSpec:
        """The one check of an ``@asset_check``."""
        if len(self.specs) != 1:
            raise DefinitionError(
                f"multi-asset check {self.op.name!r} declares {len(self.specs)} checks; use "
                ".specs or .check_keys."
            )
        return self.specs[0]

    @property
    def key(self) -> AssetCheckKey:
        return self.spec.key

    @property
    def asset_key(self) -> AssetKey:
        return self.spec.asset_key

    @property
    def check_keys(self) -> frozenset[AssetCheckKey]:
        return frozenset(s.key for s in self.specs)

    @property
    def asset_keys(self) -> tuple[AssetKey, ...]:
        """The checked assets, in the order of the specs, once each."""
        return tuple(dict.fromkeys(s.asset_key for s in self.specs))

    def describe(self) -> str:
        if len(self.specs) == 1:
            return f"asset check {self.specs[0].key.to_user_string()!r}"
        return f"multi-asset check {self.op.name!r}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.op(*args, **kwargs)

    def with_asset_key_prefix(self, prefix: str | Sequence[str]) -> AssetChecksDefinition:
        """A copy that checks (and reads) the same assets under ``prefix``."""
        parts = (prefix,) if isinstance(prefix, str) else tuple(prefix)
        specs = tuple(
            dataclasses.replace(spec, asset=spec.asset_key.with_prefix(parts))
            for spec in self.specs
        )
        return dataclasses.replace(
            self,
            op=self.op.replace(name="__".join((*parts, self.op.name))),
            specs=specs,
            input_keys={name: key.with_prefix(parts) for name, key in self.input_keys.items()},
            dep_keys=tuple(key.with_prefix(parts) for key in self.dep_keys),
        )


def asset_check(  # noqa: PLR0913 (Dagster's keyword arguments)
    *,
    asset: Any,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    additional_ins: Mapping[str, AssetIn] | None = None,
    additional_deps: Sequence[Any] | None = None,
    required_resource_keys: Collection[str] | None = None,
    config_schema: Any = None,
    retry_policy: RetryPolicy | None = None,
    metadata: Mapping[str, Any] | None = None,
    pool: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    compute_kind: str | None = None,
    op_tags: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Declare a check of ``asset``. The function returns an ``AssetCheckResult``.

    A parameter of the function (other than context, config and resources) receives the
    checked asset's value; ``additional_ins`` maps further parameters to other assets. With
    ``partitions_def`` (the checked asset's own), the check runs for the run's partitions and
    each result is recorded once per partition.
    """

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        check_name_ = check_name(fn.__name__ if name is None else name, "asset check")
        asset_key = AssetKey.from_coercible(asset)
        spec = AssetCheckSpec(
            check_name_,
            asset=asset_key,
            description=description or docstring(fn),
            blocking=blocking,
            metadata=metadata,
            additional_deps=additional_deps,
            partitions_def=partitions_def,
        )
        owner = f"asset check {spec.key.to_user_string()!r}"
        extra = dict(additional_ins or {})
        op_def = build_op(
            fn,
            name=f"{asset_key.to_python_identifier()}_{check_name_}",
            ins={k: In(v.dagster_type) if v.dagster_type else In() for k, v in extra.items()},
            out=Out(),
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            description=spec.description,
            tags=with_compute_kind(op_tags, compute_kind),
            retry_policy=retry_policy,
            pool=pool,
            code_version=None,
            owner=owner,
        ).replace(kind="asset check")
        asset_input, input_keys = _check_inputs(fn, owner, op_def, asset_key, extra)
        deps = normalize_deps(additional_deps, owner)
        return AssetChecksDefinition(
            op=op_def,
            specs=(spec,),
            asset_input=asset_input,
            input_keys=input_keys,
            dep_keys=tuple(d.asset_key for d in deps),
        )

    return decorate


def _check_inputs(
    fn: Callable[..., Any],
    owner: str,
    op_def: OpDefinition,
    asset_key: AssetKey,
    additional_ins: Mapping[str, AssetIn],
) -> tuple[str | None, dict[str, AssetKey]]:
    """The parameter that receives the checked asset (if any), and the asset of each input."""
    data_inputs = [n for n in op_def.input_defs if n not in additional_ins]
    if len(data_inputs) > 1:
        raise DefinitionError(
            f"{owner} ({source_location(fn)}) has parameters {data_inputs}; only one can "
            f"receive the checked asset. Map the others with additional_ins="
            f"{{{data_inputs[1]!r}: AssetIn('...')}}."
        )
    input_keys: dict[str, AssetKey] = {}
    asset_input = data_inputs[0] if data_inputs else None
    if asset_input is not None:
        input_keys[asset_input] = asset_key
    for input_name, asset_in in additional_ins.items():
        input_keys[input_name] = asset_in.resolve_key(input_name)
    return asset_input, input_keys


def multi_asset_check(  # noqa: PLR0913 (Dagster's keyword arguments)
    *,
    specs: Sequence[AssetCheckSpec],
    name: str | None = None,
    description: str | None = None,
    can_subset: bool = False,
    compute_kind: str | None = None,
    op_tags: Mapping[str, str] | None = None,
    required_resource_keys: Collection[str] | None = None,
    retry_policy: RetryPolicy | None = None,
    config_schema: Any = None,
    ins: Mapping[str, AssetIn | AssetKey | str | Sequence[str]] | None = None,
    pool: str | None = None,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Declare one function that reports several checks (``specs``), in one step.

    It yields (or returns a list of) one ``AssetCheckResult`` per check, each naming its
    ``asset_key`` and ``check_name`` where that is ambiguous. ``ins`` maps parameters to the
    assets they receive; with ``can_subset=True`` it reports only
    ``context.selected_asset_check_keys``.
    """

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        op_name = check_node_name(fn.__name__ if name is None else name, "multi-asset check")
        owner = f"multi-asset check {op_name!r}"
        checks = _multi_check_specs(specs, owner, fn)
        asset_ins = {
            k: v if isinstance(v, AssetIn) else AssetIn(key=v) for k, v in (ins or {}).items()
        }
        op_def = build_op(
            fn,
            name=op_name,
            ins={k: In(v.dagster_type) if v.dagster_type else In() for k, v in asset_ins.items()},
            out=Out(),
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            description=description or docstring(fn),
            tags=with_compute_kind(op_tags, compute_kind),
            retry_policy=retry_policy,
            pool=pool,
            code_version=None,
            owner=owner,
        ).replace(kind="asset check")
        unmapped = [n for n in op_def.input_defs if n not in asset_ins]
        if unmapped:
            raise DefinitionError(
                f"{owner} ({source_location(fn)}) has parameter {unmapped[0]!r}, which no entry "
                f"of ins= maps to an asset; add ins={{{unmapped[0]!r}: AssetIn('...')}}."
            )
        deps = [d for s in checks for d in normalize_deps(s.additional_deps, owner)]
        return AssetChecksDefinition(
            op=op_def,
            specs=checks,
            asset_input=None,
            input_keys={k: v.resolve_key(k) for k, v in asset_ins.items()},
            dep_keys=tuple(dict.fromkeys(d.asset_key for d in deps)),
            can_subset=can_subset,
        )

    return decorate


def _multi_check_specs(
    specs: Sequence[AssetCheckSpec], owner: str, fn: Callable[..., Any]
) -> tuple[AssetCheckSpec, ...]:
    checks = tuple(specs or ())
    if not checks or not all(isinstance(s, AssetCheckSpec) for s in checks):
        raise DefinitionError(
            f"{owner} ({source_location(fn)}) needs specs=[AssetCheckSpec(...), ...]: one "
            "spec per check it reports."
        )
    keys = [s.key for s in checks]
    if len(set(keys)) != len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise DefinitionError(f"{owner} lists check {twice.to_user_string()!r} twice.")
    return checks
