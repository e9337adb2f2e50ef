"""The composition scope: calling ops inside a ``@graph`` or ``@job`` body records wiring.

Outside a composition, calling an op or asset runs its function directly (direct invocation).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.op import NodeDefinition


@dataclass(frozen=True)
class InvokedOutput:
    """A handle to one output of a node invoked inside a composition function."""

    node_name: str
    output_name: str

    def __iter__(self) -> Iterator[Any]:
        raise DefinitionError(
            f"the output {self.output_name!r} of {self.node_name!r} was unpacked inside a graph, "
            "but it is a single output. Give the op several outputs with "
            "out={'a': Out(), 'b': Out()} to unpack them."
        )

    def __bool__(self) -> bool:
        raise DefinitionError(
            f"the output {self.output_name!r} of {self.node_name!r} was used as a boolean inside "
            "a graph body. A graph body only wires ops together; it runs once when the graph is "
            "defined, not when it executes. Move the logic into an op."
        )


def _mapped(returned: Any) -> Any:
    """What a ``.map(fn)`` body returned, as outputs that exist once per mapping key."""
    if isinstance(returned, InvokedOutput):
        return MappedOutput(returned.node_name, returned.output_name)
    if isinstance(returned, tuple):
        return tuple(_mapped(r) for r in returned)
    if isinstance(returned, dict):
        return {k: _mapped(v) for k, v in returned.items()}
    return returned


def _map_inside(owner: str, fn: Any, value: InvokedOutput) -> Any:
    if current_composition() is None:
        raise DefinitionError(
            f"{owner}.map(fn) was called outside a @graph or @job body; map dynamic outputs "
            "while composing a graph."
        )
    return _mapped(fn(value))


@dataclass(frozen=True)
class DynamicHandle(InvokedOutput):
    """A dynamic output (``DynamicOut``) of a node invoked inside a composition function."""

    def map(self, fn: Any) -> Any:
        """Wire ``fn``'s ops to run once per mapping key, each with that key's value."""
        owner = f"dynamic output {self.output_name!r} of {self.node_name!r}"
        return _map_inside(owner, fn, MappedInput(self.node_name, self.output_name))

    def collect(self) -> CollectedOutput:
        """All the values of this dynamic output, as one list in the order they were yielded."""
        return CollectedOutput(self.node_name, self.output_name, of_dynamic=True)


@dataclass(frozen=True)
class MappedInput(InvokedOutput):
    """Inside ``.map(fn)``: the value of a dynamic output for one mapping key."""


@dataclass(frozen=True)
class MappedOutput(InvokedOutput):
    """An output of a node invoked inside ``.map(fn)``: one value per mapping key."""

    def map(self, fn: Any) -> Any:
        """Wire ``fn``'s ops to run once per mapping key, after this node for the same key."""
        return _map_inside(f"mapped output {self.output_name!r} of {self.node_name!r}", fn, self)

    def collect(self) -> CollectedOutput:
        """The values of every mapping key, as one list in the order the keys were yielded."""
        return CollectedOutput(self.node_name, self.output_name, of_dynamic=False)


@dataclass(frozen=True)
class CollectedOutput(InvokedOutput):
    """``.collect()`` of a dynamic or mapped output: a list with one value per mapping key."""

    of_dynamic: bool = False


@dataclass(frozen=True)
class GraphInputRef:
    """A handle to an input of the graph being composed."""

    graph_name: str
    input_name: str


@dataclass
class Invocation:
    node: NodeDefinition
    name: str  # the name within the graph (an alias or the node's own name)
    inputs: dict[str, InvokedOutput | GraphInputRef | list[InvokedOutput | GraphInputRef]]
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Composition:
    graph_name: str
    invocations: dict[str, Invocation] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def unique_name(self, base: str) -> str:
        count = self._counts.get(base, 0)
        self._counts[base] = count + 1
        return base if count == 0 else f"{base}_{count + 1}"


_STACK: list[Composition] = []


def current_composition() -> Composition | None:
    return _STACK[-1] if _STACK else None


@contextmanager
def composing(graph_name: str) -> Iterator[Composition]:
    composition = Composition(graph_name)
    _STACK.append(composition)
    try:
        yield composition
    finally:
        _STACK.pop()
