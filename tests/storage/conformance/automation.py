"""The ``AutomationStorage`` conformance suite: a cursor per code location that moves only
through begin and finish, and evaluation records per asset, newest first."""

from __future__ import annotations

import pytest

from knoll.defs.automation_eval_records import AutomationEvaluationRecord, ConditionNodeEvaluation
from knoll.defs.keys import AssetKey
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.errors import InvalidInvocationError
from knoll.execution.events import EventType, RunEvent
from knoll.execution.run import Run, RunStatus
from knoll.storage.base import AutomationCursor, AutomationTick, Storage

T0 = 1_700_000_000.0
ORDERS = AssetKey(["sales", "orders"])


def _record(evaluation_id: int, key: AssetKey = ORDERS) -> AutomationEvaluationRecord:
    node = ConditionNodeEvaluation(
        "eager", (None,), 1, (ConditionNodeEvaluation("missing", (), 1),)
    )
    return AutomationEvaluationRecord(
        "sales", evaluation_id, key, T0 + evaluation_id, node, (None,), (f"run-{evaluation_id}",)
    )


def _tick(evaluation_id: int, location: str = "sales") -> AutomationTick:
    run = Run(f"run-{evaluation_id}", "__asset_job", RunStatus.QUEUED)
    return AutomationTick(
        location,
        evaluation_id,
        T0 + evaluation_id,
        f'{{"n": {evaluation_id}}}',
        (_record(evaluation_id),),
        (run,),
    )


class AutomationStorageSuite:
    """Subclasses provide the ``storage`` fixture."""

    def test_a_location_never_evaluated_starts_at_zero(self, storage: Storage) -> None:
        assert storage.get_automation_cursor("sales") == AutomationCursor("sales")
        assert storage.get_automation_evaluations(ORDERS) == []

    def test_begin_keeps_the_tick_pending_and_finish_commits_it(self, storage: Storage) -> None:
        tick = _tick(1)
        storage.begin_automation_tick(tick)
        pending = storage.get_automation_cursor("sales")
        assert (pending.evaluation_id, pending.state, pending.pending) == (0, None, tick)
        assert storage.get_automation_evaluations(ORDERS) == [_record(1)]
        finished = storage.finish_automation_tick("sales", 1)
        assert finished == AutomationCursor("sales", 1, T0 + 1, '{"n": 1}')
        assert storage.get_automation_cursor("sales") == finished
        assert storage.get_automation_cursor("marketing") == AutomationCursor("marketing")

    def test_records_come_newest_first_per_asset(self, storage: Storage) -> None:
        for evaluation_id in (1, 2, 3):
            storage.begin_automation_tick(_tick(evaluation_id))
            storage.finish_automation_tick("sales", evaluation_id)
        assert [r.evaluation_id for r in storage.get_automation_evaluations(ORDERS)] == [3, 2, 1]
        assert len(storage.get_automation_evaluations(ORDERS, limit=2)) == 2
        assert storage.get_automation_evaluations(AssetKey("other")) == []

    def test_records_page_on_from_the_last_one_of_a_page(self, storage: Storage) -> None:
        for evaluation_id in (1, 2, 3):
            storage.begin_automation_tick(_tick(evaluation_id))
            storage.finish_automation_tick("sales", evaluation_id)
        page = storage.get_automation_evaluations(ORDERS, limit=2, before=("sales", 3))
        assert [r.evaluation_id for r in page] == [2, 1]
        assert storage.get_automation_evaluations(ORDERS, before=("sales", 1)) == []
        assert storage.get_automation_evaluations(ORDERS, before=("other", 2)) == []

    def test_ticks_come_newest_first_with_their_records(self, storage: Storage) -> None:
        customers = AssetKey("customers")
        for evaluation_id in (1, 2, 3):
            records = (_record(evaluation_id), _record(evaluation_id, customers))
            tick = AutomationTick("sales", evaluation_id, T0 + evaluation_id, "{}", records)
            storage.begin_automation_tick(tick)
            storage.finish_automation_tick("sales", evaluation_id)
        ticks = storage.get_automation_ticks("sales", limit=2)
        assert [t.evaluation_id for t in ticks] == [3, 2]
        assert ticks[0].timestamp == T0 + 3
        assert {r.asset_key for r in ticks[0].records} == {ORDERS, customers}
        assert [t.evaluation_id for t in storage.get_automation_ticks("sales", before=2)] == [1]
        assert storage.get_automation_ticks("marketing") == []

    def test_a_second_tick_cannot_begin_while_one_is_pending(self, storage: Storage) -> None:
        storage.begin_automation_tick(_tick(1))
        with pytest.raises(InvalidInvocationError, match="evaluation 1 is still pending"):
            storage.begin_automation_tick(_tick(2))
        assert storage.get_automation_evaluations(ORDERS) == [_record(1)]

    def test_a_tick_must_follow_the_latest_finished_one(self, storage: Storage) -> None:
        with pytest.raises(InvalidInvocationError, match="begin evaluation 1"):
            storage.begin_automation_tick(_tick(2))
        assert storage.get_automation_cursor("sales") == AutomationCursor("sales")

    def test_only_the_pending_tick_finishes(self, storage: Storage) -> None:
        with pytest.raises(InvalidInvocationError, match="evaluation 1 is not pending"):
            storage.finish_automation_tick("sales", 1)
        storage.begin_automation_tick(_tick(1))
        with pytest.raises(
            InvalidInvocationError, match=r"evaluation 2 is not pending \(pending: 1\)"
        ):
            storage.finish_automation_tick("sales", 2)

    def test_latest_materialization_ids_come_from_the_index(self, storage: Storage) -> None:
        other = AssetKey("other")

        def event(
            run_id: str, data: AssetMaterialization | AssetObservation, kind: EventType
        ) -> RunEvent:
            return RunEvent(event_type=kind, run_id=run_id, job_name="j", timestamp=T0, data=data)

        storage.store_events(
            [
                event("r1", AssetMaterialization(ORDERS), EventType.ASSET_MATERIALIZATION),
                event("r2", AssetMaterialization(ORDERS), EventType.ASSET_MATERIALIZATION),
                event("r3", AssetObservation(ORDERS), EventType.ASSET_OBSERVATION),
                event("r4", AssetObservation(other), EventType.ASSET_OBSERVATION),
            ]
        )
        latest = storage.get_latest_materialization(ORDERS)
        assert latest is not None
        found = storage.get_latest_materialization_ids([ORDERS, other, AssetKey("never")])
        assert found == {ORDERS: (latest.storage_id, "r2")}
