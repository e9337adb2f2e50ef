"""AutomationCondition trees: building, reading, rewriting, JSON, and custom conditions."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from knoll import (
    AssetKey,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationContext,
    AutomationResult,
    CronError,
    DefinitionError,
    asset,
)
from knoll._serdes import deserialize, serialize

AC = AutomationCondition
NOON = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)


def test_named_policies_are_labelled_trees_of_their_parts() -> None:
    eager = AC.eager()
    assert eager.describe() == "eager"
    assert eager.name == "and"
    assert [o.describe() for o in eager.operands] == [
        "in_latest_time_window",
        "((newly_missing or any_deps_updated) since handled)",
        "not any_deps_missing",
        "not any_deps_in_progress",
        "not in_progress",
    ]
    on_cron = AC.on_cron("0 6 * * *", "Europe/Berlin")
    assert on_cron.describe() == "on_cron(0 6 * * *, Europe/Berlin)"
    assert on_cron.operands[2].describe() == "all_deps_updated_since_cron(0 6 * * *, Europe/Berlin)"
    assert AC.on_missing().describe() == "on_missing"
    # The same call builds an equal tree, so conditions compare by value.
    assert AC.eager() == eager
    assert AC.on_cron("0 6 * * *") != AC.on_cron("0 7 * * *")


def test_unlabelled_trees_describe_their_structure() -> None:
    condition = (
        AC.cron_tick_passed("0 * * * *").since(AC.newly_requested())
        & ~AC.any_deps_match(AC.execution_failed())
        & AC.in_latest_time_window(datetime.timedelta(days=2))
    )
    assert condition.describe() == (
        "((cron_tick_passed(cron_schedule=0 * * * *, cron_timezone=UTC) since newly_requested)"
        " and not any_deps_match(execution_failed)"
        " and in_latest_time_window(lookback_delta=172800))"
    )
    # & flattens an unlabelled AND instead of nesting it, like | does for OR
    assert len(condition.operands) == 3
    either = AC.missing() | AC.newly_updated() | AC.data_version_changed()
    assert either.name == "or"
    assert len(either.operands) == 3


def test_every_named_condition_exists_and_reads_back() -> None:
    leaves = {
        "missing": AC.missing(),
        "run_in_progress": AC.run_in_progress(),
        "backfill_in_progress": AC.backfill_in_progress(),
        "in_progress": AC.in_progress(),
        "execution_failed": AC.execution_failed(),
        "initial_evaluation": AC.initial_evaluation(),
        "will_be_requested": AC.will_be_requested(),
        "newly_updated": AC.newly_updated(),
        "newly_requested": AC.newly_requested(),
        "newly_missing": AC.newly_missing(),
        "code_version_changed": AC.code_version_changed(),
        "data_version_changed": AC.data_version_changed(),
        "check_passed": AC.check_passed(),
        "check_failed": AC.check_failed(),
        "any_downstream_conditions": AC.any_downstream_conditions(),
        "any_deps_updated": AC.any_deps_updated(),
        "any_deps_missing": AC.any_deps_missing(),
        "any_deps_in_progress": AC.any_deps_in_progress(),
        "all_deps_blocking_checks_passed": AC.all_deps_blocking_checks_passed(),
    }
    for text, condition in leaves.items():
        assert condition.describe() == text
    checks = AC.any_checks_match(AC.check_failed(), blocking_only=True)
    assert checks.describe() == "any_checks_match(check_failed, blocking_only=true)"
    assert AC.all_checks_match(AC.check_passed()).describe() == "all_checks_match(check_passed)"
    matches = AC.asset_matches(["raw", "orders"], AC.newly_updated())
    assert matches.describe() == "asset_matches(newly_updated, key=raw/orders)"
    assert AC.missing().newly_true().describe() == "newly_true(missing)"
    assert AC.newly_updated().since_last_handled().operands[1].describe() == "handled"


def test_replace_by_label_by_name_and_by_condition() -> None:
    hourly = AC.eager().replace("any_deps_updated", AC.any_deps_match(AC.data_version_changed()))
    assert "any_deps_match(data_version_changed)" in hourly.operands[1].describe()
    assert AC.eager().operands[1] != hourly.operands[1]
    # by condition: every equal sub-tree is swapped, including nested ones
    swapped = AC.on_cron("0 6 * * *").replace(
        AC.cron_tick_passed("0 6 * * *"), AC.cron_tick_passed("30 6 * * *")
    )
    assert "30 6 * * *" in str(swapped.tree())
    assert "'0 6 * * *'" not in str(swapped.tree()).replace("all_deps_updated_since_cron", "")
    # by leaf name
    assert (AC.missing() | AC.newly_updated()).replace("missing", AC.newly_missing()) == (
        AC.newly_missing() | AC.newly_updated()
    )


def test_without_removes_an_operand_of_an_and() -> None:
    eager = AC.eager()
    relaxed = eager.without(~AC.any_deps_missing())
    assert len(relaxed.operands) == 4
    assert relaxed.describe() == "eager"  # the label stays: it is still the eager policy
    assert ~AC.any_deps_missing() not in relaxed.operands
    assert eager.without(AC.in_latest_time_window()).operands[0].describe().endswith("handled)")


def test_without_errors_name_the_condition_and_the_fix() -> None:
    with pytest.raises(DefinitionError) as caught:
        AC.eager().without(AC.missing())
    assert str(caught.value) == (
        "eager.without('missing'): it is not one of the operands (in_latest_time_window, "
        "((newly_missing or any_deps_updated) since handled), not any_deps_missing, "
        "not any_deps_in_progress, not in_progress); pass one of them, or its label."
    )
    with pytest.raises(DefinitionError, match=r"only an AND condition \(built with &\)"):
        AC.missing().without(AC.missing())
    with pytest.raises(DefinitionError, match="keeps at least two operands"):
        (AC.missing() & AC.newly_updated()).without("missing")


def test_allow_and_ignore_reach_every_deps_condition() -> None:
    staging = AssetSelection.groups("staging")
    ignored = AC.eager().ignore(staging).ignore(AssetSelection.keys("raw/clicks"))
    deps_nodes = [
        node for node in _walk(ignored) if node.name in ("any_deps_match", "all_deps_match")
    ]
    assert len(deps_nodes) == 3  # any_deps_updated, any_deps_missing, any_deps_in_progress
    for node in deps_nodes:
        assert dict(node.params)["ignore"] == "raw/clicks | group:staging"
    allowed = AC.any_deps_updated().allow(AssetSelection.keys("raw/orders"))
    assert dict(allowed.params) == {"allow": "raw/orders"}
    assert allowed.describe() == "any_deps_updated"  # the label still reads as before
    assert AC.missing().allow(staging) == AC.missing()  # nothing to filter
    with pytest.raises(DefinitionError, match=r"expected an AssetSelection, such as"):
        AC.any_deps_updated().allow("raw/orders")  # type: ignore[arg-type]


def test_conditions_round_trip_through_json_and_old_records_still_read() -> None:
    for condition in (
        AC.eager(),
        AC.on_cron("15 3 * * 1-5", "America/New_York").ignore(AssetSelection.keys("audit")),
        AC.on_missing() | AC.any_deps_match(AC.check_failed()).with_label("upstream failed"),
    ):
        assert deserialize(serialize(condition)) == condition
    # a record written before conditions had labels: a bare leaf named "eager"
    old = '{"__class__": "AutomationCondition", "__v": 1, "name": "eager", "operands": []}'
    restored = deserialize(old, AutomationCondition)
    assert restored.describe() == "eager"
    assert restored.label is None


def test_bad_arguments_are_named() -> None:
    with pytest.raises(CronError, match=r"AutomationCondition.on_cron\('every day'\)"):
        AC.on_cron("every day")
    with pytest.raises(CronError) as caught:
        AC.cron_tick_passed("0 * * * *", "Mars/Olympus")
    assert str(caught.value) == (
        "AutomationCondition.cron_tick_passed('0 * * * *', 'Mars/Olympus'): unknown time zone; "
        "use an IANA name such as 'UTC' or 'Europe/Berlin'."
    )
    with pytest.raises(DefinitionError, match="give a positive timedelta"):
        AC.in_latest_time_window(datetime.timedelta(hours=-1))
    with pytest.raises(DefinitionError) as wrong:
        AC.missing() & "newly_updated"  # type: ignore[operator]
    assert str(wrong.value) == (
        "AutomationCondition &: expected an AutomationCondition, got str 'newly_updated'; "
        "build one such as AutomationCondition.missing()."
    )
    with pytest.raises(DefinitionError, match="needs a name"):
        AutomationCondition()


class BusinessHours(AutomationCondition):
    """True between 08:00 and 18:00 UTC: a custom condition of the kind a team writes."""

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        hour = context.evaluation_time.hour
        true = context.candidate_subset if 8 <= hour < 18 else context.get_empty_subset()
        return AutomationResult(context, true_subset=true)


class EvenDays(AutomationCondition):
    def evaluate(self, context: AutomationContext) -> AutomationResult:
        days = {p for p in context.candidate_subset if p is not None and int(p[-2:]) % 2 == 0}
        return AutomationResult(context, true_subset=frozenset(days), cursor="seen")


def test_custom_conditions_evaluate_and_combine() -> None:
    condition = BusinessHours() & ~EvenDays()
    assert condition.describe() == "(BusinessHours and not EvenDays)"
    days: frozenset[str | None] = frozenset({"2026-03-01", "2026-03-02", "2026-03-03"})
    context = AutomationContext(AssetKey("sales"), NOON, candidate_subset=days)
    result = condition.evaluate(context)
    assert result.true_subset == {"2026-03-01", "2026-03-03"}
    assert [type(c.context.condition).__name__ for c in result.child_results] == [
        "BusinessHours",
        "AutomationCondition",
    ]
    night = AutomationContext(AssetKey("sales"), NOON.replace(hour=23), candidate_subset=days)
    assert (BusinessHours() | EvenDays()).evaluate(night).true_subset == {"2026-03-02"}

    # custom conditions sit on assets like built-in ones
    @asset(automation_condition=AC.eager() & BusinessHours())
    def sales() -> int:
        return 1

    assert sales.specs_by_output["result"].automation_condition == AC.eager() & BusinessHours()


def test_built_in_leaves_do_not_pretend_to_evaluate() -> None:
    context = AutomationContext(AssetKey("sales"), NOON)
    with pytest.raises(DefinitionError) as caught:
        (AC.missing() & BusinessHours()).evaluate(context)
    assert str(caught.value) == (
        "missing: knoll does not evaluate built-in automation conditions by calling "
        "evaluate(); only AND, OR, NOT and your own AutomationCondition subclasses evaluate "
        "directly."
    )


def test_a_result_outside_the_candidates_is_refused() -> None:
    context = AutomationContext(AssetKey("sales"), NOON, candidate_subset=frozenset({"a"}))
    with pytest.raises(DefinitionError) as caught:
        AutomationResult(context, true_subset=frozenset({"a", "b"}))
    assert str(caught.value) == (
        "AutomationResult for 'sales': true_subset has partitions that were not candidates "
        "(b); return a subset of context.candidate_subset."
    )


def test_spec_and_tree_carry_the_condition() -> None:
    spec = AssetSpec("orders", automation_condition=AC.on_cron("0 6 * * *"))
    tree = spec.automation_condition.tree() if spec.automation_condition else {}
    assert tree["label"] == "on_cron(0 6 * * *, UTC)"
    assert tree["name"] == "and"
    assert tree["operands"][0] == {
        "name": "in_latest_time_window",
        "label": None,
        "params": {},
        "operands": [],
    }


def _walk(condition: AutomationCondition) -> list[AutomationCondition]:
    out = [condition]
    for operand in condition.operands:
        out.extend(_walk(operand))
    return out


def test_any_deps_updated_leaves_out_updates_by_the_same_run() -> None:
    [inner] = AC.any_deps_updated().operands
    assert inner.describe() == "(newly_updated_without_root or will_be_requested)"
    assert inner.operands[0].operands == (
        AC.newly_updated(),
        ~AC.executed_with_root_target(),
    )


def test_custom_conditions_may_name_themselves_or_carry_fields() -> None:
    class Named(AutomationCondition):
        @property
        def name(self) -> str:
            return "quiet_hours"

        def evaluate(self, context: AutomationContext) -> AutomationResult:
            return AutomationResult(context, context.get_empty_subset())

    @dataclasses.dataclass(frozen=True)
    class MinRows(AutomationCondition):
        rows: int = 0

        def evaluate(self, context: AutomationContext) -> AutomationResult:
            return AutomationResult(context, context.candidate_subset if self.rows else frozenset())

    assert (Named() | MinRows(rows=5)).describe() == "(quiet_hours or MinRows)"
    assert MinRows(rows=5) != MinRows(rows=6)
    context = AutomationContext(AssetKey("sales"), NOON)
    assert (Named() | MinRows(rows=5)).evaluate(context).true_subset == {None}
    assert Named().with_label("nights").describe() == "nights"
