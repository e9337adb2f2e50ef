"""The automation evaluator on real SQLite storage: eager, on_missing, on_cron across a cron
tick, since/newly_true, partitioned assets and the bounded catch-up after a pause."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from knoll import (
    AssetKey,
    AutomationCondition,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    materialize,
)
from knoll.defs.asset import AssetsDefinition
from knoll.defs.automation_eval import AutomationEvaluation, evaluate_automation
from knoll.errors import DefinitionError
from knoll.instance import Instance
from knoll.instance.automation_facts import StorageAutomationFacts

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def instance(tmp_path: object) -> Iterator[Instance]:
    with Instance.get(str(tmp_path)) as opened:
        yield opened


class Ticker:
    """Evaluates a definitions' conditions tick after tick, keeping the state between them."""

    def __init__(self, instance: Instance, assets: Sequence[AssetsDefinition]) -> None:
        self.instance = instance
        self.graph = Definitions(assets=list(assets)).asset_graph
        self.state: str | None = None
        self.count = 0

    def tick(self, when: datetime) -> AutomationEvaluation:
        self.count += 1
        facts = StorageAutomationFacts(self.instance.storage, self.graph.toposorted_keys)
        result = evaluate_automation(
            self.graph,
            facts,
            evaluation_time=when,
            previous_state=self.state,
            evaluation_id=self.count,
        )
        self.state = result.state
        return result


def requested(result: AutomationEvaluation) -> dict[str, tuple[str | None, ...]]:
    return {
        r.asset_key.to_user_string(): r.requested_partitions
        for r in result.records
        if r.requested_partitions
    }


@asset
def raw() -> int:
    return 1


@asset(automation_condition=AutomationCondition.eager())
def clean(raw: int) -> int:
    return raw + 1


def test_eager_requests_a_materialization_when_its_parent_updates(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, clean])
    first = ticker.tick(T0)
    assert requested(first) == {}  # the first evaluation only takes a baseline
    materialize([raw], instance=instance)
    second = ticker.tick(T0 + timedelta(seconds=30))
    assert requested(second) == {"clean": (None,)}
    assert [(r.asset_keys, r.partition_key) for r in second.run_requests] == [
        ((AssetKey("clean"),), None)
    ]
    # requested and not yet run: since_last_handled was reset by newly_requested
    assert requested(ticker.tick(T0 + timedelta(seconds=60))) == {}


def test_eager_waits_for_a_missing_parent_and_records_each_node(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, clean])
    ticker.tick(T0)
    result = ticker.tick(T0 + timedelta(seconds=30))
    (record,) = result.records
    assert record.condition.label == "eager"
    labels = {child.label: child.is_true for child in record.condition.children}
    assert labels["in_latest_time_window"] is True
    assert labels["not any_deps_missing"] is False  # raw was never materialized
    assert record.requested_partitions == ()


def test_eager_does_not_count_an_update_by_its_own_run(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, clean])
    ticker.tick(T0)
    materialize([raw, clean], instance=instance)  # both in one run
    assert requested(ticker.tick(T0 + timedelta(seconds=30))) == {}


@asset(automation_condition=AutomationCondition.eager())
def downstream(clean: int) -> int:
    return clean


def test_eager_chain_is_requested_in_one_tick(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, clean, downstream])
    materialize([raw, clean, downstream], instance=instance)
    ticker.tick(T0)
    materialize([raw], instance=instance)
    result = ticker.tick(T0 + timedelta(seconds=30))
    assert requested(result) == {"clean": (None,), "downstream": (None,)}  # will_be_requested
    assert [r.asset_keys for r in result.run_requests] == [
        (AssetKey("clean"), AssetKey("downstream"))
    ]


@asset(automation_condition=AutomationCondition.on_missing())
def filled(raw: int) -> int:
    return raw


def test_on_missing_requests_once_its_parent_is_there(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, filled])
    assert requested(ticker.tick(T0)) == {}  # missing since the start: the condition was set later
    materialize([raw], instance=instance)
    assert requested(ticker.tick(T0 + timedelta(seconds=30))) == {}


@asset(automation_condition=AutomationCondition.on_cron("0 * * * *"))
def hourly(raw: int) -> int:
    return raw


def test_on_cron_requests_after_a_tick_once_its_parent_updated(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, hourly])
    ticker.tick(T0)  # 09:30
    assert requested(ticker.tick(T0 + timedelta(minutes=15))) == {}  # no tick passed
    # 10:00 passed, but raw has not updated since: wait
    assert requested(ticker.tick(T0 + timedelta(minutes=35))) == {}
    materialize([raw], instance=instance)
    assert requested(ticker.tick(T0 + timedelta(minutes=40))) == {"hourly": (None,)}
    assert requested(ticker.tick(T0 + timedelta(minutes=45))) == {}  # once per tick


