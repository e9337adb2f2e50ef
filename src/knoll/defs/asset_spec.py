"""The immutable description of one asset: ``AssetSpec``, and how it names its dependencies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knoll._utils import check_asset_tags, check_group_name
from knoll.defs.automation import AutomationCondition
from knoll.defs.keys import AssetKey, key_for_name
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.freshness import FreshnessPolicy
    from knoll.defs.partitions import PartitionMapping, PartitionsDefinition

DEFAULT_GROUP = "default"
_NO_KINDS: frozenset[str] = frozenset()
# A spec is immutable and its mappings are typed Mapping: the empty metadata and tags of most
# specs are one shared dict each.
_NO_METADATA: dict[str, MetadataValue] = {}
_NO_TAGS: dict[str, str] = {}
_KIND_TAG_PREFIX = "knoll/kind/"
IO_MANAGER_KEY_METADATA = "knoll/io_manager_key"
"""Metadata key naming the IO manager that loads an asset declared with an AssetSpec."""


def _key_of(value: object, owner: str) -> AssetKey:
    try:
        return AssetKey.from_coercible(value)
    except DefinitionError as exc:
        raise DefinitionError(f"dependency of {owner}: {exc}") from None


@dataclass(frozen=True)
class AssetDep:
    """A dependency on another asset that this asset does not load as an input."""

    # AssetKey | str | Sequence[str] | AssetSpec | AssetsDefinition; compared by asset_key
    asset: Any = field(compare=False)
    partition_mapping: PartitionMapping | None = None
    asset_key: AssetKey = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "asset_key", _key_of(self.asset, "AssetDep"))


_DEPS_BY_KEY: dict[AssetKey, AssetDep] = {}


def dep_on(key: AssetKey) -> AssetDep:
    """``AssetDep(key)``, one shared object per key: every child of an asset names it."""
    dep = _DEPS_BY_KEY.get(key)
    if dep is None:
        dep = AssetDep(key)
        if len(_DEPS_BY_KEY) < 1_000_000:
            _DEPS_BY_KEY[key] = dep
    return dep


@dataclass(frozen=True)
class AssetIn:
    """Declares how an asset input maps to an upstream asset (key, partition mapping, type)."""

    key: AssetKey | str | Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None
    key_prefix: str | Sequence[str] | None = None
    partition_mapping: PartitionMapping | None = None
    dagster_type: Any = None

    def resolve_key(self, input_name: str) -> AssetKey:
        if self.key is not None:
            if self.key_prefix is not None:
                raise DefinitionError(
                    f"AssetIn for input {input_name!r} sets both key= and key_prefix=; keep one."
                )
            return AssetKey.from_coercible(self.key)
        key = key_for_name(input_name)
        return key.with_prefix(self.key_prefix) if self.key_prefix else key


DEFAULT_ASSET_IN = AssetIn()
"""``AssetIn()``: shared, since most inputs are mapped by their parameter name alone."""


@dataclass(frozen=True)
class AssetSpec:
    """One asset: its key, dependencies and descriptive attributes.

    On its own (in ``Definitions(assets=[AssetSpec("raw_orders")])``) it declares an external
    asset that knoll does not materialize, such as a warehouse source table. ``is_virtual=True``
    marks a view (see :attr:`is_virtual`).
    """

    key: AssetKey
    deps: tuple[AssetDep, ...] = ()
    description: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    skippable: bool = False
    group_name: str | None = None
    code_version: str | None = None
    automation_condition: AutomationCondition | None = None
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    kinds: frozenset[str] = _NO_KINDS
    partitions_def: PartitionsDefinition | None = None
    # a view (a dbt view, say): its data is computed from its upstream assets whenever it is
    # read, so staleness and automation can look through it to those assets
    is_virtual: bool = False
    freshness_policy: FreshnessPolicy | None = None  # evaluated by the daemon's freshness duty

    def __init__(  # noqa: PLR0913 (Dagster's keyword arguments)
        self,
        key: AssetKey | str | Sequence[str],
        *,
        deps: Sequence[Any] | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        skippable: bool = False,
        group_name: str | None = None,
        code_version: str | None = None,
        automation_condition: AutomationCondition | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Sequence[str] | frozenset[str] | None = None,
        partitions_def: PartitionsDefinition | None = None,
        is_virtual: bool = False,
        freshness_policy: FreshnessPolicy | None = None,
    ) -> None:
        asset_key = AssetKey.from_coercible(key)
        owner = f"asset {asset_key.to_user_string()!r}"
        set_ = object.__setattr__
        set_(self, "key", asset_key)
        set_(self, "deps", normalize_deps(deps, owner))
        set_(self, "description", description)
        set_(self, "metadata", normalize_metadata(metadata, owner) if metadata else _NO_METADATA)
        set_(self, "skippable", skippable)
        if group_name is not None:
            check_group_name(group_name, owner)
        set_(self, "group_name", group_name)
        set_(self, "code_version", code_version)
        set_(self, "automation_condition", automation_condition)
        set_(self, "owners", _check_owners(owners, owner) if owners else ())
        set_(self, "tags", check_asset_tags(dict(tags), owner) if tags else _NO_TAGS)
        set_(self, "kinds", _check_kinds(kinds, owner) if kinds else _NO_KINDS)
        set_(self, "partitions_def", partitions_def)
        set_(self, "is_virtual", check_is_virtual(is_virtual, owner))
        if freshness_policy is not None:
            check_freshness_policy(freshness_policy, owner)
        set_(self, "freshness_policy", freshness_policy)

    def replace(self, **changes: Any) -> AssetSpec:
        """A copy with some attributes changed, e.g. ``spec.replace(group_name="sales")``."""
        current = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        unknown = set(changes) - set(current)
        if unknown:
            raise DefinitionError(f"AssetSpec has no attribute {sorted(unknown)[0]!r} to replace.")
        current.update(changes)
        key = current.pop("key")
        return AssetSpec(key, **current)

    def replace_attributes(self, **changes: Any) -> AssetSpec:
        """A copy with the given attributes replaced outright (Dagster's ``replace_attributes``).

        Every attribute can be given, ``key`` too; metadata, tags, owners, kinds and deps given
        here replace the old ones entirely (use :meth:`merge_attributes` to add to them).
        """
        return self.replace(**changes)

    def merge_attributes(
        self,
        *,
        deps: Sequence[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        owners: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> AssetSpec:
        """A copy with deps, metadata, tags, owners or kinds added to the existing ones.

        Metadata and tags given here win over existing entries with the same key; deps,
        owners and kinds are appended (a dependency already listed is an error). Every other
        attribute (``is_virtual`` among them) is kept.
        """
        return self.replace(
            deps=(*self.deps, *(deps or ())),
            metadata={**self.metadata, **(metadata or {})},
            tags={**self.tags, **(tags or {})},
            owners=(*self.owners, *(o for o in owners or () if o not in self.owners)),
            kinds=self.kinds | frozenset(kinds or ()),
        )

    def with_io_manager_key(self, io_manager_key: str) -> AssetSpec:
        """A copy whose downstream assets load it with the IO manager ``io_manager_key``.

        The key is kept in the spec's metadata under ``knoll/io_manager_key``.
        """
        given: object = io_manager_key  # a user may pass anything: check at the boundary
        if not isinstance(given, str) or not given:
            raise DefinitionError(
                f"asset {self.key.to_user_string()!r}: with_io_manager_key({io_manager_key!r}) "
                "needs the resource key of an IO manager, such as 'warehouse_io_manager'."
            )
        return self.replace(metadata={**self.metadata, IO_MANAGER_KEY_METADATA: io_manager_key})

    @property
    def io_manager_key(self) -> str | None:
        """The IO manager key set with :meth:`with_io_manager_key`, if any."""
        value = self.metadata.get(IO_MANAGER_KEY_METADATA)
        return None if value is None else str(value.value)

    @property
    def dep_keys(self) -> tuple[AssetKey, ...]:
        return tuple(d.asset_key for d in self.deps)

    @property
    def effective_group(self) -> str:
        return self.group_name or DEFAULT_GROUP


def mapped_specs(
    specs: Mapping[str, AssetSpec],
    input_keys: Mapping[str, AssetKey],
    func: Callable[[AssetSpec], AssetSpec],
) -> dict[str, AssetSpec]:
    """``func`` applied to each spec of one definition, keeping keys and input-backed deps."""
    out: dict[str, AssetSpec] = {}
    for name, spec in specs.items():
        new = func(spec)
        where = f"map_asset_specs on asset {spec.key.to_user_string()!r}"
        if not isinstance(new, AssetSpec):
            raise DefinitionError(
                f"{where}: the function returned {type(new).__name__} {new!r}; return an "
                "AssetSpec, for example spec.replace_attributes(...)."
            )
        if new.key != spec.key:
            raise DefinitionError(
                f"{where}: the function changed the key to {new.key.to_user_string()!r}; it "
                "must keep keys (rename assets with key_prefix= or AssetOut(key=...) instead)."
            )
        kept = set(new.dep_keys)
        for input_name, key in input_keys.items():
            if key in spec.dep_keys and key not in kept:
                raise DefinitionError(
                    f"{where}: the function removed the dependency on {key.to_user_string()!r}, "
                    f"which parameter {input_name!r} loads; only deps that are not parameters "
                    "can be changed or removed."
                )
        out[name] = new
    return out


def normalize_deps(deps: Sequence[Any] | None, owner: str) -> tuple[AssetDep, ...]:
    if deps is None:
        return ()
    if isinstance(deps, (str, AssetKey)):
        raise DefinitionError(
            f"deps of {owner} must be a list, got {deps!r}: write deps=[{str(deps)!r}]."
        )
    out: list[AssetDep] = []
    seen: set[AssetKey] = set()
    for dep in deps:
        item = dep if isinstance(dep, AssetDep) else AssetDep(_dep_target(dep, owner))
        if item.asset_key in seen:
            raise DefinitionError(
                f"{owner} lists {item.asset_key.to_user_string()!r} twice in its dependencies."
            )
        seen.add(item.asset_key)
        out.append(item)
    return tuple(out)


def _dep_target(dep: object, owner: str) -> AssetKey:
    keys = getattr(dep, "keys", None)
    if isinstance(keys, (set, frozenset)) and not isinstance(dep, Mapping):
        if len(keys) != 1:
            raise DefinitionError(
                f"{owner} depends on a definition of {len(keys)} assets; name the one it "
                "depends on: deps=[AssetKey(...)]"
            )
        return next(iter(keys))  # type: ignore[no-any-return]
    return _key_of(dep, owner)


def check_is_virtual(is_virtual: object, owner: str) -> bool:
    """``is_virtual=`` as given, refused when it is not a bool (a string such as "false"
    would otherwise be taken as true)."""
    if not isinstance(is_virtual, bool):
        raise DefinitionError(
            f"is_virtual of {owner} must be True or False, got {is_virtual!r}: write "
            "is_virtual=True for a view, whose data is computed from its upstream assets "
            "whenever it is read."
        )
    return is_virtual


def _check_owners(owners: Sequence[object] | None, owner: str) -> tuple[str, ...]:
    if not owners:
        return ()
    if isinstance(owners, str):
        raise DefinitionError(f"owners of {owner} must be a list: owners=[{owners!r}].")
    for item in owners:
        text = item if isinstance(item, str) else ""
        is_email = "@" in text and "." in text.split("@")[-1]
        is_team = text.startswith("team:") and len(text) > len("team:")
        if not (is_email or is_team):
            raise DefinitionError(
                f"owner {item!r} of {owner} is not valid: use an email address "
                "('ana@example.com') or a team ('team:data-eng')."
            )
    return tuple(str(o) for o in owners)


def _check_kinds(kinds: Sequence[object] | frozenset[object] | None, owner: str) -> frozenset[str]:
    if not kinds:
        return _NO_KINDS
    if isinstance(kinds, str):
        raise DefinitionError(f"kinds of {owner} must be a list: kinds=[{kinds!r}].")
    for kind in kinds:
        if not isinstance(kind, str) or not kind:
            raise DefinitionError(f"kind {kind!r} of {owner} must be a non-empty string.")
    if len(kinds) > 3:
        raise DefinitionError(f"{owner} has {len(kinds)} kinds; at most 3 are allowed.")
    return frozenset(str(k) for k in kinds)


def check_freshness_policy(policy: object, owner: str) -> None:
    """Refuse a ``freshness_policy=`` that is not a ``FreshnessPolicy``."""
    from knoll.defs.freshness import FreshnessPolicy

    if not isinstance(policy, FreshnessPolicy):
        raise DefinitionError(
            f"freshness_policy of {owner} must be a FreshnessPolicy, got {policy!r}: build one "
            "with FreshnessPolicy.time_window(fail_window=timedelta(hours=24)) or "
            "FreshnessPolicy.cron(deadline_cron='0 9 * * *', lower_bound_delta=timedelta(hours=1))."
        )
