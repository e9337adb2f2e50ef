"""A ported project's automation conditions are evaluated as Dagster's daemon evaluates them:
on_cron requests once per tick after its dependency updated, eager waits for missing ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from knoll import materialize
from knoll.defs.automation_eval import AutomationEvaluation, evaluate_automation
from knoll.instance import Instance
from knoll.instance.automation_facts import StorageAutomationFacts
from tests.porting.conftest import Ported

MORNING = datetime(2024, 6, 3, 6, 30, tzinfo=UTC)


def test_conditions_of_a_ported_project_are_evaluated(ported: Callable[[str], Ported]) -> None:
    project = ported("specs_and_conditions")
    graph = project.defs.asset_graph
    state: list[str | None] = [None]

    with Instance.ephemeral() as instance:

        def tick(when: datetime) -> dict[str, tuple[str | None, ...]]:
            facts = StorageAutomationFacts(instance.storage, graph.toposorted_keys)
            result: AutomationEvaluation = evaluate_automation(
                graph, facts, evaluation_time=when, previous_state=state[0]
            )
            state[0] = result.state
            return {
                r.asset_key.to_user_string(): r.requested_partitions
                for r in result.records
                if r.requested_partitions
            }

        assert tick(MORNING) == {}
        # 07:00 passed, but open_invoices has not updated since: dunning_letters waits
        assert tick(MORNING + timedelta(minutes=35)) == {}
        materialize([project.module.open_invoices], instance=instance)
        # open_invoices is eager, but its dependencies were never materialized: no request
        assert tick(MORNING + timedelta(minutes=36)) == {"dunning_letters": (None,)}
        assert tick(MORNING + timedelta(minutes=37)) == {}