def test_on_cron_after_a_pause_requests_once_and_says_so(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, hourly])
    ticker.tick(T0)
    resumed = ticker.tick(T0 + timedelta(days=3))  # 72 ticks missed: they count as one
    (record,) = resumed.records
    assert record.catch_up is not None
    assert "missed cron ticks count as one" in record.catch_up
    assert requested(resumed) == {}  # raw has not updated since the latest tick
    for _ in range(3):
        materialize([raw], instance=instance)
    result = ticker.tick(T0 + timedelta(days=3, seconds=30))
    assert requested(result) == {"hourly": (None,)}
    assert len(result.run_requests) == 1
    assert result.records[0].catch_up is None


def test_eager_after_a_pause_requests_once(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, clean])
    ticker.tick(T0)
    for _ in range(5):
        materialize([raw], instance=instance)
    result = ticker.tick(T0 + timedelta(days=2))
    assert requested(result) == {"clean": (None,)}
    assert len(result.run_requests) == 1
    assert result.catch_up is not None
    assert "updates during the pause count once" in result.catch_up


DAYS = DailyPartitionsDefinition(start_date="2024-04-01")


@asset(partitions_def=DAYS)
def events() -> int:
    return 1


@asset(partitions_def=DAYS, automation_condition=AutomationCondition.eager())
def daily_summary(events: int) -> int:
    return events


def test_partitioned_eager_requests_only_the_latest_window(instance: Instance) -> None:
    ticker = Ticker(instance, [events, daily_summary])
    first = ticker.tick(T0)
    (record,) = first.records
    assert record.condition.candidates == 30  # 2024-04-01 to 2024-04-30
    materialize([events], instance=instance, partition_key="2024-04-12")
    materialize([events], instance=instance, partition_key="2024-04-30")
    result = ticker.tick(T0 + timedelta(seconds=30))
    assert requested(result) == {"daily_summary": ("2024-04-30",)}
    assert [(r.asset_keys, r.partition_key) for r in result.run_requests] == [
        ((AssetKey("daily_summary"),), "2024-04-30")
    ]


def test_partitioned_eager_without_the_window_follows_each_partition(instance: Instance) -> None:
    @asset(
        name="daily_summary",
        partitions_def=DAYS,
        automation_condition=AutomationCondition.eager().without(
            AutomationCondition.in_latest_time_window()
        ),
    )
    def every(events: int) -> int:
        return events

    ticker = Ticker(instance, [events, every])
    ticker.tick(T0)
    materialize([events], instance=instance, partition_key="2024-04-12")
    assert requested(ticker.tick(T0 + timedelta(seconds=30))) == {"daily_summary": ("2024-04-12",)}


def test_newly_true_and_since(instance: Instance) -> None:
    @asset(
        name="raw",
        automation_condition=AutomationCondition.missing().newly_true()
        | AutomationCondition.newly_updated().since(AutomationCondition.newly_requested()),
    )
    def flagged() -> int:
        return 1

    ticker = Ticker(instance, [flagged])
    first = ticker.tick(T0)
    assert requested(first) == {"raw": (None,)}  # missing became true (from nothing)
    second = ticker.tick(T0 + timedelta(seconds=30))
    assert requested(second) == {}  # still missing: not newly true
    materialize([flagged], instance=instance)
    third = ticker.tick(T0 + timedelta(seconds=60))
    assert requested(third) == {"raw": (None,)}  # updated, and not requested since
    # the previous evaluation requested it: the since() is reset
    assert requested(ticker.tick(T0 + timedelta(seconds=90))) == {}


def test_code_version_changed(instance: Instance) -> None:
    @asset(
        name="raw",
        code_version="1",
        automation_condition=AutomationCondition.code_version_changed(),
    )
    def v1() -> int:
        return 1

    ticker = Ticker(instance, [v1])
    ticker.tick(T0)
    assert requested(ticker.tick(T0 + timedelta(seconds=30))) == {}
    ticker.graph = Definitions(
        assets=[
            asset(
                name="raw",
                code_version="2",
                automation_condition=AutomationCondition.code_version_changed(),
            )(lambda: 1)
        ]
    ).asset_graph
    assert requested(ticker.tick(T0 + timedelta(seconds=60))) == {"raw": (None,)}


def test_a_naive_evaluation_time_is_refused(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, clean])
    with pytest.raises(DefinitionError, match="timezone-aware"):
        ticker.tick(datetime(2024, 5, 1))


def test_a_state_from_elsewhere_is_refused(instance: Instance) -> None:
    ticker = Ticker(instance, [raw, clean])
    ticker.state = '{"v": 99}'
    with pytest.raises(DefinitionError, match="upgrade knoll"):
        ticker.tick(T0)
