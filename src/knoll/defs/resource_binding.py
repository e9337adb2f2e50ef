"""``with_resources``: bind resources to assets, so that the assets carry what they need.

Bound resources travel with the asset definitions: ``Definitions`` and ``materialize`` merge
them with the resources they are given. A key bound to two different objects is an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from knoll.defs.asset import AssetsDefinition
from knoll.errors import DefinitionError

T = TypeVar("T")


def with_resources(
    definitions: Iterable[T],
    resource_defs: Mapping[str, object],
    resource_config_by_key: Mapping[str, Any] | None = None,
) -> Sequence[T]:
    """Copies of ``definitions`` with ``resource_defs`` bound to every asset among them.

    ``resource_config_by_key`` configures function-style resources by key, as
    ``{"key": {"config": {...}}}``. Other definitions (specs, checks) pass through unchanged.
    """
    resources = dict(resource_defs)
    for key, entry in (resource_config_by_key or {}).items():
        resources[key] = _configure(key, resources, entry)
    bound: list[T] = []
    for item in definitions:
        if isinstance(item, AssetsDefinition) and item.op is not None:
            owner = f"with_resources for {item.describe()}"
            merged = merge_bound_resources([item.resource_defs, resources], owner)
            relevant = _relevant(item, merged, owner)
            bound.append(dataclasses.replace(item, resource_defs=relevant))
        else:
            bound.append(item)
    return bound


def _relevant(
    item: AssetsDefinition, merged: Mapping[str, object], owner: str
) -> dict[str, object]:
    """The resources ``item`` uses, directly or through other resources; a missing one (other
    than the default IO manager, which knoll provides) is an error, as in Dagster."""
    assert item.op is not None
    op = item.op
    wanted = set(op.required_resource_keys)
    wanted.update(o.io_manager_key for o in op.output_defs.values())
    for hook in op.hook_defs:
        wanted.update(hook.required_resource_keys)
    seen: set[str] = set()
    while wanted:
        key = wanted.pop()
        if key in seen:
            continue
        seen.add(key)
        if key not in merged:
            if key == "io_manager":
                continue
            raise DefinitionError(
                f"{owner}: it requires resource {key!r}, which is not among the resources "
                f"given ({', '.join(sorted(merged)) or 'none'}). Add it: "
                f"with_resources([...], {{{key!r}: ...}})."
            )
        wanted.update(getattr(merged[key], "required_resource_keys", None) or ())
    return {key: value for key, value in merged.items() if key in seen}


def _configure(key: str, resources: Mapping[str, object], entry: object) -> object:
    where = f"with_resources(resource_config_by_key={{{key!r}: ...}})"
    if key not in resources:
        raise DefinitionError(
            f"{where}: no resource {key!r} is given in resource_defs. Add it there, or remove "
            "its config."
        )
    if not isinstance(entry, Mapping) or set(entry) - {"config"}:
        raise DefinitionError(
            f"{where}: the entry must be {{'config': ...}}, got {entry!r}. Write "
            f"resource_config_by_key={{{key!r}: {{'config': {entry!r}}}}}."
        )
    # imported here: Definitions imports this module, and declaring assets stays light
    from knoll.defs.resource_definition import ResourceDefinition

    value = resources[key]
    if not isinstance(value, ResourceDefinition):
        raise DefinitionError(
            f"{where}: resource {key!r} is a {type(value).__name__}, not a function-style "
            "resource definition; set its fields directly instead, for example "
            f"{type(value).__name__}(field=...)."
        )
    return value.configured(entry.get("config"))


def merge_bound_resources(sources: Iterable[Mapping[str, object]], owner: str) -> dict[str, object]:
    """One mapping from several; the same key bound to two different objects is an error."""
    merged: dict[str, object] = {}
    for source in sources:
        for key, value in source.items():
            if key in merged and merged[key] is not value:
                raise DefinitionError(
                    f"{owner}: resource {key!r} is bound to two different objects "
                    f"({merged[key]!r} and {value!r}). Bind one object under that key, or use "
                    "another key for the second."
                )
            merged[key] = value
    return merged


def resources_bound_to(assets: Iterable[object]) -> dict[str, object]:
    """The resources that ``with_resources`` bound to any of ``assets``."""
    found = [a for a in assets if isinstance(a, AssetsDefinition) and a.resource_defs]
    return merge_bound_resources(
        (a.resource_defs for a in found), "the assets given (bound with with_resources)"
    )
