"""The parts of an automation evaluation that outlive one node: the state kept between
evaluations (versioned JSON), what is known of each condition object, and one asset's frame.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from knoll.defs.automation import AutomationCondition
from knoll.defs.automation_eval_records import ConditionNodeEvaluation, Partition
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.errors import DefinitionError

Subset = frozenset[Partition]
STATE_VERSION = 1
EMPTY: Subset = frozenset()
STATEFUL = ("since", "newly_true")


@dataclass
class State:
    """The previous evaluation's state, and what this one writes for the next."""

    time: float | None = None
    latest: dict[str, int] = field(default_factory=dict)
    code_versions: dict[str, str] = field(default_factory=dict)
    data_versions: dict[str, str] = field(default_factory=dict)
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, text: str | None) -> State:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            raise DefinitionError(
                f"the automation state {text[:60]!r} is not JSON; it was not written by knoll."
            ) from None
        if not isinstance(data, dict) or data.get("v") != STATE_VERSION:
            version = data.get("v") if isinstance(data, dict) else None
            raise DefinitionError(
                f"the automation state was written with state version {version!r}, and this "
                f"knoll reads version {STATE_VERSION}: run the daemon with the knoll that "
                "wrote it (a newer one), or upgrade knoll."
            )
        return cls(
            data.get("time"),
            dict(data.get("latest", {})),
            dict(data.get("cv", {})),
            dict(data.get("dv", {})),
            dict(data.get("assets", {})),
        )

    def write(self) -> str:
        return json.dumps(
            {
                "v": STATE_VERSION,
                "time": self.time,
                "latest": self.latest,
                "cv": self.code_versions,
                "dv": self.data_versions,
                "assets": self.assets,
            },
            separators=(",", ":"),
            sort_keys=True,
        )


def fingerprint(condition: AutomationCondition) -> str:
    return hashlib.sha1(json.dumps(condition.tree(), sort_keys=True).encode()).hexdigest()[:16]


def sorted_partitions(subset: Iterable[Partition]) -> tuple[Partition, ...]:
    if isinstance(subset, frozenset) and len(subset) <= 1:
        return tuple(subset)
    return tuple(sorted(subset, key=lambda p: (p is not None, p or "")))


# conditions whose value depends on the asset being evaluated, not only on their target
ROOT_BOUND = (*STATEFUL, "executed_with_root_target", "initial_evaluation",
               "any_downstream_conditions")  # fmt: skip


@dataclass
class Meta:
    """A condition object's label, whether its tree keeps state between evaluations (so it is
    evaluated even with no candidates), whether its value depends only on its target (so a
    dependency's result is shared by all its children), and its skipped form."""

    condition: AutomationCondition
    label: str
    custom: bool
    keeps_state: bool
    root_free: bool
    operands: tuple[Meta, ...]
    data: bool  # whether the tree reads data versions
    asset_leaf: bool  # a named condition about its target alone
    no_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.no_paths = ("",) * len(self.operands)

    _skipped: dict[str | None, ConditionNodeEvaluation] = field(default_factory=dict)

    def paths(self, path: str) -> tuple[str, ...]:
        """The paths of the operands of the node at ``path``."""
        return tuple(f"{path}.{index}" for index in range(len(self.operands)))

    def skipped(self, target: str | None) -> ConditionNodeEvaluation:
        """The node as shown when there was nothing to decide on."""
        found = self._skipped.get(target)
        if found is None:
            children = tuple(o.skipped(target) for o in self.operands)
            found = ConditionNodeEvaluation(self.label, (), 0, children, target)
            self._skipped[target] = found
        return found


def subset_of(values: object) -> Subset:
    return frozenset(values) if isinstance(values, list) else EMPTY


Target = AssetKey | AssetCheckKey


@dataclass
class Frame:
    """One asset's evaluation: the asset, its previous state and what this one keeps."""

    root: AssetKey
    previous: Mapping[str, Any]
    initial: bool
    nodes: dict[str, list[Partition]] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)
