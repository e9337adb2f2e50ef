"""``map_asset_specs``: change the specs of many assets at once, external or not."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, overload

from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_spec import AssetSpec
from knoll.errors import DefinitionError

Func = Callable[[AssetSpec], AssetSpec]


@overload
def map_asset_specs(func: Func, iterable: Iterable[AssetSpec]) -> list[AssetSpec]: ...
@overload
def map_asset_specs(func: Func, iterable: Iterable[AssetsDefinition]) -> list[AssetsDefinition]: ...
@overload
def map_asset_specs(
    func: Func, iterable: Iterable[AssetSpec | AssetsDefinition]
) -> list[AssetSpec | AssetsDefinition]: ...


def map_asset_specs(func: Func, iterable: Iterable[Any]) -> list[Any]:
    """``func`` applied to every AssetSpec in ``iterable``, and to every spec of each
    AssetsDefinition in it (which must keep its keys and parameter dependencies)."""
    out: list[Any] = []
    for item in iterable:
        if isinstance(item, AssetsDefinition):
            out.append(item.map_asset_specs(func))
        elif isinstance(item, AssetSpec):
            mapped = func(item)
            if not isinstance(mapped, AssetSpec):
                raise DefinitionError(
                    f"map_asset_specs on asset {item.key.to_user_string()!r}: the function "
                    f"returned {type(mapped).__name__} {mapped!r}; return an AssetSpec, for "
                    "example spec.replace_attributes(...)."
                )
            out.append(mapped)
        else:
            raise DefinitionError(
                f"map_asset_specs: got {type(item).__name__} {item!r}; pass AssetSpecs and "
                "assets (AssetsDefinitions), such as the ones Definitions(assets=...) takes."
            )
    return out
