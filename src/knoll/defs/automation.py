"""Declarative automation conditions: when an asset should be materialized automatically.

An :class:`AutomationCondition` is an immutable tree. Leaves are named facts about an asset
(``missing``, ``newly_updated``, ``cron_tick_passed(...)``); operators combine them (``&``,
``|``, ``~``, ``since``, ``newly_true``, ``any_deps_match``...). The named policies
(``eager``, ``on_cron``, ``on_missing``) are labelled trees built from those parts, so they can
be taken apart with ``replace`` and ``without``. Trees compare by value, are written as
versioned JSON, and read back by ``describe()``.

A custom condition subclasses :class:`AutomationCondition` and implements
``evaluate(context) -> AutomationResult``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from knoll._serdes import serializable
from knoll.defs.keys import AssetKey
from knoll.errors import CronError, DefinitionError

if TYPE_CHECKING:
    from knoll.defs.selection import AssetSelection

Subset = frozenset[str | None]
"""The partitions a condition is true for; ``None`` is the one slice of an unpartitioned asset."""

_BOOLEAN = ("and", "or", "not")
_DEPS = ("any_deps_match", "all_deps_match")
_CHECKS = ("any_checks_match", "all_checks_match")
# the conditions resolve_through_virtual() applies to (Dagster's): deps conditions, and the
# operators that pass it on to their operands
_THROUGH_VIRTUAL = (*_BOOLEAN, "since", *_DEPS)
_VIRTUAL_PARAM = "resolves_virtual_deps"


@serializable()
@dataclass(frozen=True, init=False)
class AutomationCondition:
    """When an asset should be materialized automatically.

    Built from the named conditions, combined with ``&``, ``|`` and ``~``. Subclass it and
    implement :meth:`evaluate` for a condition of your own.
    """

    name: str = ""
    operands: tuple[AutomationCondition, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    label: str | None = None

    def __init__(
        self,
        name: str = "",
        operands: tuple[AutomationCondition, ...] = (),
        params: tuple[tuple[str, str], ...] = (),
        label: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        # A custom condition may give its name as a property, as Dagster's examples do.
        if not isinstance(getattr(type(self), "name", None), property):
            if not name and type(self) is AutomationCondition:
                raise DefinitionError(
                    "AutomationCondition() needs a name: build one with a named condition such "
                    "as AutomationCondition.eager(), or subclass it and implement evaluate()."
                )
            set_(self, "name", name or type(self).__name__)
        set_(self, "operands", tuple(operands))
        set_(self, "params", tuple(params))
        set_(self, "label", label)

    def __post_init__(self) -> None:
        # Runs for a custom condition declared as a @dataclass with fields of its own.
        if not isinstance(getattr(type(self), "name", None), property) and not self.name:
            object.__setattr__(self, "name", type(self).__name__)

    # ---- operators -------------------------------------------------------------------------

    def __and__(self, other: AutomationCondition) -> AutomationCondition:
        left = self.operands if self.name == "and" and self.label is None else (self,)
        return AutomationCondition("and", (*left, _operand(other, "&")))

    def __or__(self, other: AutomationCondition) -> AutomationCondition:
        left = self.operands if self.name == "or" and self.label is None else (self,)
        return AutomationCondition("or", (*left, _operand(other, "|")))

    def __invert__(self) -> AutomationCondition:
        return AutomationCondition("not", (self,))

    def since(self, reset_condition: AutomationCondition) -> AutomationCondition:
        """True if this condition became true after ``reset_condition`` last did."""
        return AutomationCondition("since", (self, _operand(reset_condition, "since")))

    def newly_true(self) -> AutomationCondition:
        """True only on the evaluation where this condition goes from false to true."""
        return AutomationCondition("newly_true", (self,))

    def since_last_handled(self) -> AutomationCondition:
        """True if this condition became true since the asset was last requested or updated."""
        handled = (
            AutomationCondition.newly_requested()
            | AutomationCondition.newly_updated()
            | AutomationCondition.initial_evaluation()
        ).with_label("handled")
        return self.since(handled)

    def with_label(self, label: str | None) -> AutomationCondition:
        """A copy with a human-readable label, which ``describe()`` shows instead of the tree."""
        return replace(self, label=label)

    def get_label(self) -> str | None:
        return self.label

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return self.operands

    def replace(
        self, old: AutomationCondition | str, new: AutomationCondition
    ) -> AutomationCondition:
        """Replace every sub-condition equal to ``old`` (or whose label or name is ``old``)."""
        if old == self or (isinstance(old, str) and old in (self.label, self.name)):
            return new
        if not self.operands:
            return self
        return replace(self, operands=tuple(o.replace(old, new) for o in self.operands))

    def without(self, condition: AutomationCondition | str) -> AutomationCondition:
        """An AND condition without one of its operands (given as a condition or a label)."""
        if self.name != "and":
            raise DefinitionError(
                f"{self.describe()}.without(...): only an AND condition (built with &) has "
                "operands to remove."
            )
        kept = tuple(o for o in self.operands if not _matches(o, condition))
        if len(kept) == len(self.operands):
            shown = condition if isinstance(condition, str) else condition.describe()
            present = ", ".join(o.describe() for o in self.operands)
            raise DefinitionError(
                f"{self.describe()}.without({shown!r}): it is not one of the operands "
                f"({present}); pass one of them, or its label."
            )
        if len(kept) < 2:
            raise DefinitionError(
                f"{self.describe()}.without({condition!r}): an AND condition keeps at least two "
                "operands; use the remaining condition on its own instead."
            )
        return replace(self, operands=kept)

    def allow(self, selection: AssetSelection) -> AutomationCondition:
        """Only consider the dependencies in ``selection`` in every deps condition of the tree."""
        return self._filter_deps("allow", selection)

    def ignore(self, selection: AssetSelection) -> AutomationCondition:
        """Leave the dependencies in ``selection`` out of every deps condition of the tree."""
        return self._filter_deps("ignore", selection)

    def resolve_through_virtual(self, value: bool = True) -> AutomationCondition:
        """A copy whose deps conditions look through virtual dependencies (views) to the
        assets behind them (``AssetGraph.get_non_virtual_ancestor_keys``).

        Applies to ``any_deps_match`` / ``all_deps_match`` and, through AND, OR, NOT and
        ``since``, to every deps condition below them; ``value=False`` turns it off again.
        """
        if self.name not in _THROUGH_VIRTUAL:
            raise DefinitionError(
                f"{self.describe()}.resolve_through_virtual(): only any_deps_match, "
                "all_deps_match and the AND, OR, NOT and since conditions around them "
                "have dependencies to resolve; call it on one of those."
            )
        if not isinstance(value, bool):
            raise DefinitionError(
                f"{self.describe()}.resolve_through_virtual({value!r}): give True or False."
            )
        return self._through_virtual(value)

    def _through_virtual(self, value: bool) -> AutomationCondition:
        if self.name in _DEPS:  # as in Dagster, the operand of a deps condition is left alone
            params = tuple((k, v) for k, v in self.params if k != _VIRTUAL_PARAM)
            return replace(self, params=(*params, (_VIRTUAL_PARAM, "True")) if value else params)
        operands = tuple(
            o._through_virtual(value) if o.name in _THROUGH_VIRTUAL else o for o in self.operands
        )
        return replace(self, operands=operands)

    @property
    def resolves_virtual_deps(self) -> bool:
        """Whether this deps condition looks through virtual dependencies (see
        :meth:`resolve_through_virtual`)."""
        return dict(self.params).get(_VIRTUAL_PARAM) == "True"

    def _filter_deps(self, how: str, selection: AssetSelection) -> AutomationCondition:
        operands = tuple(o._filter_deps(how, selection) for o in self.operands)
        if self.name not in _DEPS:
            return replace(self, operands=operands) if operands else self
        describe = getattr(selection, "describe", None)
        if not callable(describe):
            raise DefinitionError(
                f"{self.describe()}.{how}({selection!r}): expected an AssetSelection, such as "
                "AssetSelection.keys('raw_orders') or AssetSelection.groups('staging')."
            )
        text = str(describe())
        previous = dict(self.params).get(how)
        if previous is not None:  # a second allow or ignore widens the first, as a union
            text = f"{text} | {previous}"
        params = (*((k, v) for k, v in self.params if k != how), (how, text))
        return replace(self, operands=operands, params=params)

    # ---- reading ---------------------------------------------------------------------------

    def describe(self) -> str:
        """A readable one-line form: the label if there is one, otherwise the tree."""
        if self.label is not None:
            return self.label
        if self.name in ("and", "or"):
            return "(" + f" {self.name} ".join(o.describe() for o in self.operands) + ")"
        if self.name == "not":
            return f"not {self.operands[0].describe()}"
        if self.name == "since":
            return f"({self.operands[0].describe()} since {self.operands[1].describe()})"
        args = [o.describe() for o in self.operands] + [f"{k}={v}" for k, v in self.params]
        return f"{self.name}({', '.join(args)})" if args else self.name

    def tree(self) -> dict[str, Any]:
        """The tree as plain data, as the definitions snapshot shows it."""
        return {
            "name": self.name,
            "label": self.label,
            "params": dict(self.params),
            "operands": [o.tree() for o in self.operands],
        }

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The partitions of ``context.key`` this condition is true for.

        AND, OR and NOT combine what their operands evaluate to, so a tree of custom
        conditions evaluates here. Built-in leaves read the instance's history, and knoll
        does not evaluate them outside its automation loop yet: they raise.
        """
        if self.name not in _BOOLEAN:
            raise DefinitionError(
                f"{self.describe()}: knoll does not evaluate built-in automation conditions by "
                "calling evaluate(); only AND, OR, NOT and your own AutomationCondition "
                "subclasses evaluate directly."
            )
        children = []
        candidates = context.candidate_subset
        for operand in self.operands:
            child = operand.evaluate(context.for_child(operand, candidates))
            children.append(child)
            if self.name == "and":
                candidates = candidates & child.true_subset
            elif self.name == "or":
                candidates = candidates - child.true_subset
        if self.name == "and":
            true: Subset = candidates
        elif self.name == "or":
            true = frozenset().union(*(c.true_subset for c in children))
        else:
            true = context.candidate_subset - children[0].true_subset
        return AutomationResult(context, true, child_results=tuple(children))

    # ---- named conditions ------------------------------------------------------------------

    @staticmethod
    def missing() -> AutomationCondition:
        """True if the asset (partition) has never been materialized."""
        return AutomationCondition("missing")

    @staticmethod
    def run_in_progress() -> AutomationCondition:
        """True if the asset is part of an in-progress run that has not materialized it yet."""
        return AutomationCondition("run_in_progress")

    @staticmethod
    def backfill_in_progress() -> AutomationCondition:
        """True if the asset is part of an in-progress backfill that has not yet reached it."""
        return AutomationCondition("backfill_in_progress")

    @staticmethod
    def in_progress() -> AutomationCondition:
        """True if the asset is part of an in-progress run or backfill."""
        return (
            AutomationCondition.run_in_progress() | AutomationCondition.backfill_in_progress()
        ).with_label("in_progress")

    @staticmethod
    def execution_failed() -> AutomationCondition:
        """True if the latest execution of the asset failed."""
        return AutomationCondition("execution_failed")

    @staticmethod
    def initial_evaluation() -> AutomationCondition:
        """True on the first evaluation of the condition (or after it changes)."""
        return AutomationCondition("initial_evaluation")

    @staticmethod
    def in_latest_time_window(
        lookback_delta: datetime.timedelta | None = None,
    ) -> AutomationCondition:
        """True for the latest time partition (or those within ``lookback_delta`` of its end)."""
        if lookback_delta is None:
            return AutomationCondition("in_latest_time_window")
        seconds = lookback_delta.total_seconds()
        if seconds < 0:
            raise DefinitionError(
                f"AutomationCondition.in_latest_time_window(lookback_delta={lookback_delta!r}): "
                "give a positive timedelta, such as timedelta(days=2)."
            )
        return AutomationCondition(
            "in_latest_time_window", params=(("lookback_delta", _seconds(seconds)),)
        )

    @staticmethod
    def will_be_requested() -> AutomationCondition:
        """True if the asset will be requested on this evaluation."""
        return AutomationCondition("will_be_requested")

    @staticmethod
    def newly_updated() -> AutomationCondition:
        """True if the asset was updated since the previous evaluation."""
        return AutomationCondition("newly_updated")

    @staticmethod
    def executed_with_root_target() -> AutomationCondition:
        """True if the latest run that updated the asset also ran the asset being evaluated."""
        return AutomationCondition("executed_with_root_target")

    @staticmethod
    def newly_requested() -> AutomationCondition:
        """True if the asset was requested on the previous evaluation."""
        return AutomationCondition("newly_requested")

    @staticmethod
    def newly_missing() -> AutomationCondition:
        """True on the evaluation where the asset becomes missing."""
        return AutomationCondition.missing().newly_true().with_label("newly_missing")

    @staticmethod
    def code_version_changed() -> AutomationCondition:
        """True if the asset's code version changed since the previous evaluation."""
        return AutomationCondition("code_version_changed")

    @staticmethod
    def data_version_changed() -> AutomationCondition:
        """True if the asset's data version changed since the previous evaluation."""
        return AutomationCondition("data_version_changed")

    @staticmethod
    def check_passed() -> AutomationCondition:
        """True for a check that passed against the latest materialization of its asset."""
        return AutomationCondition("check_passed")

    @staticmethod
    def check_failed() -> AutomationCondition:
        """True for a check that failed against the latest materialization of its asset."""
        return AutomationCondition("check_failed")

    @staticmethod
    def cron_tick_passed(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """True on the evaluation after a tick of ``cron_schedule``."""
        _check_cron("cron_tick_passed", cron_schedule, cron_timezone)
        return AutomationCondition(
            "cron_tick_passed",
            params=(("cron_schedule", cron_schedule), ("cron_timezone", cron_timezone)),
        )

    @staticmethod
    def any_downstream_conditions() -> AutomationCondition:
        """The union of the distinct automation conditions of the asset's downstream assets."""
        return AutomationCondition("any_downstream_conditions")

    @staticmethod
    def asset_matches(
        key: AssetKey | str | list[str], condition: AutomationCondition
    ) -> AutomationCondition:
        """True if ``condition`` is true for the asset ``key``."""
        asset_key = AssetKey.from_coercible(key)
        return AutomationCondition(
            "asset_matches",
            (_operand(condition, "asset_matches"),),
            (("key", asset_key.to_user_string()),),
        )

    @staticmethod
    def any_deps_match(condition: AutomationCondition) -> AutomationCondition:
        """True if ``condition`` is true for at least one dependency of the asset."""
        return AutomationCondition("any_deps_match", (_operand(condition, "any_deps_match"),))

    @staticmethod
    def all_deps_match(condition: AutomationCondition) -> AutomationCondition:
        """True if ``condition`` is true for every dependency of the asset."""
        return AutomationCondition("all_deps_match", (_operand(condition, "all_deps_match"),))

    @staticmethod
    def any_checks_match(
        condition: AutomationCondition, blocking_only: bool = False
    ) -> AutomationCondition:
        """True if ``condition`` is true for at least one check of the asset."""
        return _checks("any_checks_match", condition, blocking_only)

    @staticmethod
    def all_checks_match(
        condition: AutomationCondition, blocking_only: bool = False
    ) -> AutomationCondition:
        """True if ``condition`` is true for every check of the asset."""
        return _checks("all_checks_match", condition, blocking_only)

    @staticmethod
    def any_deps_updated() -> AutomationCondition:
        """True if a dependency updated since the previous evaluation or will be requested.

        An update by a run that also materialized this asset does not count.
        """
        updated = (
            AutomationCondition.newly_updated() & ~AutomationCondition.executed_with_root_target()
        ).with_label("newly_updated_without_root")
        return AutomationCondition.any_deps_match(
            updated | AutomationCondition.will_be_requested()
        ).with_label("any_deps_updated")

    @staticmethod
    def any_deps_missing() -> AutomationCondition:
        """True if a dependency is missing and will not be requested on this evaluation."""
        return AutomationCondition.any_deps_match(
            AutomationCondition.missing() & ~AutomationCondition.will_be_requested()
        ).with_label("any_deps_missing")

    @staticmethod
    def any_deps_in_progress() -> AutomationCondition:
        """True if a dependency is part of an in-progress run or backfill."""
        return AutomationCondition.any_deps_match(AutomationCondition.in_progress()).with_label(
            "any_deps_in_progress"
        )

    @staticmethod
    def all_deps_blocking_checks_passed() -> AutomationCondition:
        """True if every blocking check of every dependency passed (or will be requested)."""
        return AutomationCondition.all_deps_match(
            AutomationCondition.all_checks_match(
                AutomationCondition.check_passed() | AutomationCondition.will_be_requested(),
                blocking_only=True,
            ).with_label("all_blocking_checks_passed")
        ).with_label("all_deps_blocking_checks_passed")

    @staticmethod
    def all_deps_updated_since_cron(
        cron_schedule: str, cron_timezone: str = "UTC"
    ) -> AutomationCondition:
        """True if every dependency updated since the latest tick of ``cron_schedule``."""
        tick = AutomationCondition.cron_tick_passed(cron_schedule, cron_timezone)
        return AutomationCondition.all_deps_match(
            AutomationCondition.newly_updated().since(tick)
            | AutomationCondition.will_be_requested()
        ).with_label(f"all_deps_updated_since_cron({cron_schedule}, {cron_timezone})")

    @staticmethod
    def eager() -> AutomationCondition:
        """Materialize when a dependency updates, or when the asset becomes missing.

        Waits while a dependency is missing or in progress, or the asset itself is in
        progress; for a time-partitioned asset, only the latest partition counts.
        """
        return (
            AutomationCondition.in_latest_time_window()
            & (
                AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated()
            ).since_last_handled()
            & ~AutomationCondition.any_deps_missing()
            & ~AutomationCondition.any_deps_in_progress()
            & ~AutomationCondition.in_progress()
        ).with_label("eager")

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """Materialize once per cron tick, after every dependency updated since that tick."""
        _check_cron("on_cron", cron_schedule, cron_timezone)
        return (
            AutomationCondition.in_latest_time_window()
            & AutomationCondition.cron_tick_passed(
                cron_schedule, cron_timezone
            ).since_last_handled()
            & AutomationCondition.all_deps_updated_since_cron(cron_schedule, cron_timezone)
        ).with_label(f"on_cron({cron_schedule}, {cron_timezone})")

    @staticmethod
    def on_missing() -> AutomationCondition:
        """Materialize partitions that go missing after the condition is set, deps permitting."""
        return (
            AutomationCondition.in_latest_time_window()
            & AutomationCondition.missing()
            .newly_true()
            .since_last_handled()
            .with_label("missing_since_last_handled")
            & ~AutomationCondition.any_deps_missing()
        ).with_label("on_missing")


@dataclass(frozen=True)
class AutomationContext:
    """What a condition is evaluated against: one asset, at one time, over candidate partitions."""

    key: AssetKey
    evaluation_time: datetime.datetime
    candidate_subset: Subset = frozenset({None})
    previous_evaluation_time: datetime.datetime | None = None
    cursor: str | None = None
    condition: AutomationCondition | None = None

    def get_empty_subset(self) -> Subset:
        return frozenset()

    def for_child(self, condition: AutomationCondition, candidates: Subset) -> AutomationContext:
        """The context an operator passes to one of its operands."""
        return replace(self, condition=condition, candidate_subset=candidates, cursor=None)


@dataclass(frozen=True)
class AutomationResult:
    """What evaluating a condition found: the partitions it is true for, and state to keep."""

    context: AutomationContext
    true_subset: Subset
    cursor: str | None = None
    child_results: tuple[AutomationResult, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        extra = self.true_subset - self.context.candidate_subset
        if extra:
            shown = sorted("<unpartitioned>" if p is None else p for p in extra)
            raise DefinitionError(
                f"AutomationResult for {self.context.key.to_user_string()!r}: true_subset has "
                f"partitions that were not candidates ({', '.join(shown)}); return a subset of "
                "context.candidate_subset."
            )


def _operand(value: object, where: str) -> AutomationCondition:
    if not isinstance(value, AutomationCondition):
        raise DefinitionError(
            f"AutomationCondition {where}: expected an AutomationCondition, got "
            f"{type(value).__name__} {value!r}; build one such as AutomationCondition.missing()."
        )
    return value


def _matches(condition: AutomationCondition, target: AutomationCondition | str) -> bool:
    if isinstance(target, str):
        return target in (condition.label, condition.name)
    return condition == target


def _checks(name: str, condition: AutomationCondition, blocking_only: bool) -> AutomationCondition:
    params = (("blocking_only", "true"),) if blocking_only else ()
    return AutomationCondition(name, (_operand(condition, name),), params)


def _check_cron(where: str, cron_schedule: str, cron_timezone: str) -> None:
    # Imported here: declaring assets should not load the cron parser (and `calendar`).
    from knoll.defs.cron import parse_cron

    try:
        parse_cron(cron_schedule)
    except CronError as exc:
        raise CronError(f"AutomationCondition.{where}({cron_schedule!r}): {exc}") from None
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(cron_timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"AutomationCondition.{where}({cron_schedule!r}, {cron_timezone!r}): unknown time "
            "zone; use an IANA name such as 'UTC' or 'Europe/Berlin'."
        ) from None


def _seconds(seconds: float) -> str:
    return str(int(seconds)) if seconds == int(seconds) else str(seconds)
