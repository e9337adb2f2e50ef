"""One pass of the ``run_retries`` duty, on SQLite and PostgreSQL, against a real code server:
failed runs get one retry each (derived ids), queued, counted along their root run."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.workspace import WorkspaceProcesses
from knoll.daemon.retries import (
    CURSOR_KEY,
    RETRIES_EXHAUSTED_TAG,
    RETRY_NUMBER_TAG,
    RETRY_RUN_ID_TAG,
    RetryReport,
    retry_pass,
    retry_run_id,
)
from knoll.defs.keys import AssetKey
from knoll.errors import CodeServerError
from knoll.execution.events import EventType
from knoll.execution.reexecution import PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.instance.config import RunRetrySettings
from knoll.instance.launcher import LaunchRequest, ReexecutionRequest, RunLauncher
from knoll.instance.queue import dequeue
from knoll.storage.base import RunsFilter
from tests.daemon.retry_helpers import drain, executions, finished, run_job
from tests.instance.conftest import MakeInstance

RETRIES = RunRetrySettings(enabled=True, max_retries=3)


@pytest.fixture(params=["sqlite", "postgres"])
def instance(request: pytest.FixtureRequest, make_instance: MakeInstance) -> Instance:
    return make_instance(str(request.param))


@pytest.fixture
def client(retry_server: WorkspaceProcesses) -> CodeServerClient:
    """The code server of the retries project (not the backfill tests' ``client``)."""
    return retry_server.client("retries")


@pytest.fixture
def launcher(instance: Instance, client: CodeServerClient) -> RunLauncher:
    launcher = RunLauncher(instance, client, heartbeat_interval=0.5)
    retry_pass(instance, launcher, RETRIES)  # the first pass: from now on failures are retried
    return launcher


def _messages(instance: Instance, run_id: str) -> list[str]:
    return [r.event.message for r in instance.get_events(run_id).records]


def test_a_failed_run_is_retried_from_failure_and_the_retry_succeeds(
    instance: Instance, launcher: RunLauncher, steps_dir: Path
) -> None:
    failed = run_job(instance, launcher, "flaky_job").run
    assert failed.status is RunStatus.FAILURE

    report = retry_pass(instance, launcher, RETRIES)

    retry_id = retry_run_id(failed.run_id)
    assert report.retried == [(failed.run_id, retry_id)]
    retry = instance.get_run(retry_id).run
    assert retry.status is RunStatus.QUEUED  # through the queue, so its limits hold
    assert retry.parent_run_id == retry.root_run_id == failed.run_id
    assert retry.tags[PARENT_RUN_ID_TAG] == retry.tags[ROOT_RUN_ID_TAG] == failed.run_id
    assert retry.tags[RETRY_NUMBER_TAG] == "1"
    assert retry.tags["knoll/location"] == "retries"
    assert retry.asset_selection == frozenset({AssetKey("flaky"), AssetKey("last")})
    assert instance.get_run(failed.run_id).run.tags[RETRY_RUN_ID_TAG] == retry_id
    assert (
        f"run {failed.run_id} failed; retry 1 of 3 is queued as run {retry_id} (FROM_FAILURE)"
        in _messages(instance, failed.run_id)
    )

    [done] = drain(instance, launcher)
    assert done.run.run_id == retry_id
    assert done.run.status is RunStatus.SUCCESS
    counts = [executions(steps_dir, step) for step in ("first", "flaky", "last")]
    assert counts == [1, 2, 1]  # first was not re-run: its output was loaded
    assert retry_pass(instance, launcher, RETRIES).retried == []  # a success is not retried


def test_another_pass_or_a_restarted_daemon_never_makes_a_second_retry(
    instance: Instance, launcher: RunLauncher
) -> None:
    failed = run_job(instance, launcher, "flaky_job").run
    assert retry_pass(instance, launcher, RETRIES).retried == [
        (failed.run_id, retry_run_id(failed.run_id))
    ]
    assert retry_pass(instance, launcher, RETRIES).retried == []
    # a daemon that died before it stored its cursor reads the same failure again
    instance.storage.kv_set({CURSOR_KEY: "0"})
    again = retry_pass(instance, launcher, RETRIES)
    assert again.retried == []
    assert again.pending == []
    retries = instance.get_runs(RunsFilter(tags={PARENT_RUN_ID_TAG: failed.run_id})).records
    assert [r.run.run_id for r in retries] == [retry_run_id(failed.run_id)]
    logs = [
        m for m in _messages(instance, failed.run_id) if m.startswith(f"run {failed.run_id} failed")
    ]
    assert len(logs) == 1


def test_the_all_steps_strategy_re_executes_every_step(
    instance: Instance, launcher: RunLauncher, steps_dir: Path
) -> None:
    failed = run_job(instance, launcher, "flaky_all_steps").run
    [(_, retry_id)] = retry_pass(instance, launcher, RETRIES).retried
    assert instance.get_run(retry_id).run.asset_selection == frozenset(
        {AssetKey("first"), AssetKey("flaky"), AssetKey("last")}
    )
    assert "(ALL_STEPS)" in _messages(instance, failed.run_id)[-1]
    [done] = drain(instance, launcher)
    assert done.run.status is RunStatus.SUCCESS
    assert [executions(steps_dir, step) for step in ("first", "flaky", "last")] == [2, 2, 1]


def test_an_op_job_retry_reads_the_outputs_of_the_steps_that_succeeded(
    instance: Instance, launcher: RunLauncher, steps_dir: Path
) -> None:
    failed = run_job(instance, launcher, "op_chain").run
    assert failed.status is RunStatus.FAILURE
    retry_pass(instance, launcher, RETRIES)
    [done] = drain(instance, launcher)
    assert done.run.status is RunStatus.SUCCESS, _messages(instance, done.run.run_id)
    counts = [executions(steps_dir, step) for step in ("produce", "flaky_op", "consume")]
    assert counts == [1, 2, 1]
    assert (steps_dir / "consumed").read_text() == "21"  # produce's 20, from the failed run


def test_retries_stop_at_max_retries_and_the_last_run_says_so(
    instance: Instance, launcher: RunLauncher, steps_dir: Path
) -> None:
    root = run_job(instance, launcher, "broken_job").run  # tagged knoll/max_retries=2
    chain = [root.run_id]
    for number in (1, 2):
        [(parent, retry_id)] = retry_pass(instance, launcher, RETRIES).retried
        assert parent == chain[-1]
        [done] = drain(instance, launcher)
        assert done.run.status is RunStatus.FAILURE
        assert done.run.tags[RETRY_NUMBER_TAG] == str(number)
        assert done.run.root_run_id == root.run_id
        chain.append(retry_id)

    report = retry_pass(instance, launcher, RETRIES)

    assert report.retried == []
    assert report.exhausted == [chain[-1]]
    last = instance.get_run(chain[-1]).run
    assert last.tags[RETRIES_EXHAUSTED_TAG] == "true"
    assert _messages(instance, chain[-1])[-1] == (
        f"run {chain[-1]} failed and is not retried: its root run {root.run_id} has had its 2 "
        "retries (knoll/max_retries or run_retries:max_retries of knoll.yaml). Fix the cause, "
        f"then re-execute it with `knoll run reexecute {chain[-1]} --from-failure`."
    )
    assert executions(steps_dir, "broken") == 3
    assert retry_pass(instance, launcher, RETRIES).exhausted == []  # said once


def test_a_retry_that_cannot_be_built_is_made_at_a_later_pass(
    instance: Instance, launcher: RunLauncher, tmp_path: Path
) -> None:
    failed = run_job(instance, launcher, "flaky_job").run
    down = RunLauncher(instance, CodeServerClient(socket_path=str(tmp_path / "gone.sock")))

    report = retry_pass(instance, down, RETRIES)

    [(run_id, why)] = report.pending
    assert run_id == failed.run_id
    assert "gone.sock" in why
    assert report.retried == []
    assert retry_pass(instance, down, RETRIES).pending[0][0] == failed.run_id  # still there
    assert retry_pass(instance, launcher, RETRIES).retried == [
        (failed.run_id, retry_run_id(failed.run_id))
    ]
    assert retry_pass(instance, launcher, RETRIES).pending == []


def test_without_retry_on_step_failure_only_runs_that_failed_otherwise_are_retried(
    instance: Instance, launcher: RunLauncher, tmp_path: Path
) -> None:
    settings = RunRetrySettings(enabled=True, max_retries=1, retry_on_asset_or_op_failure=False)
    step_failed = run_job(instance, launcher, "flaky_job").run
    # a run that could not start: its code server is gone when the queue launches it
    queued = launcher.launch_run(LaunchRequest(job_name="flaky_job"), queue=True)
    down = RunLauncher(instance, CodeServerClient(socket_path=str(tmp_path / "gone.sock")))
    dequeue(instance, down.launch_queued_run)
    not_started = finished(instance, queued.run.run_id).run
    assert not_started.status is RunStatus.FAILURE
    assert instance.step_failure_events(not_started.run_id) == []

    report = retry_pass(instance, launcher, settings)

    assert report.retried == [(not_started.run_id, retry_run_id(not_started.run_id))]
    assert report.skipped == [
        (
            step_failed.run_id,
            "a step failed, and run_retries:retry_on_asset_or_op_failure is false",
        )
    ]


def test_runs_that_failed_before_the_first_pass_are_not_retried(
    make_instance: MakeInstance, client: CodeServerClient
) -> None:
    instance = make_instance("sqlite")
    launcher = RunLauncher(instance, client, heartbeat_interval=0.5)
    before = run_job(instance, launcher, "broken_job").run
    assert retry_pass(instance, launcher, RETRIES).retried == []
    after = run_job(instance, launcher, "broken_job").run
    assert retry_pass(instance, launcher, RETRIES).retried == [
        (after.run_id, retry_run_id(after.run_id))
    ]
    assert RETRY_RUN_ID_TAG not in instance.get_run(before.run_id).run.tags


def test_a_bad_max_retries_tag_is_named_and_the_setting_used(
    make_instance: MakeInstance, client: CodeServerClient, caplog: pytest.LogCaptureFixture
) -> None:
    instance = make_instance("sqlite")
    launcher = RunLauncher(instance, client, heartbeat_interval=0.5)
    retry_pass(instance, launcher, RETRIES)
    record = launcher.launch_run(
        LaunchRequest(
            job_name="flaky_job",
            tags={"knoll/max_retries": "lots", "knoll/retry_strategy": "SOME"},
        )
    )
    failed = finished(instance, record.run.run_id).run
    with caplog.at_level(logging.WARNING, logger="knoll.daemon.run_retries"):
        report = retry_pass(instance, launcher, RETRIES)
    assert report.retried == [(failed.run_id, retry_run_id(failed.run_id))]
    assert (
        f"run {failed.run_id} has tag knoll/max_retries='lots', which is not a number of "
        "retries: run_retries:max_retries (3) is used. Write a whole number such as '3', or "
        "'0' for no retries."
    ) in caplog.messages
    assert (
        f"run {failed.run_id} has tag knoll/retry_strategy='SOME', which is not a retry "
        "strategy: FROM_FAILURE is used. Write FROM_FAILURE or ALL_STEPS."
    ) in caplog.messages
    last = instance.get_events(failed.run_id).records[-1].event
    assert last.event_type is EventType.LOG_MESSAGE


def test_the_code_server_says_why_a_re_execution_cannot_be_built(
    instance: Instance, client: CodeServerClient
) -> None:
    with pytest.raises(CodeServerError) as raised:
        client.build_reexecution(ReexecutionRequest("r-404"), str(instance.home))
    assert str(raised.value).startswith(
        "cannot re-execute run r-404 in location 'retries': there is no run r-404 in "
    )
    assert str(raised.value).endswith(
        " to re-execute: give the id of a run this instance recorded (`knoll run list` shows them)."
    )


def test_two_passes_at_once_store_one_retry(
    instance: Instance, launcher: RunLauncher, client: CodeServerClient
) -> None:
    failed = run_job(instance, launcher, "broken_job").run
    assert instance.home is not None
    reports: list[RetryReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def one_daemon() -> None:
        # another process's view of the same instance: its own storage connections
        with Instance.get(instance.home) as other:
            start.wait()
            try:
                reports.append(retry_pass(other, RunLauncher(other, client), RETRIES))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=one_daemon) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [pair for report in reports for pair in report.retried] == [
        (failed.run_id, retry_run_id(failed.run_id))
    ]
    retries = instance.get_runs(RunsFilter(tags={PARENT_RUN_ID_TAG: failed.run_id})).records
    assert len(retries) == 1
    queued = [m for m in _messages(instance, failed.run_id) if "is queued as run" in m]
    assert len(queued) == 1
