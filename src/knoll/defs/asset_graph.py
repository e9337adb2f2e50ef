"""The graph of assets: who depends on whom, built once in time linear in assets plus edges."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from knoll._utils import did_you_mean
from knoll.defs.asset import AssetsDefinition, external_assets_definition
from knoll.defs.asset_spec import AssetSpec
from knoll.defs.check import AssetChecksDefinition, AssetCheckSpec
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.errors import CycleError, DefinitionError, DuplicateKeyError

if TYPE_CHECKING:
    from knoll.defs.partitions import PartitionsDefinition


@dataclass
class AssetNode:
    """One asset in the graph, with its spec, definition, parents and children."""

    key: AssetKey
    spec: AssetSpec
    assets_def: AssetsDefinition
    parents: list[AssetKey] = field(default_factory=list)
    children: list[AssetKey] = field(default_factory=list)

    @property
    def is_executable(self) -> bool:
        return self.assets_def.is_executable

    @property
    def group_name(self) -> str:
        return self.spec.effective_group

    @property
    def is_virtual(self) -> bool:
        """Whether the asset is a view (``is_virtual=True``), which staleness and automation
        look through to the assets upstream of it."""
        return self.spec.is_virtual


class AssetGraph:
    """Assets and checks indexed by key, with parent/child edges and a topological order."""

    def __init__(
        self,
        assets: Sequence[AssetsDefinition | AssetSpec],
        checks: Sequence[AssetChecksDefinition] = (),
    ) -> None:
        nodes, defs = _index_assets(assets)
        self._nodes = nodes
        self.implicit_external_keys: frozenset[AssetKey] = _add_undeclared(
            nodes, defs, _check_targets(checks)
        )
        self.assets_defs: tuple[AssetsDefinition, ...] = tuple(defs)
        child_positions, in_degree = self._link_edges()
        self._checks_by_key: dict[AssetCheckKey, AssetChecksDefinition | AssetCheckSpec] = {}
        self._checks_by_asset: dict[AssetKey, list[AssetCheckKey]] = {}
        self.check_defs: tuple[AssetChecksDefinition, ...] = tuple(dict.fromkeys(checks))
        for assets_def in defs:
            for check_spec in assets_def.check_specs:
                _same_partitions(check_spec, assets_def.partitions_def)
                self._add_check(check_spec.key, check_spec)
        for check in self.check_defs:
            self._add_check_def(check)
        self._toposorted: tuple[AssetKey, ...] = self._toposort(child_positions, in_degree)

    def _add_check_def(self, check: AssetChecksDefinition) -> None:
        nodes = self._nodes
        if not isinstance(check, AssetChecksDefinition):
            raise DefinitionError(
                f"Definitions(asset_checks=...) got a {type(check).__name__}: give checks "
                "made with @asset_check."
            )
        for spec in check.specs:  # an unknown checked asset is external (see _add_undeclared)
            _same_partitions(spec, nodes[spec.asset_key].assets_def.partitions_def)
        for dep in (*check.input_keys.values(), *check.dep_keys):
            if dep not in nodes:
                raise DefinitionError(
                    f"{check.describe()} depends on "
                    f"{dep.to_user_string()!r}, which is not among the assets."
                    f"{self._suggest(dep)} Add it to Definitions(assets=...), as an "
                    f"AssetSpec({dep.to_user_string()!r}) if knoll does not compute it."
                )
        for spec in check.specs:
            self._add_check(spec.key, check)

    def _add_check(self, key: AssetCheckKey, check: AssetChecksDefinition | AssetCheckSpec) -> None:
        if key in self._checks_by_key:
            raise DuplicateKeyError(
                f"asset check {key.to_user_string()!r} is defined twice; rename one of them."
            )
        self._checks_by_key[key] = check
        self._checks_by_asset.setdefault(key.asset_key, []).append(key)

    def _suggest(self, key: AssetKey) -> str:
        return did_you_mean(key.to_user_string(), (k.to_user_string() for k in self._nodes))

    def _link_edges(self) -> tuple[list[list[int]], list[int]]:
        """Fill in parents and children; return the same edges on node positions, for sorting.

        Positions (the order nodes were given in) let the sort run on lists of ints instead of
        hashing keys again for every edge.
        """
        nodes = self._nodes
        node_list = list(nodes.values())
        position = {key: index for index, key in enumerate(nodes)}
        child_positions: list[list[int]] = [[] for _ in node_list]
        in_degree = [0] * len(node_list)
        for index, node in enumerate(node_list):
            parents = node.parents
            for dep in node.spec.deps:
                dep_key = dep.asset_key
                parent_index = position[dep_key]  # every dependency has a node (see above)
                parents.append(dep_key)
                node_list[parent_index].children.append(node.key)
                child_positions[parent_index].append(index)
            in_degree[index] = len(parents)
        return child_positions, in_degree

    def _toposort(
        self, child_positions: list[list[int]], in_degree: list[int]
    ) -> tuple[AssetKey, ...]:
        """Kahn's algorithm: roots in key order, then each node once all its parents are out."""
        node_list = list(self._nodes.values())
        roots = [index for index, degree in enumerate(in_degree) if degree == 0]
        roots.sort(key=lambda index: node_list[index].key.path)
        queue = deque(roots)
        order: list[AssetKey] = []
        while queue:
            index = queue.popleft()
            order.append(node_list[index].key)
            for child in child_positions[index]:
                in_degree[child] -= 1
                if in_degree[child] == 0:
                    queue.append(child)
        if len(order) != len(node_list):
            remaining = {node_list[i].key for i, degree in enumerate(in_degree) if degree > 0}
            cycle = self._find_cycle(remaining)
            shown = " -> ".join(k.to_user_string() for k in cycle)
            raise CycleError(
                f"assets depend on each other in a cycle: {shown}. Remove one of these "
                "dependencies (an input or a deps= entry)."
            )
        return tuple(order)

    def _find_cycle(self, remaining: set[AssetKey]) -> list[AssetKey]:
        start = min(remaining)
        path: list[AssetKey] = []
        index: dict[AssetKey, int] = {}
        key = start
        while key not in index:
            index[key] = len(path)
            path.append(key)
            key = next(p for p in self._nodes[key].parents if p in remaining)
        cycle = path[index[key] :]
        cycle.reverse()  # show upstream -> downstream
        first = cycle.index(min(cycle))  # start at the smallest key: the same text every time
        cycle = cycle[first:] + cycle[:first]
        return [*cycle, cycle[0]]

    # ---- queries -----------------------------------------------------------------------
    def near_misses(self) -> dict[AssetKey, AssetKey]:
        """Each implicit external key that is one edit away from a defined key, with that key.

        Depending on an asset no definition provides is allowed (it is an external asset, as in
        Dagster), but ``deps=["order"]`` beside an asset ``orders`` is most likely a typo: runs
        and ``knoll definitions validate`` warn of these.
        """
        defined = [k for k in self._nodes if k not in self.implicit_external_keys]
        out: dict[AssetKey, AssetKey] = {}
        for key in sorted(self.implicit_external_keys):
            shown = key.to_user_string()
            close = [k for k in defined if _one_edit_apart(shown, k.to_user_string())]
            if close:
                out[key] = min(close)
        return out

    @property
    def keys(self) -> frozenset[AssetKey]:
        return frozenset(self._nodes)

    @property
    def executable_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for k, n in self._nodes.items() if n.is_executable)

    @property
    def toposorted_keys(self) -> tuple[AssetKey, ...]:
        return self._toposorted

    @property
    def check_keys(self) -> frozenset[AssetCheckKey]:
        return frozenset(self._checks_by_key)

    def has(self, key: AssetKey) -> bool:
        return key in self._nodes

    def node(self, key: AssetKey) -> AssetNode:
        try:
            return self._nodes[key]
        except KeyError:
            raise DefinitionError(
                f"no asset {key.to_user_string()!r} in these definitions.{self._suggest(key)}"
            ) from None

    def nodes(self) -> Iterable[AssetNode]:
        return self._nodes.values()

    def parents(self, key: AssetKey) -> Sequence[AssetKey]:
        return self.node(key).parents

    def children(self, key: AssetKey) -> Sequence[AssetKey]:
        return self.node(key).children

    def get_non_virtual_ancestor_keys(self, key: AssetKey) -> frozenset[AssetKey]:
        """The parents of ``key``, with each virtual parent replaced by its own parents, again
        and again, until none is virtual: the assets whose data ``key`` reads through views."""
        nodes = self._nodes
        frontier = list(self.node(key).parents)
        seen = set(frontier)
        found: set[AssetKey] = set()
        while frontier:
            current = frontier.pop()
            node = nodes[current]
            if not node.spec.is_virtual:
                found.add(current)
                continue
            for parent in node.parents:
                if parent not in seen:
                    seen.add(parent)
                    frontier.append(parent)
        return frozenset(found)

    def assets_def_for(self, key: AssetKey) -> AssetsDefinition:
        return self.node(key).assets_def

    def checks_for(self, key: AssetKey) -> Sequence[AssetCheckKey]:
        return self._checks_by_asset.get(key, ())

    def check(self, key: AssetCheckKey) -> AssetChecksDefinition | AssetCheckSpec:
        try:
            return self._checks_by_key[key]
        except KeyError:
            raise DefinitionError(f"no asset check {key.to_user_string()!r}.") from None

    def groups(self) -> Mapping[str, frozenset[AssetKey]]:
        out: dict[str, set[AssetKey]] = {}
        for key, node in self._nodes.items():
            out.setdefault(node.group_name, set()).add(key)
        return {g: frozenset(ks) for g, ks in out.items()}

    def upstream(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        """``keys`` and everything upstream of them (up to ``depth`` levels)."""
        return self._walk(keys, depth, upstream=True)

    def downstream(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        """``keys`` and everything downstream of them (up to ``depth`` levels)."""
        return self._walk(keys, depth, upstream=False)

    def _walk(
        self, keys: Iterable[AssetKey], depth: int | None, *, upstream: bool
    ) -> set[AssetKey]:
        seen = set(keys)
        frontier = list(seen)
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            nxt: list[AssetKey] = []
            for key in frontier:
                node = self._nodes[key]
                for other in node.parents if upstream else node.children:
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            frontier = nxt
        return seen

    def roots(self, keys: Iterable[AssetKey]) -> set[AssetKey]:
        """Those of ``keys`` with no parent among ``keys``."""
        key_set = set(keys)
        return {k for k in key_set if not any(p in key_set for p in self._nodes[k].parents)}

    def sinks(self, keys: Iterable[AssetKey]) -> set[AssetKey]:
        key_set = set(keys)
        return {k for k in key_set if not any(c in key_set for c in self._nodes[k].children)}


def _index_assets(
    assets: Sequence[AssetsDefinition | AssetSpec],
) -> tuple[dict[AssetKey, AssetNode], list[AssetsDefinition]]:
    """One node per asset key, and the definitions (each object once, specs made external)."""
    nodes: dict[AssetKey, AssetNode] = {}
    defs: list[AssetsDefinition] = []
    given: set[int] = set()
    for item in assets:
        if id(item) in given:
            continue  # the same object listed twice (e.g. by merged Definitions) is one asset
        given.add(id(item))
        if isinstance(item, AssetSpec):
            item = external_assets_definition(item)
        elif not isinstance(item, AssetsDefinition):
            raise DefinitionError(
                f"Definitions(assets=...) got a {type(item).__name__} ({item!r}): give "
                "assets made with @asset or @multi_asset, or AssetSpec for external assets."
            )
        defs.append(item)
        for spec in item.specs_by_output.values():
            key = spec.key
            existing = nodes.get(key)
            if existing is not None:
                raise DuplicateKeyError(
                    f"asset key {key.to_user_string()!r} is defined twice: by "
                    f"{_located(existing.assets_def)} and by {_located(item)}. Rename one "
                    "of them (name=, key= or key_prefix=)."
                )
            nodes[key] = AssetNode(key, spec, item)
    return nodes, defs


def _check_targets(checks: Sequence[object]) -> list[AssetKey]:
    """The assets that ``@asset_check`` definitions check (other items are reported later)."""
    return [
        spec.asset_key
        for check in checks
        if isinstance(check, AssetChecksDefinition)
        for spec in check.specs
    ]


def _add_undeclared(
    nodes: dict[AssetKey, AssetNode], defs: list[AssetsDefinition], checked: Sequence[AssetKey]
) -> frozenset[AssetKey]:
    """Add an external asset for each dependency that no definition provides; return their keys.

    Dagster treats ``deps=["raw_events"]`` (or an input named like no asset) as a dependency
    on an asset outside these definitions, as if ``AssetSpec("raw_events")`` had been given;
    so is the asset of an ``@asset_check(asset="raw_events")``.
    """
    added: dict[AssetKey, AssetNode] = {}
    wanted = [dep.asset_key for node in list(nodes.values()) for dep in node.spec.deps]
    for key in [*wanted, *checked]:
        if key not in nodes and key not in added:
            assets_def = external_assets_definition(AssetSpec(key))
            defs.append(assets_def)
            added[key] = AssetNode(key, assets_def.specs_by_output[_only(assets_def)], assets_def)
    nodes.update(added)
    return frozenset(added)


def _only(assets_def: AssetsDefinition) -> str:
    return next(iter(assets_def.specs_by_output))


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether one insertion, deletion or substitution turns ``a`` into ``b`` (not equal).

    Keys shorter than three characters are never near misses: ``a`` and ``b`` are one edit
    apart, but nobody mistypes one for the other.
    """
    if a == b or abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 3:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def _located(assets_def: AssetsDefinition) -> str:
    """``asset 'x' at path.py:12``, or ``external asset 'x'`` for an AssetSpec (no source)."""
    if assets_def.op is None:
        return f"external {assets_def.describe()} (an AssetSpec)"
    return f"{assets_def.describe()} at {assets_def.source}"


def _same_partitions(spec: AssetCheckSpec, asset_partitions: PartitionsDefinition | None) -> None:
    """A partitioned check must be partitioned like the asset it checks (as in Dagster)."""
    if spec.partitions_def is None or spec.partitions_def == asset_partitions:
        return
    shown = "no partitions" if asset_partitions is None else asset_partitions.describe()
    raise DefinitionError(
        f"asset check {spec.key.to_user_string()!r} is partitioned by "
        f"{spec.partitions_def.describe()}, but {spec.asset_key.to_user_string()!r} has "
        f"{shown}. Give the check the asset's partitions_def, or none."
    )
