"""Loaders that collect the assets and asset checks defined at the top level of modules.

``load_assets_from_modules`` and friends find every ``AssetsDefinition`` (and, with
``include_specs=True``, every ``AssetSpec``) that a module defines or lists, once each, and
give copies with a group, a key prefix, an automation condition or a backfill policy set.
The package variants walk every submodule of a package, importing it.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any, TypeVar

from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_spec import AssetDep, AssetSpec
from knoll.defs.check import AssetChecksDefinition
from knoll.defs.keys import AssetKey
from knoll.defs.policies import AutomationCondition, BackfillPolicy
from knoll.errors import DefinitionError

_T = TypeVar("_T")

Prefix = str | Sequence[str]


def _found(modules: Iterable[ModuleType], kinds: tuple[type[_T], ...]) -> list[_T]:
    """Every object of ``kinds`` at the top level of ``modules`` (in lists too), once each."""
    found: dict[int, _T] = {}
    for module in modules:
        if not isinstance(module, ModuleType):
            raise DefinitionError(
                f"expected a module, got {type(module).__name__} {module!r}: pass imported "
                "modules (import my_project.assets; load_assets_from_modules([assets]))."
            )
        for value in vars(module).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, kinds):
                    found.setdefault(id(item), item)
    return list(found.values())


def _package_modules(package: ModuleType) -> Iterator[ModuleType]:
    """The package and every module under it, imported."""
    if not isinstance(package, ModuleType):
        raise DefinitionError(
            f"expected a package module, got {type(package).__name__} {package!r}: import the "
            "package and pass it, or use load_assets_from_package_name('my_project.assets')."
        )
    yield package
    path = getattr(package, "__path__", None)
    if path is None:
        return  # a plain module: only itself
    for info in pkgutil.walk_packages(path, prefix=f"{package.__name__}."):
        yield _import(info.name, package.__name__)


def _import(name: str, package: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as error:
        raise DefinitionError(
            f"could not import module {name!r} while loading package {package!r}: "
            f"{type(error).__name__}: {error}. Fix the module, or move it out of the package."
        ) from error


def _package_named(package_name: str) -> ModuleType:
    try:
        return importlib.import_module(package_name)
    except ModuleNotFoundError as error:
        raise DefinitionError(
            f"no package named {package_name!r} ({error}); check the name and that its folder "
            "is on sys.path (PYTHONPATH)."
        ) from error


def _caller_module() -> ModuleType:
    frame = inspect.stack()[2]
    module = inspect.getmodule(frame[0])
    if module is None:
        raise DefinitionError(
            "could not tell which module called load_*_from_current_module; call it at the top "
            "level of a module, or use load_assets_from_modules([module])."
        )
    return module


# ---- assets --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _AssetOptions:
    """The keyword options every asset loader takes, applied to what it finds."""

    automation_condition: AutomationCondition | None
    backfill_policy: BackfillPolicy | None
    source_key_prefix: Prefix | None
    include_specs: bool

    def load(
        self, modules: Iterable[ModuleType], group_name: str | None, key_prefix: Prefix | None
    ) -> list[AssetsDefinition | AssetSpec]:
        kinds: tuple[type[Any], ...] = (
            (AssetsDefinition, AssetSpec) if self.include_specs else (AssetsDefinition,)
        )
        found: list[AssetsDefinition | AssetSpec] = _found(modules, kinds)
        return _with_attributes(
            found,
            group_name,
            key_prefix,
            self.automation_condition,
            self.backfill_policy,
            self.source_key_prefix,
        )


def load_assets_from_modules(
    modules: Iterable[ModuleType],
    group_name: str | None = None,
    key_prefix: Prefix | None = None,
    *,
    automation_condition: AutomationCondition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    source_key_prefix: Prefix | None = None,
    include_specs: bool = False,
) -> list[AssetsDefinition | AssetSpec]:
    """Every asset defined at the top level of ``modules`` (and every ``AssetSpec`` there
    when ``include_specs``), with the given attributes set on copies."""
    options = _AssetOptions(automation_condition, backfill_policy, source_key_prefix, include_specs)
    return options.load(modules, group_name, key_prefix)


def load_assets_from_current_module(
    group_name: str | None = None,
    key_prefix: Prefix | None = None,
    *,
    automation_condition: AutomationCondition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    source_key_prefix: Prefix | None = None,
    include_specs: bool = False,
) -> list[AssetsDefinition | AssetSpec]:
    """``load_assets_from_modules`` on the module that calls it."""
    options = _AssetOptions(automation_condition, backfill_policy, source_key_prefix, include_specs)
    return options.load([_caller_module()], group_name, key_prefix)


def load_assets_from_package_module(
    package_module: ModuleType,
    group_name: str | None = None,
    key_prefix: Prefix | None = None,
    *,
    automation_condition: AutomationCondition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    source_key_prefix: Prefix | None = None,
    include_specs: bool = False,
) -> list[AssetsDefinition | AssetSpec]:
    """``load_assets_from_modules`` on a package and every module under it (imported)."""
    options = _AssetOptions(automation_condition, backfill_policy, source_key_prefix, include_specs)
    return options.load(list(_package_modules(package_module)), group_name, key_prefix)


def load_assets_from_package_name(
    package_name: str,
    group_name: str | None = None,
    key_prefix: Prefix | None = None,
    *,
    backfill_policy: BackfillPolicy | None = None,
    source_key_prefix: Prefix | None = None,
    include_specs: bool = False,
) -> list[AssetsDefinition | AssetSpec]:
    """``load_assets_from_package_module`` on the package imported by its dotted name."""
    options = _AssetOptions(None, backfill_policy, source_key_prefix, include_specs)
    modules = list(_package_modules(_package_named(package_name)))
    return options.load(modules, group_name, key_prefix)


def _with_attributes(
    found: list[AssetsDefinition | AssetSpec],
    group_name: str | None,
    key_prefix: Prefix | None,
    automation_condition: AutomationCondition | None,
    backfill_policy: BackfillPolicy | None,
    source_key_prefix: Prefix | None,
) -> list[AssetsDefinition | AssetSpec]:
    renamed: dict[AssetKey, AssetKey] = {}
    if source_key_prefix:  # loaded specs are sources: knoll does not compute them
        for item in found:
            if isinstance(item, AssetSpec):
                renamed[item.key] = item.key.with_prefix(source_key_prefix)
    if key_prefix:
        for item in found:
            if isinstance(item, AssetsDefinition):
                renamed.update((key, key.with_prefix(key_prefix)) for key in item.all_keys)
    out: list[AssetsDefinition | AssetSpec] = []
    for item in found:
        if isinstance(item, AssetsDefinition):
            if group_name or renamed:
                item = item.with_attributes(
                    key_prefix=key_prefix, group_name=group_name, renamed=renamed
                )
            item = _with_policies(item, automation_condition, backfill_policy)
        else:
            item = _spec_with(item, renamed, group_name, automation_condition)
        out.append(item)
    return out


def _with_policies(
    assets_def: AssetsDefinition,
    automation_condition: AutomationCondition | None,
    backfill_policy: BackfillPolicy | None,
) -> AssetsDefinition:
    changes: dict[str, Any] = {}
    if automation_condition is not None:
        changes["specs_by_output"] = {
            name: spec.replace(automation_condition=automation_condition)
            for name, spec in assets_def.specs_by_output.items()
        }
    if backfill_policy is not None and assets_def.is_executable:
        changes["backfill_policy"] = backfill_policy
    return dataclasses.replace(assets_def, **changes) if changes else assets_def


def _spec_with(
    spec: AssetSpec,
    renamed: dict[AssetKey, AssetKey],
    group_name: str | None,
    automation_condition: AutomationCondition | None,
) -> AssetSpec:
    changes: dict[str, Any] = {}
    if spec.key in renamed:
        changes["key"] = renamed[spec.key]
    if any(d.asset_key in renamed for d in spec.deps):
        changes["deps"] = tuple(
            AssetDep(renamed.get(d.asset_key, d.asset_key), partition_mapping=d.partition_mapping)
            for d in spec.deps
        )
    if group_name:
        if spec.group_name not in (None, group_name):
            raise DefinitionError(
                f"cannot set group {group_name!r} on {spec.key.to_user_string()!r}: it already "
                f"declares group {spec.group_name!r}. Drop one of the two group names."
            )
        changes["group_name"] = group_name
    if automation_condition is not None:
        changes["automation_condition"] = automation_condition
    return spec.replace(**changes) if changes else spec


# ---- asset checks --------------------------------------------------------------------------


def load_asset_checks_from_modules(
    modules: Iterable[ModuleType], asset_key_prefix: Prefix | None = None
) -> list[AssetChecksDefinition]:
    """Every ``@asset_check`` defined at the top level of ``modules``; ``asset_key_prefix``
    prefixes the keys of the assets they check (as ``key_prefix`` did to those assets)."""
    found: list[AssetChecksDefinition] = _found(modules, (AssetChecksDefinition,))
    if not asset_key_prefix:
        return found
    return [check.with_asset_key_prefix(asset_key_prefix) for check in found]


def load_asset_checks_from_current_module(
    asset_key_prefix: Prefix | None = None,
) -> list[AssetChecksDefinition]:
    """``load_asset_checks_from_modules`` on the module that calls it."""
    return load_asset_checks_from_modules([_caller_module()], asset_key_prefix)


def load_asset_checks_from_package_module(
    package_module: ModuleType, asset_key_prefix: Prefix | None = None
) -> list[AssetChecksDefinition]:
    """``load_asset_checks_from_modules`` on a package and every module under it."""
    return load_asset_checks_from_modules(list(_package_modules(package_module)), asset_key_prefix)


def load_asset_checks_from_package_name(
    package_name: str, asset_key_prefix: Prefix | None = None
) -> list[AssetChecksDefinition]:
    """``load_asset_checks_from_package_module`` on the package named ``package_name``."""
    return load_asset_checks_from_package_module(_package_named(package_name), asset_key_prefix)
