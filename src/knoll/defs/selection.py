"""Asset selections: which assets a job, a schedule or a command acts on.

Built with ``AssetSelection.keys("a") | AssetSelection.groups("g").downstream()``, or written
as strings: ``"orders"``, ``"raw/orders"``, ``"+orders"`` (one level of parents), ``"*orders"``
(every ancestor), ``"orders+"`` / ``"orders*"`` (children / descendants), ``"group:sales"``,
``"tag:team=core"``, ``"kind:duckdb"``, ``"owner:team:data"``, ``"*"`` (everything), several
separated by commas (union).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from knoll._utils import did_you_mean, suggest
from knoll.defs.asset_graph import AssetGraph
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.errors import DefinitionError, SelectionError


class AssetSelection:
    """A set of assets, resolved against an asset graph when a job or command runs."""

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        raise NotImplementedError

    def resolve_checks(self, graph: AssetGraph) -> frozenset[AssetCheckKey]:
        """The checks that run with this selection: every check of a selected asset."""
        keys = self.resolve(graph)
        return frozenset(c for k in keys for c in graph.checks_for(k))

    def describe(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"AssetSelection({self.describe()})"

    # ---- builders ----------------------------------------------------------------------
    @staticmethod
    def all(include_sources: bool = False) -> AssetSelection:
        """Every asset (external assets too with ``include_sources=True``)."""
        return _All(include_sources)

    @staticmethod
    def assets(*assets: Any) -> AssetSelection:
        """The assets produced by the given definitions, or named by the given keys."""
        keys: list[AssetKey] = []
        for item in assets:
            own = getattr(item, "keys", None)
            if isinstance(own, frozenset):
                keys.extend(own)
            else:
                keys.append(AssetKey.from_coercible(item))
        return _Keys(tuple(keys))

    @staticmethod
    def keys(*keys: AssetKey | str | Sequence[str]) -> AssetSelection:
        """The assets with these keys (``"a/b"`` strings are paths)."""
        return _Keys(tuple(AssetKey.from_coercible(k) for k in keys))

    @staticmethod
    def groups(*group_names: str, include_sources: bool = False) -> AssetSelection:
        return _Groups(tuple(group_names), include_sources)

    @staticmethod
    def key_prefixes(
        *prefixes: str | Sequence[str], include_sources: bool = False
    ) -> AssetSelection:
        parts = tuple((p,) if isinstance(p, str) else tuple(p) for p in prefixes)
        return _Prefixes(parts, include_sources)

    @staticmethod
    def tag(key: str, value: str = "", include_sources: bool = False) -> AssetSelection:
        return _Attribute("tag", f"{key}={value}" if value else key, include_sources)

    @staticmethod
    def kind(kind: str, include_sources: bool = False) -> AssetSelection:
        return _Attribute("kind", kind, include_sources)

    @staticmethod
    def owner(owner: str) -> AssetSelection:
        return _Attribute("owner", owner, False)

    @staticmethod
    def tag_string(text: str, include_sources: bool = False) -> AssetSelection:
        """The assets with a tag written ``"key"`` or ``"key=value"``."""
        return _Attribute("tag", text, include_sources)

    @staticmethod
    def key_substring(substring: str, include_sources: bool = False) -> AssetSelection:
        """The assets whose key, written ``a/b/c``, contains ``substring``."""
        return _Attribute("key_substring", substring, include_sources)

    @staticmethod
    def all_asset_checks() -> AssetSelection:
        """Every asset check, and no assets."""
        return _Checks(None, ())

    @staticmethod
    def checks_for_assets(*assets: Any) -> AssetSelection:
        """The checks of the given assets (definitions or keys), without the assets."""
        return _Checks(AssetSelection.assets(*assets), ())

    @staticmethod
    def checks(*checks: Any) -> AssetSelection:
        """The given checks (``AssetCheckKey`` values or check definitions), not their assets."""
        keys: list[AssetCheckKey] = []
        for item in checks:
            if isinstance(item, AssetCheckKey):
                keys.append(item)
                continue
            own = getattr(item, "check_keys", None)
            if not isinstance(own, frozenset):
                raise DefinitionError(
                    f"AssetSelection.checks() got {type(item).__name__} {item!r}; pass "
                    "AssetCheckKey(asset_key, name) values or @asset_check definitions."
                )
            keys.extend(sorted(own, key=lambda k: k.to_user_string()))
        return _Checks(None, tuple(keys))

    @staticmethod
    def from_string(text: str) -> AssetSelection:
        """Parse the string form (see the module docstring)."""
        return parse_selection(text)

    @staticmethod
    def from_coercible(value: Any) -> AssetSelection:
        """A selection from a selection, a string, a list of strings/keys/assets."""
        if isinstance(value, AssetSelection):
            return value
        if isinstance(value, str):
            return parse_selection(value)
        if isinstance(value, AssetKey):
            return _Keys((value,))
        if isinstance(value, Iterable):
            parts: list[AssetSelection] = []
            for item in value:
                if isinstance(item, str):
                    parts.append(parse_selection(item))
                else:
                    parts.append(AssetSelection.assets(item))
            if not parts:
                return _Keys(())
            out = parts[0]
            for part in parts[1:]:
                out = out | part
            return out
        return AssetSelection.assets(value)

    # ---- combinators -------------------------------------------------------------------
    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return _Walk(self, "upstream", depth, include_self)

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return _Walk(self, "downstream", depth, include_self)

    def roots(self) -> AssetSelection:
        return _Edge(self, "roots")

    def sinks(self) -> AssetSelection:
        return _Edge(self, "sinks")

    def sources(self) -> AssetSelection:
        """The same as :meth:`roots` (Dagster's older name for it)."""
        return _Edge(self, "roots")

    def materializable(self) -> AssetSelection:
        """The selected assets that knoll can materialize (not external ones)."""
        return _Edge(self, "materializable")

    def upstream_source_assets(self) -> AssetSelection:
        """The external assets (declared with AssetSpec) that the selection depends on."""
        return _Edge(self, "upstream_source_assets")

    def required_multi_asset_neighbors(self) -> AssetSelection:
        """The selection plus the other assets of every multi-asset it cannot be split from."""
        return _Edge(self, "required_multi_asset_neighbors")

    def without_checks(self) -> AssetSelection:
        """The same assets, with none of their checks."""
        return self - AssetSelection.all_asset_checks()

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return _Binary(self, other, "|")

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return _Binary(self, other, "&")

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return _Binary(self, other, "-")


def _executable_unless(
    include_sources: bool, graph: AssetGraph, keys: Iterable[AssetKey]
) -> frozenset[AssetKey]:
    if include_sources:
        return frozenset(keys)
    return frozenset(k for k in keys if graph.node(k).is_executable)


@dataclass(frozen=True, repr=False)
class _All(AssetSelection):
    include_sources: bool

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        return _executable_unless(self.include_sources, graph, graph.keys)

    def describe(self) -> str:
        return "*"


@dataclass(frozen=True, repr=False)
class _Keys(AssetSelection):
    selected: tuple[AssetKey, ...]

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        for key in self.selected:
            if not graph.has(key):
                shown = key.to_user_string()
                raise SelectionError(
                    f"asset selection names {shown!r}, which is not an asset in these "
                    f"definitions.{_suggest_key(key, graph)}"
                )
        return frozenset(self.selected)

    def describe(self) -> str:
        return ", ".join(k.to_user_string() for k in self.selected) or "(nothing)"


def _suggest_key(key: AssetKey, graph: AssetGraph) -> str:
    suggestion = did_you_mean(key.to_user_string(), (k.to_user_string() for k in graph.keys))
    if suggestion:
        return suggestion
    # A key written without its prefix ("orders" for "raw/orders") is not close by spelling.
    return suggest(sorted(k.to_user_string() for k in graph.keys if k.name == key.name)[:3])


@dataclass(frozen=True, repr=False)
class _Groups(AssetSelection):
    names: tuple[str, ...]
    include_sources: bool

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        groups = graph.groups()
        out: set[AssetKey] = set()
        for name in self.names:
            if name not in groups:
                raise SelectionError(
                    f"asset selection names group {name!r}, which has no assets."
                    f"{did_you_mean(name, groups)} Groups: {', '.join(sorted(groups))}."
                )
            out |= groups[name]
        return _executable_unless(self.include_sources, graph, out)

    def describe(self) -> str:
        return ", ".join(f"group:{n}" for n in self.names)


@dataclass(frozen=True, repr=False)
class _Prefixes(AssetSelection):
    prefixes: tuple[tuple[str, ...], ...]
    include_sources: bool

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        keys = (k for k in graph.keys if any(k.path[: len(p)] == p for p in self.prefixes))
        return _executable_unless(self.include_sources, graph, keys)

    def describe(self) -> str:
        return ", ".join("prefix:" + "/".join(p) for p in self.prefixes)


@dataclass(frozen=True, repr=False)
class _Attribute(AssetSelection):
    attribute: str  # "tag", "kind", "owner" or "key_substring"
    value: str
    include_sources: bool

    def _matches(self) -> Callable[[Any], bool]:
        if self.attribute == "tag":
            key, sep, value = self.value.partition("=")
            return lambda spec: key in spec.tags and (not sep or spec.tags[key] == value)
        if self.attribute == "kind":
            return lambda spec: self.value in spec.kinds
        if self.attribute == "key_substring":
            return lambda spec: self.value in spec.key.to_user_string()
        return lambda spec: self.value in spec.owners

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        match = self._matches()
        keys = (n.key for n in graph.nodes() if match(n.spec))
        return _executable_unless(self.include_sources, graph, keys)

    def describe(self) -> str:
        return f"{self.attribute}:{self.value}"


@dataclass(frozen=True, repr=False)
class _Walk(AssetSelection):
    child: AssetSelection
    direction: str
    depth: int | None
    include_self: bool

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        start = self.child.resolve(graph)
        if self.direction == "upstream":
            found = graph.upstream(start, self.depth)
        else:
            found = graph.downstream(start, self.depth)
        # External assets reached by the walk are not added: a job over "*orders" must not
        # try to materialize the source tables upstream of it.
        reached = _executable_unless(False, graph, found - start)
        return reached if not self.include_self else reached | start

    def describe(self) -> str:
        marker = "*" if self.depth is None else "+" * self.depth
        inner = self.child.describe()
        return f"{marker}({inner})" if self.direction == "upstream" else f"({inner}){marker}"


@dataclass(frozen=True, repr=False)
class _Edge(AssetSelection):
    child: AssetSelection
    which: str

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        keys = self.child.resolve(graph)
        if self.which == "roots":
            return frozenset(graph.roots(keys))
        if self.which == "sinks":
            return frozenset(graph.sinks(keys))
        if self.which == "materializable":
            return _executable_unless(False, graph, keys)
        if self.which == "upstream_source_assets":
            parents = {p for k in keys for p in graph.parents(k)}
            return frozenset(p for p in parents if not graph.node(p).is_executable)
        return keys | _unsplittable_neighbors(graph, keys)

    def describe(self) -> str:
        return f"{self.which}({self.child.describe()})"


def _unsplittable_neighbors(graph: AssetGraph, keys: frozenset[AssetKey]) -> frozenset[AssetKey]:
    out: set[AssetKey] = set()
    for key in keys:
        assets_def = graph.node(key).assets_def
        if assets_def.is_executable and not assets_def.can_subset:
            out |= assets_def.all_keys
    return frozenset(out)


@dataclass(frozen=True, repr=False)
class _Checks(AssetSelection):
    """Checks without their assets: all of them, those of some assets, or named ones."""

    of_assets: AssetSelection | None
    named: tuple[AssetCheckKey, ...]

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        return frozenset()

    def resolve_checks(self, graph: AssetGraph) -> frozenset[AssetCheckKey]:
        if self.of_assets is not None:
            return frozenset(c for k in self.of_assets.resolve(graph) for c in graph.checks_for(k))
        if not self.named:
            return graph.check_keys
        for key in self.named:
            if key not in graph.check_keys:
                known = [k.to_user_string() for k in graph.check_keys]
                raise SelectionError(
                    f"asset selection names check {key.to_user_string()!r}, which is not a "
                    f"check in these definitions.{did_you_mean(key.to_user_string(), known)}"
                )
        return frozenset(self.named)

    def describe(self) -> str:
        if self.of_assets is not None:
            return f"checks_for({self.of_assets.describe()})"
        if not self.named:
            return "all_asset_checks"
        return "checks(" + ", ".join(k.to_user_string() for k in self.named) + ")"


@dataclass(frozen=True, repr=False)
class _Binary(AssetSelection):
    left: AssetSelection
    right: AssetSelection
    op: str

    def resolve(self, graph: AssetGraph) -> frozenset[AssetKey]:
        left = self.left.resolve(graph)
        right = self.right.resolve(graph)
        if self.op == "|":
            return left | right
        if self.op == "&":
            return left & right
        return left - right

    def resolve_checks(self, graph: AssetGraph) -> frozenset[AssetCheckKey]:
        left = self.left.resolve_checks(graph)
        right = self.right.resolve_checks(graph)
        if self.op == "|":
            return left | right
        if self.op == "&":
            return left & right
        return left - right

    def describe(self) -> str:
        return f"({self.left.describe()} {self.op} {self.right.describe()})"


_CLAUSE = re.compile(r"^(?P<up>\*|\++)?(?P<body>[^*+]+?)(?P<down>\*|\++)?$")
_ATTRIBUTES = ("group", "tag", "kind", "owner", "key")
_EXAMPLES = {
    "group": "sales",
    "tag": "team=core",
    "kind": "duckdb",
    "owner": "team:data",
    "key": "raw/orders",
}


def parse_selection(text: object) -> AssetSelection:
    """Parse a selection string: comma-separated clauses, each with optional ``+``/``*`` marks."""
    if not isinstance(text, str) or not text.strip():
        raise SelectionError(
            f"asset selection {text!r} is empty: name an asset ('orders'), a group "
            "('group:sales') or '*' for everything."
        )
    parts: list[AssetSelection] = []
    for clause in (c.strip() for c in text.split(",")):
        if not clause:
            continue
        parts.append(_parse_clause(clause, text))
    if not parts:
        raise SelectionError(
            f"asset selection {text!r} names nothing between its commas: write for example "
            "'orders, group:sales'."
        )
    out = parts[0]
    for part in parts[1:]:
        out = out | part
    return out


def _parse_clause(clause: str, whole: str) -> AssetSelection:
    if clause == "*":
        return AssetSelection.all()
    match = _CLAUSE.match(clause)
    if match is None:
        raise SelectionError(
            f"cannot read {clause!r} in asset selection {whole!r}: write a key ('orders', "
            "'raw/orders'), optionally with '+' or '*' before (upstream) or after (downstream), "
            "or group:NAME, tag:KEY=VALUE, kind:NAME, owner:NAME."
        )
    base = _clause_base(match.group("body").strip(), clause, whole)
    up, down = match.group("up"), match.group("down")
    if up and down:
        return base.upstream(_depth(up)) | base.downstream(_depth(down))
    if up:
        return base.upstream(_depth(up))
    if down:
        return base.downstream(_depth(down))
    return base


def _clause_base(body: str, clause: str, whole: str) -> AssetSelection:
    """What a clause selects before its '+' and '*' marks: a key or an attribute's assets."""
    attribute, sep, value = body.partition(":")
    if not sep:
        return AssetSelection.keys(_read_key(body, clause, whole))
    if attribute not in _ATTRIBUTES:
        raise SelectionError(
            f"unknown attribute {attribute!r} in asset selection {whole!r}."
            f"{did_you_mean(attribute, _ATTRIBUTES)} Use one of: {', '.join(_ATTRIBUTES)}."
        )
    value = value.strip().strip('"')
    if not value:
        raise SelectionError(
            f"{clause!r} in asset selection {whole!r} names no {attribute}: write "
            f"{attribute}:NAME, for example {attribute}:{_EXAMPLES[attribute]}."
        )
    if attribute == "group":
        return AssetSelection.groups(value)
    if attribute == "tag":
        return _Attribute("tag", value, False)
    if attribute == "kind":
        return AssetSelection.kind(value)
    if attribute == "owner":
        return AssetSelection.owner(value)
    return AssetSelection.keys(_read_key(value, clause, whole))


def _read_key(text: str, clause: str, whole: str) -> AssetKey:
    try:
        return AssetKey.from_user_string(text)
    except DefinitionError as exc:
        raise SelectionError(f"{clause!r} in asset selection {whole!r}: {exc}") from None


def _depth(marks: str) -> int | None:
    return None if marks == "*" else len(marks)
