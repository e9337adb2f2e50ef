"""The one DAG every benchmark workload uses, so knoll and Dagster get the same graph and functions.

Assets are arranged in layers of at most 100 (``width``); every asset below the first layer
depends on one to three assets of the layer above, chosen with a fixed seed. Each asset is a
plain Python function whose parameter names are its upstream assets, which is the form both
systems take in ``@asset`` without extra arguments.

The functions are compiled from generated source (one ``exec`` for the whole graph), outside any
timed region: workloads time what the orchestrator does with them, never their creation.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEED = 20240601
MAX_WIDTH = 100
# Keeps every value a small int however deep the graph: trivial work, no big-int arithmetic.
_MODULUS = 1_000_003


@dataclass(frozen=True)
class Node:
    """One asset of the DAG: its name and the names of its parents (previous layer)."""

    name: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Dag:
    """A layered DAG in topological order, with one plain function per node."""

    nodes: tuple[Node, ...]
    functions: Mapping[str, Callable[..., int]]

    @property
    def size(self) -> int:
        return len(self.nodes)

    @property
    def edges(self) -> int:
        return sum(len(node.parents) for node in self.nodes)


def width_for(size: int) -> int:
    """Layer width: 100 for large graphs, narrower for small ones so they still have depth."""
    return max(1, min(MAX_WIDTH, size // 10))


def layout(size: int, seed: int = SEED) -> tuple[Node, ...]:
    """The nodes of a ``size``-asset DAG, in topological order (layer by layer)."""
    if size < 1:
        raise ValueError(f"a benchmark DAG needs at least one asset, got size={size}")
    rng = random.Random(seed)
    width = width_for(size)
    nodes: list[Node] = []
    previous: list[str] = []
    layer = 0
    while len(nodes) < size:
        count = min(width, size - len(nodes))
        current = [f"a{layer}_{index}" for index in range(count)]
        for name in current:
            if previous:
                fan_in = min(len(previous), rng.randint(1, 3))
                parents = tuple(sorted(rng.sample(previous, fan_in)))
            else:
                parents = ()
            nodes.append(Node(name, parents))
        previous = current
        layer += 1
    return tuple(nodes)


def source_for(nodes: Sequence[Node]) -> str:
    """Python source defining one trivial, type-annotated function per node."""
    lines: list[str] = []
    for node in nodes:
        params = ", ".join(f"{p}: int" for p in node.parents)
        total = " + ".join((*node.parents, "1"))
        lines.append(f"def {node.name}({params}) -> int:")
        lines.append(f"    return ({total}) % {_MODULUS}")
    return "\n".join(lines) + "\n"


def build(size: int, seed: int = SEED) -> Dag:
    """The DAG of ``size`` assets with its functions compiled and ready to decorate or call."""
    nodes = layout(size, seed)
    namespace: dict[str, Any] = {"__name__": f"bench_dag_{size}"}
    # dont_inherit: annotations are evaluated as in a plain module, not as this one's strings.
    code = compile(source_for(nodes), f"<bench dag {size}>", "exec", dont_inherit=True)
    exec(code, namespace)
    functions = {node.name: namespace[node.name] for node in nodes}
    return Dag(nodes=nodes, functions=functions)


def run_plain(dag: Dag) -> dict[str, int]:
    """Every function called once in topological order: the floor no orchestrator can beat."""
    values: dict[str, int] = {}
    functions = dag.functions
    for node in dag.nodes:
        values[node.name] = functions[node.name](*[values[p] for p in node.parents])
    return values
