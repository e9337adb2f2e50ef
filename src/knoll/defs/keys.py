"""Asset keys and asset check keys."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from knoll._serdes import serializable
from knoll._utils import is_valid_key_part, suggest_name
from knoll.errors import DefinitionError

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def _invalid_part(part: object, parts: Sequence[object]) -> DefinitionError:
    shown = "/".join(map(str, parts))
    if not isinstance(part, str):
        return DefinitionError(
            f"asset key part {part!r} in {shown!r} is a {type(part).__name__}: key parts are "
            f"strings, for example {str(part)!r}."
        )
    if "/" in part:
        # "raw/orders" as one part is a path written as a string: say how to split it.
        return DefinitionError(
            f"asset key part {part!r} in {shown!r} holds '/', which separates key parts: "
            f"write AssetKey({part.split('/')!r}), or AssetKey.from_user_string({part!r})."
        )
    return DefinitionError(
        f"asset key part {part!r} in {shown!r} is not valid: a part is a non-empty string "
        f"other than '.' and '..', for example {suggest_name(part)!r}."
    )


@serializable()
@dataclass(frozen=True, slots=True)
class AssetKey:
    """Identifies an asset: a path of strings, shown ``a/b/c``.

    ``AssetKey("orders")``, ``AssetKey(["raw", "orders"])`` and ``AssetKey.from_user_string
    ("raw/orders")`` are the usual ways to build one.
    """

    path: tuple[str, ...]
    _hash: int = field(init=False, repr=False, compare=False)

    def __init__(self, path: str | Sequence[str]) -> None:
        parts = (path,) if isinstance(path, str) else tuple(path)
        if not parts:
            raise DefinitionError(
                "AssetKey needs at least one part, for example AssetKey('orders')."
            )
        for part in parts:
            if not is_valid_key_part(part):
                raise _invalid_part(part, parts)
        object.__setattr__(self, "path", parts)
        object.__setattr__(self, "_hash", hash(parts))

    def __hash__(self) -> int:
        # Keys are hashed constantly (graph building, planning): compute it once.
        return self._hash

    def __reduce__(self) -> tuple[type[AssetKey], tuple[tuple[str, ...]]]:
        # Rebuild from the path: a pickled hash would be wrong in a process with another seed.
        return (AssetKey, (self.path,))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is AssetKey:
            return self.path == other.path
        return NotImplemented

    @staticmethod
    def from_user_string(text: str) -> AssetKey:
        """Parse the ``a/b/c`` form shown in logs and the UI."""
        return AssetKey(text.split("/"))

    @staticmethod
    def from_coercible(value: object) -> AssetKey:
        if isinstance(value, AssetKey):
            return value
        if isinstance(value, str):
            return AssetKey.from_user_string(value) if "/" in value else AssetKey(value)
        if isinstance(value, Sequence):
            return AssetKey([str(v) for v in value])
        key = getattr(value, "key", None)
        if isinstance(key, AssetKey):
            return key
        raise DefinitionError(
            f"cannot make an asset key from {value!r}: give a string, a list of strings, "
            "an AssetKey or an asset."
        )

    def to_user_string(self) -> str:
        return "/".join(self.path)

    def to_python_identifier(self) -> str:
        """``a__b`` for ``a/b``, with characters a Python name cannot hold made ``_``."""
        joined = "__".join(self.path)
        return joined if joined.isidentifier() else _NOT_IDENTIFIER.sub("_", joined)

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        parts = (prefix,) if isinstance(prefix, str) else tuple(prefix)
        return AssetKey((*parts, *self.path))

    @property
    def name(self) -> str:
        """The last part of the key."""
        return self.path[-1]

    def __str__(self) -> str:
        return self.to_user_string()

    def __repr__(self) -> str:
        return f"AssetKey({list(self.path)!r})"

    def __lt__(self, other: AssetKey) -> bool:
        return self.path < other.path


CoercibleToAssetKey: TypeAlias = "AssetKey | str | Sequence[str]"

_KEYS_BY_NAME: dict[str, AssetKey] = {}


def key_for_name(name: str) -> AssetKey:
    """``AssetKey(name)``, one shared object per name.

    Declarations name the same one-part keys over and over (an asset's own key, then once for
    every asset that depends on it); keys are immutable, so one object serves them all.
    """
    key = _KEYS_BY_NAME.get(name)
    if key is None:
        key = AssetKey(name)
        if len(_KEYS_BY_NAME) < 1_000_000:
            _KEYS_BY_NAME[name] = key
    return key


@serializable()
@dataclass(frozen=True, slots=True)
class AssetCheckKey:
    """Identifies a check: the asset it checks and the check's name."""

    asset_key: AssetKey
    name: str

    def to_user_string(self) -> str:
        return f"{self.asset_key.to_user_string()}:{self.name}"

    def __str__(self) -> str:
        return self.to_user_string()
