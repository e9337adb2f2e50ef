"""Where this process's definitions came from, for worker processes that do not fork from it.

The code location loader records its target here when it loads a location; the multiprocess
executor's forkserver and spawned workers (``knoll.execution.spawned``) load the same
definitions from it. Kept apart and small: the loader imports it on every load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knoll.definitions.definitions import Definitions

__all__ = ["CodeOrigin", "code_origin", "loaded_definitions", "set_code_origin"]


@dataclass(frozen=True)
class CodeOrigin:
    """Where this process's definitions came from, in a form another process can load.

    ``load(target)`` returns the ``Definitions``; ``load`` is a module-level function (pickled by
    reference) and ``target`` a picklable record with a ``describe()`` method (the code location
    loader's ``CodeLocationTarget``). ``warm_modules`` are imported by a forkserver before it
    forks workers, so that none of them imports them again.
    """

    load: Callable[[Any], Definitions]
    target: Any
    warm_modules: tuple[str, ...] = ()

    def describe(self) -> str:
        describe = getattr(self.target, "describe", None)
        return str(describe()) if callable(describe) else repr(self.target)


_origin: CodeOrigin | None = None
# The definitions of a code location loaded in this process (by the loader, or by a
# forkserver's preload), so that workers forked from it do not load them again.
_loaded: tuple[Any, Definitions] | None = None


def set_code_origin(origin: CodeOrigin | None, defs: Definitions | None = None) -> None:
    """Record that this process's definitions (``defs``) were loaded from ``origin``."""
    global _origin, _loaded
    _origin = origin
    _loaded = (origin.target, defs) if origin is not None and defs is not None else None


def code_origin() -> CodeOrigin | None:
    """The code location this process loaded its definitions from, if any."""
    return _origin


def loaded_definitions(origin: CodeOrigin) -> Definitions | None:
    """The definitions of ``origin`` if this process (or the forkserver it was forked from)
    has loaded them already."""
    if _loaded is not None and _loaded[0] == origin.target:
        return _loaded[1]
    return None
