"""Where this process's definitions came from, for worker processes that do not fork from it.

The code location loader records its target here when it loads a location; the multiprocess
executor's forkserver and spawned workers (``knoll.execution.spawned``) load the same
definitions from it. A ``CodeOrigin`` crosses processes as versioned JSON: the loader is named
by a ``module:function`` reference, never pickled. Kept apart and small: the loader imports it
on every load.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knoll._serdes import RAW, serializable

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions

__all__ = ["CodeOrigin", "code_origin", "loaded_definitions", "resolve", "set_code_origin"]


@serializable()
@dataclass(frozen=True)
class CodeOrigin:
    """How another process loads the definitions this one loaded: ``loader`` (a
    ``module:function`` reference) called with ``target`` (JSON) returns the ``Definitions``.
    ``warm_modules`` are imported by a forkserver before it forks workers, so that none of them
    imports them again."""

    loader: str
    target: Mapping[str, Any] = field(metadata=RAW)
    description: str = ""
    warm_modules: tuple[str, ...] = ()

    def describe(self) -> str:
        return self.description or f"code location {dict(self.target)!r}"

    def load(self) -> Definitions:
        defs: Definitions = resolve(self.loader)(self.target)
        return defs


def resolve(reference: str) -> Any:
    """The object a ``module:attribute.path`` reference names (imported when needed)."""
    module_name, _, path = reference.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in path.split(".") if path else ():
        value = getattr(value, part)
    return value


_origin: CodeOrigin | None = None
# The definitions of a code location loaded in this process (by the loader, or by a
# forkserver's preload), so that workers forked from it do not load them again.
_loaded: tuple[CodeOrigin, Definitions] | None = None


def set_code_origin(origin: CodeOrigin | None, defs: Definitions | None = None) -> None:
    """Record that this process's definitions (``defs``) were loaded from ``origin``."""
    global _origin, _loaded
    _origin = origin
    _loaded = (origin, defs) if origin is not None and defs is not None else None


def code_origin() -> CodeOrigin | None:
    """The code location this process loaded its definitions from, if any."""
    return _origin


def loaded_definitions(origin: CodeOrigin) -> Definitions | None:
    """The definitions of ``origin`` if this process (or the forkserver it was forked from)
    has loaded them already."""
    if _loaded is not None and _loaded[0].target == origin.target:
        return _loaded[1]
    return None
