"""Runs executed with ``instance=``: the run, its events and its status are stored."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from knoll import (
    AssetExecutionContext,
    AssetKey,
    Definitions,
    asset,
    define_asset_job,
    materialize,
    op,
)
from knoll.errors import StorageError, UserCodeError
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import RunsFilter

from .conftest import MakeInstance


@asset
def raw() -> list[int]:
    return [1, 2, 3]


@asset
def total(raw: list[int]) -> int:
    return sum(raw)


@asset
def broken(raw: list[int]) -> int:
    raise ValueError("the data is bad")


def event_types(instance: Instance, run_id: str) -> list[str]:
    return [r.event.event_type.value for r in instance.get_events(run_id).records]


def test_a_successful_run_is_stored_with_its_events(instance: Instance) -> None:
    result = materialize(
        [raw, total], instance=instance, tags={"team": "data"}, run_id="run-success-1"
    )
    record = instance.get_run(result.run_id)
    run = record.run
    assert run.status is RunStatus.SUCCESS
    assert run.tags == {"team": "data"}
    assert run.asset_selection == frozenset({AssetKey("raw"), AssetKey("total")})
    assert record.start_time is not None
    assert record.end_time is not None
    assert record.end_time >= record.start_time
    stored = instance.get_events(result.run_id).records
    # every event of the run, in order, exactly as the run produced them
    assert [r.event for r in stored] == result.all_events
    assert [r.storage_id for r in stored] == sorted(r.storage_id for r in stored)
    assert event_types(instance, result.run_id)[-1] == "RUN_SUCCESS"
    latest = instance.get_latest_materialization(AssetKey("total"))
    assert latest is not None
    assert latest.event.run_id == result.run_id
    assert [r.run.run_id for r in instance.get_runs(RunsFilter(tags={"team": "data"})).records] == [
        result.run_id
    ]


def test_a_failed_run_is_stored_as_failed(instance: Instance) -> None:
    result = materialize([raw, broken], instance=instance, raise_on_error=False)
    assert not result.success
    assert instance.get_run(result.run_id).run.status is RunStatus.FAILURE
    types = event_types(instance, result.run_id)
    assert "STEP_FAILURE" in types
    assert types[-1] == "RUN_FAILURE"
    failures = instance.get_events(result.run_id, of_types=[EventType.STEP_FAILURE]).records
    assert [r.event.step_key for r in failures] == ["broken"]
    failed = instance.get_runs(RunsFilter(statuses=[RunStatus.FAILURE])).records
    assert [r.run.run_id for r in failed] == [result.run_id]


def test_raise_on_error_still_records_the_failure(instance: Instance) -> None:
    with pytest.raises(UserCodeError, match="the data is bad"):
        materialize([raw, broken], instance=instance, run_id="run-raises-1")
    assert instance.get_run("run-raises-1").run.status is RunStatus.FAILURE


def test_an_interrupted_run_is_canceled(instance: Instance) -> None:
    @asset
    def interrupted() -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        materialize([interrupted], instance=instance, run_id="run-interrupted")
    assert instance.get_run("run-interrupted").run.status is RunStatus.CANCELED
    assert event_types(instance, "run-interrupted")[-1] == "RUN_CANCELED"


def test_step_events_can_be_read_per_step_and_from_a_cursor(instance: Instance) -> None:
    result = materialize([raw, total], instance=instance)
    total_events = instance.get_events(result.run_id, step_key="total").records
    assert {r.event.step_key for r in total_events} == {"total"}
    first = instance.get_events(result.run_id, limit=3)
    assert len(first.records) == 3
    assert first.has_more
    rest = instance.get_events(result.run_id, after=first.cursor).records
    assert [r.event for r in [*first.records, *rest]] == result.all_events


def test_a_job_run_is_stored_under_its_name(instance: Instance) -> None:
    defs = Definitions(assets=[raw, total], jobs=[define_asset_job("nightly", selection="*")])
    result = defs.get_job_def("nightly").execute_in_process(instance=instance)
    record = instance.get_run(result.run_id)
    assert record.run.job_name == "nightly"
    assert instance.get_runs(RunsFilter(job_name="nightly")).records == [record]


def test_op_job_runs_are_stored_too(instance: Instance) -> None:
    @op
    def hello() -> str:
        return "hi"

    from knoll import job

    @job
    def greet() -> None:
        hello()

    result = greet.execute_in_process(instance=instance)
    assert instance.get_run(result.run_id).run.status is RunStatus.SUCCESS


def test_the_context_sees_the_instance(instance: Instance) -> None:
    seen: list[object] = []

    @asset
    def looks(context: AssetExecutionContext) -> None:
        seen.append(context.instance)

    materialize([looks], instance=instance)
    assert seen == [instance]


def test_a_run_id_that_exists_fails_before_anything_runs(instance: Instance) -> None:
    materialize([raw], instance=instance, run_id="run-taken")
    before = instance.get_events("run-taken").records
    calls: list[int] = []

    @asset(key="raw")
    def raw_again() -> list[int]:
        calls.append(1)
        return [9]

    with pytest.raises(StorageError, match="run run-taken is stored already"):
        materialize([raw_again], instance=instance, run_id="run-taken")
    assert calls == []
    assert instance.get_events("run-taken").records == before
    assert instance.count_runs() == 1


def test_a_database_that_is_down_leaves_no_run(make_instance: MakeInstance, tmp_path: Path) -> None:
    instance = make_instance("sqlite")
    materialize([raw], instance=instance)
    broken_home = tmp_path / "down"
    broken_home.mkdir()
    (broken_home / "knoll.yaml").write_text(
        "storage:\n  postgres:\n    url: postgresql://postgres@127.0.0.1:9/none\n"
    )
    down = Instance.get(broken_home)
    calls: list[int] = []

    @asset
    def counted() -> int:
        calls.append(1)
        return 1

    with pytest.raises(StorageError, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1:9/none"):
        materialize([counted], instance=down)
    assert calls == []


# ---- finding runs --------------------------------------------------------------------------


def test_get_run_takes_a_unique_prefix(instance: Instance) -> None:
    result = materialize([raw], instance=instance)
    assert instance.get_run(result.run_id[:8]).run.run_id == result.run_id


def test_get_run_errors(instance: Instance) -> None:
    where = instance.settings.storage.describe()
    with pytest.raises(StorageError, match=r"no run 'nope': .* has no runs yet"):
        instance.get_run("nope")
    for run_id in ("abcd-0001", "abcd-0002"):
        materialize([raw], instance=instance, run_id=run_id)
    with pytest.raises(
        StorageError,
        match=r"run id prefix 'abcd' matches 2 runs \(abcd-0002, abcd-0001\)\. Give more "
        r"characters of the run id\.",
    ):
        instance.get_run("abcd")
    with pytest.raises(StorageError, match=r"Did you mean 'abcd-0001'"):
        instance.get_run("abcd-0011")
    materialize([raw], instance=instance, run_id="xyz-1")
    with pytest.raises(
        StorageError, match=r"Did you mean 'xyz-1'\? A run id prefix needs at least"
    ):
        instance.get_run("xy")
    with pytest.raises(StorageError) as info:
        instance.get_run("zzzzzzzz")
    assert f"no run 'zzzzzzzz' in {where}." in str(info.value)


def test_delete_run_deletes_its_logs(instance: Instance) -> None:
    @asset
    def chatty() -> None:
        print("something")

    result = materialize([chatty], instance=instance)
    assert instance.compute_logs.has_logs(result.run_id)
    instance.delete_run(result.run_id)
    assert not instance.compute_logs.has_logs(result.run_id)
    with pytest.raises(StorageError, match="no run"):
        instance.get_run(result.run_id)


# ---- several processes at once -------------------------------------------------------------


def test_processes_materializing_into_one_sqlite_instance(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from knoll import asset, materialize
            from knoll.instance import Instance

            @asset
            def shared() -> int:
                print("worker", sys.argv[2])
                return int(sys.argv[2])

            with Instance.get(sys.argv[1]) as instance:
                for i in range(5):
                    materialize([shared], instance=instance, run_id=f"w{sys.argv[2]}-{i}")
            """
        )
    )
    home = tmp_path / "home"
    Instance.get(home).get_runs()  # create the database once, as `knoll dev` would
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(home), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    outcomes = [w.communicate(timeout=240) for w in workers]
    for worker, (_, err) in zip(workers, outcomes, strict=True):
        assert worker.returncode == 0, err
        assert "locked" not in err
    with Instance.get(home) as instance:
        assert instance.count_runs() == 40
        assert instance.count_runs(RunsFilter(statuses=[RunStatus.SUCCESS])) == 40
        (record,) = instance.get_asset_records([AssetKey("shared")])
        assert record.materialization_count == 40
        assert len(instance.get_materializations(AssetKey("shared"), limit=100)) == 40
        for n in range(8):
            logs = instance.compute_logs.read(f"w{n}-4", "shared", stream="stdout")
            assert logs == f"worker {n}\n"
