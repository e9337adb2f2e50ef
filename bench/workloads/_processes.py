"""The fan-out graph of the ``processes`` workload, shared by the knoll and Dagster scripts.

STEPS steps in all: one source, STEPS - 2 independent assets that each depend on it, and one
sink that depends on every one of them. The functions are compiled from generated source (the
sink's parameters are named after its parents, as in ``bench.dag``), so both systems decorate
the same plain, type-annotated functions.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

SINK = "sink"


def middle_names(steps: int) -> list[str]:
    if steps < 3:
        raise SystemExit(f"a fan-out needs at least 3 steps (a source, a middle, a sink): {steps}")
    return [f"m{i}" for i in range(steps - 2)]


def functions(steps: int) -> dict[str, Callable[..., Any]]:
    """The asset functions, source first and sink last, by name."""
    middles = middle_names(steps)
    lines = ["def source() -> int:", "    return 1", ""]
    for i, name in enumerate(middles):
        lines += [f"def {name}(source: int) -> int:", f"    return source + {i}", ""]
    lines += [
        f"def {SINK}({', '.join(f'{m}: int' for m in middles)}) -> int:",
        f"    return {' + '.join(middles)}",
    ]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<fanout {steps}>", "exec"), namespace)
    names = ["source", *middles, SINK]
    found: dict[str, Callable[..., Any]] = {}
    for name in names:
        fn = namespace[name]
        assert isinstance(fn, FunctionType)
        # Both systems read the module to reload functions in other processes: point it here.
        fn.__module__ = __name__
        found[name] = fn
    return found


def expected_sink(steps: int) -> int:
    """The value the sink must hold after a correct run."""
    return sum(1 + i for i in range(steps - 2))
