"""Evaluating automation conditions: one pass over the asset graph in topological order.

:func:`evaluate_automation` evaluates every asset's :class:`AutomationCondition` against the
instance's history (an :class:`AutomationFacts`) and the state the previous evaluation left,
partition by partition: each node of a tree is true for a subset of the asset's partitions.
Dependencies are evaluated before their children, so ``will_be_requested`` of a dependency is
known when a child asks. The work is linear in assets plus edges (times the size of the
trees); storage is read only for what a tree asks.

State kept between evaluations (the cursor, versioned JSON): the time of the evaluation, the
latest materialization id, code and data version of every asset, and per asset the true
subsets of its ``since`` and ``newly_true`` nodes, what it requested, and custom conditions'
cursors.

Bounded catch-up: after a pause (the daemon was stopped, or automation turned off), updates
made during the pause count once (``newly_updated`` compares with the state before the
pause), the cron ticks missed count as one tick, and the named conditions request only the
latest time window. The records of such an evaluation say so in ``catch_up``.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from knoll.defs.automation import AutomationCondition, AutomationContext
from knoll.defs.automation_eval_records import (
    AutomationEvaluationRecord,
    AutomationFacts,
    AutomationRunRequest,
    ConditionNodeEvaluation,
    Partition,
)
from knoll.defs.automation_eval_state import (
    EMPTY,
    ROOT_BOUND,
    STATEFUL,
    Frame,
    Meta,
    State,
    Subset,
    Target,
    fingerprint,
    sorted_partitions,
    subset_of,
)
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.errors import DefinitionError, PartitionKeyError

if TYPE_CHECKING:
    from knoll.defs.asset_graph import AssetGraph
    from knoll.defs.partitions import PartitionsDefinition

__all__ = ["AutomationEvaluation", "evaluate_automation"]

_EMPTY = EMPTY
_STATEFUL = STATEFUL
DEFAULT_PAUSE_SECONDS = 120.0
"""A previous evaluation older than this makes an evaluation a catch-up (see the module)."""


@dataclass(frozen=True)
class AutomationEvaluation:
    """What one evaluation found: a record per asset with a condition, the runs to request,
    and the state the next evaluation starts from (JSON text)."""

    records: tuple[AutomationEvaluationRecord, ...]
    run_requests: tuple[AutomationRunRequest, ...]
    state: str
    catch_up: str | None = None


def evaluate_automation(
    graph: AssetGraph,
    facts: AutomationFacts,
    *,
    evaluation_time: datetime.datetime,
    previous_state: str | None = None,
    location: str = "",
    evaluation_id: int = 1,
    pause_seconds: float = DEFAULT_PAUSE_SECONDS,
) -> AutomationEvaluation:
    """Evaluate the automation condition of every asset of ``graph`` (see the module)."""
    if evaluation_time.tzinfo is None:
        raise DefinitionError(
            f"evaluate_automation(evaluation_time={evaluation_time!r}): give a timezone-aware "
            "time, such as datetime.now(timezone.utc)."
        )
    with _no_cyclic_gc():
        evaluator = _Evaluator(graph, facts, evaluation_time, State.read(previous_state))
        catch_up = evaluator.catch_up(pause_seconds)
        records = evaluator.evaluate_all(catch_up, location, evaluation_id)
        return AutomationEvaluation(
            tuple(records), evaluator.run_requests(), evaluator.new_state(), catch_up
        )


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """An evaluation allocates hundreds of thousands of small objects that form no cycles;
    the cyclic collector would rescan the whole heap many times over meanwhile (it doubled
    the time of a tick over 10,000 assets)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Evaluator:
    def __init__(
        self,
        graph: AssetGraph,
        facts: AutomationFacts,
        now: datetime.datetime,
        previous: State,
    ) -> None:
        self.graph = graph
        self.facts = facts
        self.now = now
        self.previous = previous
        self.next = State(time=now.timestamp())
        self.requested: dict[AssetKey, Subset] = {}
        self._partitions: dict[AssetKey, Subset] = {}
        self._updated: dict[AssetKey, Mapping[Partition, str]] = {}
        self._mappings: dict[tuple[AssetKey, AssetKey], Any] = {}
        self._meta: dict[int, Meta] = {}
        self.root_reads = 0  # evaluations of conditions that read the asset being evaluated
        self.uses_data_versions = bool(previous.data_versions)
        self._shared: dict[tuple[int, Target, Subset], tuple[Subset, ConditionNodeEvaluation]] = {}
        self._shown_targets: dict[Target, str] = {}
        self._partitions_defs: dict[AssetKey, PartitionsDefinition | None] = {}
        self._fingerprints: dict[int, str] = {}

    # ---- per asset -----------------------------------------------------------------------

    def evaluate_all(
        self, catch_up: str | None, location: str, evaluation_id: int
    ) -> list[AutomationEvaluationRecord]:
        """A record of every asset with a condition, in topological order."""
        records = []
        stamp = self.now.timestamp()
        for key in self.graph.toposorted_keys:
            condition = self.graph.node(key).spec.automation_condition
            if condition is None:
                continue
            self.uses_data_versions = self.uses_data_versions or self.meta(condition).data
            node, requested = self.evaluate_asset(key, condition)
            records.append(
                AutomationEvaluationRecord(
                    location,
                    evaluation_id,
                    key,
                    stamp,
                    node,
                    sorted_partitions(requested),
                    (),
                    catch_up,
                )
            )
        return records

    def catch_up(self, pause_seconds: float) -> str | None:
        before = self.previous.time
        if before is None or self.now.timestamp() - before <= pause_seconds:
            return None
        since = datetime.datetime.fromtimestamp(before, datetime.UTC).isoformat()
        paused = self.now.timestamp() - before
        return (
            f"catch-up after {paused:.0f}s without an evaluation (the previous one was at "
            f"{since}): updates during the pause count once, missed cron ticks count as one, "
            "and only the latest time window is requested"
        )

    def evaluate_asset(
        self, key: AssetKey, condition: AutomationCondition
    ) -> tuple[ConditionNodeEvaluation, Subset]:
        name = key.to_user_string()
        known = self._fingerprints.get(id(condition))
        if known is None:
            known = self._fingerprints[id(condition)] = fingerprint(condition)
        previous = self.previous.assets.get(name, {})
        initial = previous.get("c") != known
        frame = Frame(key, {} if initial else previous, initial)
        candidates = self.partitions(key)
        true, node = self.node(condition, key, "0", candidates, frame)
        self.requested[key] = true
        entry: dict[str, Any] = {"c": known}
        if true:
            entry["r"] = list(sorted_partitions(true))
        if frame.nodes:
            entry["n"] = frame.nodes
        if frame.cursors:
            entry["x"] = frame.cursors
        self.next.assets[name] = entry
        return node, true

    def new_state(self) -> str:
        for key in self.graph.toposorted_keys:
            name = key.to_user_string()
            latest = self.facts.latest_materialization_id(key)
            if latest is not None:
                self.next.latest[name] = latest
            code_version = self.graph.node(key).spec.code_version
            if code_version is not None:
                self.next.code_versions[name] = code_version
            data_version = (
                self.facts.data_version(key)
                if latest is not None and self.uses_data_versions
                else None
            )
            if data_version is not None:
                self.next.data_versions[name] = data_version
        return self.next.write()

    def run_requests(self) -> tuple[AutomationRunRequest, ...]:
        """One run of every unpartitioned asset requested, and one per partition key (and
        partitions definition) of the partitioned ones, in topological order."""
        groups: dict[tuple[str, str | None], list[AssetKey]] = {}
        for key, subset in self.requested.items():  # insertion order is topological
            partitions_def = self.partitions_def(key)
            kind = "" if partitions_def is None else partitions_def.describe()
            for partition in sorted_partitions(subset):
                groups.setdefault((kind, partition), []).append(key)
        return tuple(
            AutomationRunRequest(tuple(keys), partition)
            for (_, partition), keys in sorted(
                groups.items(), key=lambda item: (item[0][0], item[0][1] or "")
            )
        )

    # ---- partitions ----------------------------------------------------------------------

    def partitions_def(self, key: AssetKey) -> PartitionsDefinition | None:
        try:
            return self._partitions_defs[key]
        except KeyError:
            node = self.graph.node(key)
            found = self._partitions_defs[key] = (
                node.spec.partitions_def or node.assets_def.partitions_def
            )
            return found

    def partitions(self, key: AssetKey) -> Subset:
        found = self._partitions.get(key)
        if found is None:
            partitions_def = self.partitions_def(key)
            if partitions_def is None:
                found = frozenset({None})
            else:
                found = frozenset(
                    partitions_def.get_partition_keys(
                        current_time=self.now,
                        dynamic_partitions_store=self.facts.dynamic_partitions,
                    )
                )
            self._partitions[key] = found
        return found

    def upstream(self, key: AssetKey, partition: Partition, dep: AssetKey) -> Subset:
        """The partitions of ``dep`` that ``partition`` of ``key`` reads."""
        from knoll.defs.partitions import infer_partition_mapping

        upstream_def = self.partitions_def(dep)
        if upstream_def is None:
            return frozenset({None})
        downstream_def = self.partitions_def(key)
        mapping = self._mappings.get((key, dep))
        if mapping is None:
            explicit = self.graph.node(key).assets_def.partition_mapping_for(dep)
            mapping = infer_partition_mapping(
                explicit, downstream_def, upstream_def, f"asset {key.to_user_string()!r}"
            )
            self._mappings[(key, dep)] = mapping
        try:
            keys = mapping.get_upstream_partition_keys(
                None if partition is None else [partition],
                downstream_def,
                upstream_def,
                current_time=self.now,
                dynamic_partitions_store=self.facts.dynamic_partitions,
            )
        except PartitionKeyError:
            return _EMPTY
        return frozenset(keys)

    def materialized(self, key: AssetKey) -> Subset:
        if self.partitions_def(key) is None:
            if self.facts.latest_materialization_id(key) is None:
                return _EMPTY
            return frozenset({None})
        return frozenset(self.facts.materialized_partitions(key))

    def updated(self, key: AssetKey) -> Mapping[Partition, str]:
        """The partitions of ``key`` materialized since the previous evaluation, and by
        which run; nothing on the first evaluation (the state has no baseline yet)."""
        known = self._updated.get(key)
        if known is not None:
            return known
        found: dict[Partition, str] = {}
        if self.previous.time is not None:
            before = self.previous.latest.get(key.to_user_string())
            latest = self.facts.latest_materialization_id(key)
            if latest is not None and latest != before:
                if self.partitions_def(key) is None:
                    run_id = self.facts.latest_run_id(key)
                    found = {None: run_id or ""}
                else:
                    found.update(self.facts.updated_partitions(key, before))
        self._updated[key] = found
        return found

    # ---- the tree ------------------------------------------------------------------------

    def node(
        self,
        condition: AutomationCondition,
        target: Target,
        path: str,
        candidates: Subset,
        frame: Frame,
    ) -> tuple[Subset, ConditionNodeEvaluation]:
        """The partitions of ``candidates`` for which ``condition`` holds of ``target``."""
        meta = self._meta.get(id(condition)) or self.meta(condition)
        # identity first: the asset itself is passed down as the very key object
        shown = None if target is frame.root or target == frame.root else self._shown(target)
        if not candidates and not meta.keeps_state:
            return _EMPTY, meta.skipped(shown)  # nothing to decide, no state to keep
        # a node about another asset that read nothing of the asset asking (no
        # executed_with_root_target, state or custom condition was evaluated) is the same
        # for every asset asking
        shared = (id(condition), target, candidates) if shown and not meta.keeps_state else None
        if shared is not None:
            known = self._shared.get(shared)
            if known is not None:
                return known
            root_reads = self.root_reads
        children: list[ConditionNodeEvaluation] = []
        name = condition.name
        operands = condition.operands
        # a path names a node's state: only nodes that keep state need one
        paths = meta.paths(path) if meta.keeps_state else meta.no_paths
        if name == "and":
            true = candidates
            for index, operand in enumerate(operands):
                true, child = self.node(operand, target, paths[index], true, frame)
                children.append(child)
        elif name == "or":
            found: set[Partition] = set()
            for index, operand in enumerate(operands):
                left = candidates - found if found else candidates
                one, child = self.node(operand, target, paths[index], left, frame)
                children.append(child)
                found |= one
            true = frozenset(found)
        elif name == "not":
            one, child = self.node(operands[0], target, paths[0], candidates, frame)
            children.append(child)
            true = candidates - one
        elif meta.custom:
            true = self._custom(condition, target, path, candidates, frame) & candidates
        elif meta.asset_leaf and type(target) is AssetKey:
            true = self._leaf(condition, target, candidates, frame) & candidates
        else:
            true = self._builtin(condition, target, path, candidates, frame, children)
            true = true & candidates
        result = (
            true,
            ConditionNodeEvaluation(
                meta.label, sorted_partitions(true), len(candidates), tuple(children), shown
            ),
        )
        if shared is not None and self.root_reads == root_reads:
            self._shared[shared] = result
        return result

    def _shown(self, target: Target) -> str:
        found = self._shown_targets.get(target)
        if found is None:
            found = self._shown_targets[target] = target.to_user_string()
        return found

    def meta(self, condition: AutomationCondition) -> Meta:
        """What is known of a condition object before evaluating it (computed once)."""
        found = self._meta.get(id(condition))
        if found is None:
            operands = tuple(self.meta(o) for o in condition.operands)
            custom = type(condition).evaluate is not AutomationCondition.evaluate
            # any_downstream_conditions evaluates trees of other assets, which may keep state
            keeps_state = custom or condition.name in (*_STATEFUL, "any_downstream_conditions")
            found = Meta(
                condition,
                condition.describe(),
                custom,
                keeps_state or any(o.keeps_state for o in operands),
                not (custom or condition.name in ROOT_BOUND) and all(o.root_free for o in operands),
                operands,
                condition.name == "data_version_changed" or any(o.data for o in operands),
                not operands and not custom and condition.name != "any_downstream_conditions",
            )
            self._meta[id(condition)] = found
        return found

    def _builtin(
        self,
        condition: AutomationCondition,
        target: Target,
        path: str,
        candidates: Subset,
        frame: Frame,
        children: list[ConditionNodeEvaluation],
    ) -> Subset:
        name = condition.name
        operands = condition.operands

        def child(
            index: int, of: Target = target, within: Subset = candidates
        ) -> tuple[Subset, ConditionNodeEvaluation]:
            true, node = self.node(operands[index], of, f"{path}.{index}", within, frame)
            children.append(node)
            return true, node

        asset = target.asset_key if isinstance(target, AssetCheckKey) else target
        if name in _STATEFUL:
            return self._stateful(name, target, path, candidates, frame, child)
        if name in ("any_deps_match", "all_deps_match"):
            return self._deps(condition, asset, path, candidates, frame, children)
        if name in ("any_checks_match", "all_checks_match"):
            return self._checks(condition, asset, path, candidates, frame, children)
        if name == "asset_matches":
            other = AssetKey.from_user_string(dict(condition.params)["key"])
            true, _ = child(0, of=other, within=self.partitions(other))
            if not true:
                return _EMPTY
            if self.partitions_def(other) == self.partitions_def(asset):
                return candidates & true
            return candidates
        if name == "any_downstream_conditions":
            return self._downstream(asset, path, candidates, frame, children)
        if isinstance(target, AssetCheckKey):
            return self._check_leaf(name, target, candidates)
        return self._leaf(condition, target, candidates, frame)

    def _leaf(  # noqa: PLR0912 (one branch per named condition)
        self, condition: AutomationCondition, key: AssetKey, candidates: Subset, frame: Frame
    ) -> Subset:
        name = condition.name
        if name == "missing":
            return candidates - self.materialized(key)
        if name == "newly_updated":
            return frozenset(self.updated(key))
        if name == "executed_with_root_target":
            self.root_reads += 1
            updated = self.updated(key)
            return frozenset(
                p
                for p in candidates
                if updated.get(p) and frame.root in self.facts.run_asset_keys(updated[p])
            )
        if name == "run_in_progress":
            progress = self.facts.in_progress_partitions(key)
            if None in progress:  # a run of every partition, or of the unpartitioned asset
                return candidates
            return progress & candidates
        if name == "backfill_in_progress":
            return _EMPTY  # not yet: a backfill's runs count under run_in_progress
        if name == "execution_failed":
            return self.facts.failed_partitions(key) & candidates
        if name == "initial_evaluation":
            self.root_reads += 1
            return candidates if frame.initial else _EMPTY
        if name == "in_latest_time_window":
            return self._latest_window(condition, key, candidates)
        if name == "will_be_requested":
            return self.requested.get(key, _EMPTY)
        if name == "newly_requested":
            previous = self.previous.assets.get(key.to_user_string(), {})
            return subset_of(previous.get("r"))
        if name == "code_version_changed":
            return self._changed(key, candidates, "code")
        if name == "data_version_changed":
            return self._changed(key, candidates, "data")
        if name == "cron_tick_passed":
            return candidates if self._cron_passed(condition) else _EMPTY
        if name in ("check_passed", "check_failed"):
            return _EMPTY  # a check condition of an asset: only checks pass or fail
        raise DefinitionError(
            f"automation condition {condition.describe()!r} of asset "
            f"{frame.root.to_user_string()!r}: knoll does not know the condition {name!r}. "
            "Build conditions from the AutomationCondition methods, or subclass "
            "AutomationCondition and implement evaluate()."
        )

    def _check_leaf(self, name: str, check: AssetCheckKey, candidates: Subset) -> Subset:
        if name == "will_be_requested":  # a check runs with its asset
            return self.requested.get(check.asset_key, _EMPTY)
        results = self.facts.check_results(check)
        if name == "check_passed":
            return frozenset(p for p, passed in results.items() if passed)
        if name == "check_failed":
            return frozenset(p for p, passed in results.items() if not passed)
        if name == "missing":
            return candidates - frozenset(results)
        return _EMPTY

    def _stateful(
        self,
        name: str,
        target: Target,
        path: str,
        candidates: Subset,
        frame: Frame,
        child: Callable[..., tuple[Subset, ConditionNodeEvaluation]],
    ) -> Subset:
        # operands see every partition, so that no change of state is missed
        whole = (
            self.partitions(target.asset_key)
            if isinstance(target, AssetCheckKey)
            else self.partitions(target)
        )
        slot = path if target == frame.root else f"{target.to_user_string()}@{path}"
        previous = subset_of(frame.previous.get("n", {}).get(slot))
        if name == "newly_true":
            now, _ = child(0, within=whole)
            if now:
                frame.nodes[slot] = list(sorted_partitions(now))
            return now - previous
        trigger, _ = child(0, within=whole)
        reset, _ = child(1, within=whole)
        true = ((previous & whole) | trigger) - reset
        if true:
            frame.nodes[slot] = list(sorted_partitions(true))
        return true

    def _deps(
        self,
        condition: AutomationCondition,
        key: AssetKey,
        path: str,
        candidates: Subset,
        frame: Frame,
        children: list[ConditionNodeEvaluation],
    ) -> Subset:
        deps: Sequence[AssetKey]
        if condition.resolves_virtual_deps:
            deps = sorted(self.graph.get_non_virtual_ancestor_keys(key), key=str)
        else:
            deps = self.graph.parents(key)
        deps = self._filtered(condition, deps)
        every = condition.name == "all_deps_match"
        result: set[Partition] = set(candidates) if every else set()
        operand = condition.operands[0]
        for dep in deps:
            dep_true, node = self.node(operand, dep, f"{path}.0", self.partitions(dep), frame)
            children.append(node)
            same = self.partitions_def(dep) == self.partitions_def(key) and (
                self.graph.node(key).assets_def.partition_mapping_for(dep) is None
            )
            if same:
                matched = candidates & dep_true
            else:
                matched = frozenset(p for p in candidates if self.upstream(key, p, dep) & dep_true)
            if every:
                result &= matched
            else:
                result |= matched
        return frozenset(result)

    def _filtered(self, condition: AutomationCondition, deps: Sequence[AssetKey]) -> list[AssetKey]:
        from knoll.defs.selection import AssetSelection

        params = dict(condition.params)
        kept = list(deps)
        for how in ("allow", "ignore"):
            text = params.get(how)
            if text is None:
                continue
            try:
                chosen = AssetSelection.from_string(text).resolve(self.graph)
            except DefinitionError as exc:
                raise DefinitionError(
                    f"automation condition {condition.describe()!r}: its {how}() selection "
                    f"{text!r} cannot be resolved ({exc}); build it with AssetSelection.keys() "
                    "or AssetSelection.groups()."
                ) from None
            kept = [d for d in kept if (d in chosen) == (how == "allow")]
        return kept

    def _checks(
        self,
        condition: AutomationCondition,
        key: AssetKey,
        path: str,
        candidates: Subset,
        frame: Frame,
        children: list[ConditionNodeEvaluation],
    ) -> Subset:
        blocking_only = dict(condition.params).get("blocking_only") == "true"
        every = condition.name == "all_checks_match"
        result: set[Partition] = set(candidates) if every else set()
        for check in self.graph.checks_for(key):
            if blocking_only and not _is_blocking(self.graph, check):
                continue
            true, node = self.node(condition.operands[0], check, f"{path}.0", candidates, frame)
            children.append(node)
            if every:
                result &= true
            else:
                result |= true
        return frozenset(result)

    def _downstream(
        self,
        key: AssetKey,
        path: str,
        candidates: Subset,
        frame: Frame,
        children: list[ConditionNodeEvaluation],
    ) -> Subset:
        seen: list[AutomationCondition] = []
        for child_key in self.graph.children(key):
            found = self.graph.node(child_key).spec.automation_condition
            if (
                found is None
                or found in seen
                or "any_downstream_conditions" in json.dumps(found.tree())
            ):
                continue
            seen.append(found)
        result: set[Partition] = set()
        for index, found in enumerate(seen):
            true, node = self.node(found, key, f"{path}.d{index}", candidates - result, frame)
            children.append(node)
            result |= true
        return frozenset(result)

    def _custom(
        self,
        condition: AutomationCondition,
        target: Target,
        path: str,
        candidates: Subset,
        frame: Frame,
    ) -> Subset:
        key = target.asset_key if isinstance(target, AssetCheckKey) else target
        slot = path if target == frame.root else f"{target.to_user_string()}@{path}"
        previous_time = self.previous.time
        context = AutomationContext(
            key=key,
            evaluation_time=self.now,
            candidate_subset=candidates,
            previous_evaluation_time=None
            if previous_time is None
            else datetime.datetime.fromtimestamp(previous_time, datetime.UTC),
            cursor=frame.previous.get("x", {}).get(slot),
            condition=condition,
        )
        try:
            result = condition.evaluate(context)
        except DefinitionError:
            raise
        except Exception as exc:
            raise DefinitionError(
                f"automation condition {condition.describe()!r} of asset "
                f"{frame.root.to_user_string()!r} raised {type(exc).__name__}: {exc}"
            ) from exc
        if result.cursor is not None:
            frame.cursors[slot] = result.cursor
        return frozenset(result.true_subset)

    # ---- leaves that read time or versions --------------------------------------------------

    def _latest_window(
        self, condition: AutomationCondition, key: AssetKey, candidates: Subset
    ) -> Subset:
        from knoll.defs.partitions.time_window import TimeWindowPartitionsDefinition

        partitions_def = self.partitions_def(key)
        if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
            return candidates
        last = partitions_def.get_last_partition_window(self.now)
        if last is None:
            return _EMPTY
        lookback = dict(condition.params).get("lookback_delta")
        if lookback is None:
            return candidates & {partitions_def.get_partition_key_for_time(last.start)}
        earliest = last.end - datetime.timedelta(seconds=float(lookback))
        return frozenset(
            p
            for p in candidates
            if p is not None and partitions_def.time_window_for_partition_key(p).end > earliest
        )

    def _changed(self, key: AssetKey, candidates: Subset, which: str) -> Subset:
        if self.previous.time is None:
            return _EMPTY
        name = key.to_user_string()
        if which == "code":
            before = self.previous.code_versions.get(name)
            now = self.graph.node(key).spec.code_version
        else:
            before = self.previous.data_versions.get(name)
            now = (
                self.facts.data_version(key)
                if self.facts.latest_materialization_id(key) is not None
                else None
            )
        return candidates if now != before else _EMPTY

    def _cron_passed(self, condition: AutomationCondition) -> bool:
        """Whether a tick of the cron schedule fell after the previous evaluation (several
        missed ticks count as one)."""
        import zoneinfo

        from knoll.defs.cron import parse_cron

        if self.previous.time is None:
            return False
        params = dict(condition.params)
        zone = zoneinfo.ZoneInfo(params.get("cron_timezone", "UTC"))
        schedule = parse_cron(params["cron_schedule"])
        local_now = self.now.astimezone(zone)
        latest_tick = schedule.previous_before(local_now + datetime.timedelta(microseconds=1))
        return latest_tick.timestamp() > self.previous.time


def _is_blocking(graph: AssetGraph, key: AssetCheckKey) -> bool:
    from knoll.defs.check import AssetCheckSpec

    check = graph.check(key)
    if isinstance(check, AssetCheckSpec):
        return check.blocking
    return any(spec.blocking for spec in check.specs if spec.key == key)
