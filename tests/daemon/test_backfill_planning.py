"""Backfills launched against a real code server and advanced by the daemon's pass, on SQLite
and PostgreSQL: partition mappings, upstream before downstream, policies, job backfills,
failures that skip downstream partitions, cancel and resume."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.daemon.backfill import (
    BackfillRequest,
    BackfillSubmitter,
    backfill_progress,
    cancel_backfill,
    launch_backfill,
    resume_backfill,
)
from knoll.errors import CodeServerError, InvalidInvocationError, WorkspaceError
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance
from knoll.instance.launcher import LaunchRequest
from knoll.storage.base import Backfill, BackfillStatus
from tests.daemon.helpers import assets_of, backfill_runs, end_run, partitions_of

FIRST_DAY = ("2024-01-01-00:00", "2024-01-01-23:00")
WEEK = ("2024-01-01", "2024-01-07")


def _status(instance: Instance, backfill: Backfill) -> BackfillStatus:
    stored = instance.storage.get_backfill(backfill.backfill_id)
    assert stored is not None
    return stored.status


def _end_all(instance: Instance, backfill: Backfill, status: RunStatus = RunStatus.SUCCESS) -> None:
    for run in backfill_runs(instance, backfill.backfill_id, statuses=[RunStatus.QUEUED]):
        end_run(instance, run.run_id, status)


def test_daily_downstream_of_hourly_waits_for_its_hours(
    instance: Instance, client: CodeServerClient
) -> None:
    request = BackfillRequest(selection="clicks, daily_clicks", partition_range=FIRST_DAY)
    backfill = launch_backfill(instance, client, request)
    assert _status(instance, backfill) is BackfillStatus.REQUESTED
    submitter = BackfillSubmitter(instance)
    submitter.one_pass()
    runs = backfill_runs(instance, backfill.backfill_id)
    assert [assets_of(r) for r in runs] == ["clicks"] * 24  # the day waits for its hours
    assert {r.status for r in runs} == {RunStatus.QUEUED}
    assert runs[0].tags["knoll/partition"] == "2024-01-01-00:00"
    assert runs[0].tags["knoll/location"] == "warehouse"
    assert runs[0].job_name == "__asset_job"
    for run in runs[:23]:
        end_run(instance, run.run_id, RunStatus.SUCCESS)
    submitter.one_pass()
    assert len(backfill_runs(instance, backfill.backfill_id)) == 24  # one hour still runs
    end_run(instance, runs[23].run_id, RunStatus.SUCCESS)
    submitter.one_pass()
    runs = backfill_runs(instance, backfill.backfill_id)
    assert [(assets_of(r), partitions_of(r)) for r in runs[24:]] == [("daily_clicks", "2024-01-01")]
    assert _status(instance, backfill) is BackfillStatus.REQUESTED
    end_run(instance, runs[24].run_id, RunStatus.SUCCESS)
    submitter.one_pass()
    assert _status(instance, backfill) is BackfillStatus.COMPLETED
    progress = backfill_progress(instance, backfill.backfill_id)
    assert [(g.name, g.partitions["materialized"]) for g in progress.groups] == [
        ("clicks", 24),
        ("daily_clicks", 1),
    ]
    assert progress.groups[1].run_ids["materialized"] == (runs[24].run_id,)


def test_the_partitions_of_downstream_assets_come_from_the_mappings(
    instance: Instance, client: CodeServerClient
) -> None:
    # two days and one hour of the third: the mapping gives the three days it touches
    request = BackfillRequest(
        selection="clicks+", partition_range=("2024-01-01-00:00", "2024-01-02-00:00")
    )
    backfill = launch_backfill(instance, client, request)
    groups = backfill.body["groups"]
    assert [(g["name"], g["segments"]) for g in groups] == [
        ("clicks", [["2024-01-01-00:00", "2024-01-02-00:00"]]),
        ("daily_clicks", [["2024-01-01", "2024-01-02"]]),
    ]


def test_policies_split_the_partitions_into_runs(
    instance: Instance, client: CodeServerClient
) -> None:
    request = BackfillRequest(selection="daily_report, daily_scores", partition_range=WEEK)
    backfill = launch_backfill(instance, client, request)
    BackfillSubmitter(instance).one_pass()
    made = sorted(
        (assets_of(r), partitions_of(r)) for r in backfill_runs(instance, backfill.backfill_id)
    )
    assert made == [
        ("daily_report", "2024-01-01...2024-01-07"),  # single_run()
        ("daily_scores", "2024-01-01...2024-01-03"),  # multi_run(3)
        ("daily_scores", "2024-01-04...2024-01-06"),
        ("daily_scores", "2024-01-07"),
    ]


def test_separate_partitions_become_separate_ranges(
    instance: Instance, client: CodeServerClient
) -> None:
    request = BackfillRequest(
        selection="daily_report", partition_keys=["2024-01-01", "2024-01-02", "2024-01-05"]
    )
    backfill = launch_backfill(instance, client, request)
    BackfillSubmitter(instance).one_pass()
    made = [partitions_of(r) for r in backfill_runs(instance, backfill.backfill_id)]
    assert made == ["2024-01-01...2024-01-02", "2024-01-05"]


def test_a_job_backfill_runs_each_partition_of_the_job(
    instance: Instance, client: CodeServerClient
) -> None:
    request = BackfillRequest(job_name="daily_job", partition_range=("2024-01-02", "2024-01-04"))
    backfill = launch_backfill(instance, client, request)
    BackfillSubmitter(instance).one_pass()
    runs = backfill_runs(instance, backfill.backfill_id)
    assert [(r.job_name, partitions_of(r)) for r in runs] == [
        ("daily_job", "2024-01-02"),
        ("daily_job", "2024-01-03"),
        ("daily_job", "2024-01-04"),
    ]


def test_a_job_whose_config_depends_on_the_partition_has_each_run_built(
    instance: Instance, client: CodeServerClient
) -> None:
    request = BackfillRequest(job_name="zones", all_partitions=True)
    backfill = launch_backfill(instance, client, request)
    assert backfill.body["groups"][0]["template"] is None
    with pytest.raises(WorkspaceError, match="built by the code server of location 'warehouse'"):
        BackfillSubmitter(instance).one_pass()
    assert backfill_runs(instance, backfill.backfill_id) == []
    failed = instance.storage.get_backfill(backfill.backfill_id)
    assert failed is not None
    assert failed.body["error"].startswith("WorkspaceError: backfill ")  # for `show`
    asked: list[str] = []

    def build(launch: LaunchRequest, location: str) -> Run:
        asked.append(location)
        return client.build_run(launch, str(instance.home))

    BackfillSubmitter(instance, build).one_pass()
    runs = backfill_runs(instance, backfill.backfill_id)
    assert [r.run_config["ops"]["load_zone"]["config"]["zone"] for r in runs] == ["north", "south"]
    assert [r.status for r in runs] == [RunStatus.QUEUED] * 2
    assert asked == ["warehouse"] * 2
    stored = instance.storage.get_backfill(backfill.backfill_id)
    assert stored is not None
    assert stored.body["error"] is None


def test_from_and_to_pick_the_time_partitions_between(
    instance: Instance, client: CodeServerClient
) -> None:
    from datetime import datetime

    window = (datetime(2024, 1, 2), datetime(2024, 1, 4))
    backfill = launch_backfill(
        instance, client, BackfillRequest(selection="daily_scores", time_window=window)
    )
    assert backfill.body["groups"][0]["segments"] == [["2024-01-02", "2024-01-03"]]


def test_a_failed_upstream_partition_skips_its_downstream_partition_and_resume_retries(
    instance: Instance, client: CodeServerClient
) -> None:
    request = BackfillRequest(selection="fragile+", all_partitions=True, tags={"team": "ops"})
    backfill = launch_backfill(instance, client, request)
    submitter = BackfillSubmitter(instance)
    submitter.one_pass()
    fragile = {partitions_of(r): r for r in backfill_runs(instance, backfill.backfill_id)}
    assert sorted(fragile) == ["asia", "eu", "us"]
    assert fragile["eu"].tags["team"] == "ops"
    end_run(instance, fragile["eu"].run_id, RunStatus.SUCCESS)
    end_run(instance, fragile["asia"].run_id, RunStatus.SUCCESS)
    end_run(instance, fragile["us"].run_id, RunStatus.FAILURE)
    submitter.one_pass()
    _end_all(instance, backfill)
    submitter.one_pass()
    assert _status(instance, backfill) is BackfillStatus.FAILED
    progress = backfill_progress(instance, backfill.backfill_id)
    counts = {g.name: dict(g.partitions) for g in progress.groups}
    assert counts["fragile"]["failed"] == 1
    assert counts["after_fragile"] == {**counts["after_fragile"], "materialized": 2, "skipped": 1}
    assert progress.groups[0].run_ids["failed"] == (fragile["us"].run_id,)

    assert resume_backfill(instance, backfill.backfill_id) == 2  # fragile us, after_fragile us
    submitter.one_pass()
    again = backfill_runs(instance, backfill.backfill_id, statuses=[RunStatus.QUEUED])
    assert [(assets_of(r), partitions_of(r)) for r in again] == [("fragile", "us")]
    assert again[0].run_id != fragile["us"].run_id  # a new attempt, a new run
    end_run(instance, again[0].run_id, RunStatus.SUCCESS)
    submitter.one_pass()
    _end_all(instance, backfill)
    submitter.one_pass()
    assert _status(instance, backfill) is BackfillStatus.COMPLETED
    assert len(backfill_runs(instance, backfill.backfill_id)) == 7


def test_cancel_mid_way_then_resume(instance: Instance, client: CodeServerClient) -> None:
    request = BackfillRequest(selection="daily_scores, clicks", all_partitions=True)
    backfill = launch_backfill(instance, client, request)
    submitter = BackfillSubmitter(instance, batch=10)
    submitter.one_pass(keep=lambda: False)  # the lease is lost after the first batch
    first = backfill_runs(instance, backfill.backfill_id)
    assert len(first) == 10
    end_run(instance, first[0].run_id, RunStatus.SUCCESS)
    assert cancel_backfill(instance, backfill.backfill_id).status is BackfillStatus.CANCELING
    submitter.one_pass()
    assert _status(instance, backfill) is BackfillStatus.CANCELED
    statuses = [r.status for r in backfill_runs(instance, backfill.backfill_id)]
    assert statuses == [RunStatus.SUCCESS] + [RunStatus.CANCELED] * 9
    with pytest.raises(InvalidInvocationError, match="is CANCELED: only a requested backfill"):
        cancel_backfill(instance, backfill.backfill_id)
    # 48 hours and 3 runs of daily_scores, one of them done
    assert resume_backfill(instance, backfill.backfill_id) == 48 + 7 - 1
    submitter.one_pass()
    runs = backfill_runs(instance, backfill.backfill_id)
    assert len(runs) == 10 + 48 + 3 - 1
    queued = [r for r in runs if r.status is RunStatus.QUEUED]
    assert len({(assets_of(r), partitions_of(r)) for r in queued}) == len(queued) == 50
    with pytest.raises(InvalidInvocationError, match="is REQUESTED, so there is nothing to resume"):
        resume_backfill(instance, backfill.backfill_id)


def test_a_daemon_killed_between_storing_runs_and_progress_never_makes_a_run_twice(
    instance: Instance, client: CodeServerClient
) -> None:
    backfill = launch_backfill(
        instance, client, BackfillRequest(selection="clicks", all_partitions=True)
    )
    worker = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.daemon.crash_worker",
            str(instance.home),
            backfill.backfill_id,
            "3",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr
    stored = instance.storage.get_backfill(backfill.backfill_id)
    assert stored is not None
    assert stored.body["groups"][0]["states"].count("s") == 20  # the third batch not recorded
    assert len(backfill_runs(instance, backfill.backfill_id)) == 30  # but its runs stored
    BackfillSubmitter(instance, batch=10).one_pass()
    runs = backfill_runs(instance, backfill.backfill_id)
    assert len(runs) == 48
    assert len({partitions_of(r) for r in runs}) == 48


def test_the_code_server_resolves_asset_selections(client: CodeServerClient) -> None:
    assert [k.to_user_string() for k in client.resolve_selection("clicks+")] == [
        "clicks",
        "daily_clicks",
    ]
    with pytest.raises(CodeServerError, match="cannot resolve asset selection 'clikcs' in"):
        client.resolve_selection("clikcs")
