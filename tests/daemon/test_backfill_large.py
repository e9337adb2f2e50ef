"""A backfill of 100,000 partitions on SQLite: planned and queued in batches, the run queue's
limits hold, and it can be canceled mid-way and resumed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target
from knoll.daemon.backfill import (
    BACKFILL_TAG,
    BackfillRequest,
    BackfillSubmitter,
    cancel_backfill,
    launch_backfill,
    resume_backfill,
)
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.instance.queue import dequeue
from knoll.storage.base import BackfillStatus, RunRecord, RunsFilter
from tests.instance.conftest import MakeInstance

PARTITIONS = 100_000
STOP_AFTER_BATCHES = 10


@pytest.fixture
def big_client(tmp_path: Path) -> Iterator[CodeServerClient]:
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(Path(__file__).with_name("big_project.py"), code / "big.py")
    target = CodeLocationTarget(module_name="big", working_directory=str(code))
    with start_workspace(workspace_from_target(target, "big"), timeout=60) as processes:
        yield processes.client("big")


def _count(instance: Instance, backfill_id: str, *statuses: RunStatus) -> int:
    return instance.storage.count_runs(
        RunsFilter(tags={BACKFILL_TAG: backfill_id}, statuses=list(statuses) or None)
    )


def test_a_100000_partition_backfill(
    make_instance: MakeInstance, big_client: CodeServerClient
) -> None:
    instance = make_instance("sqlite", "run_queue:\n  max_concurrent_runs: 3\n")
    request = BackfillRequest(selection="history", all_partitions=True)
    backfill = launch_backfill(instance, big_client, request)
    bid = backfill.backfill_id
    submitter = BackfillSubmitter(instance)
    batches = 0

    def keep() -> bool:  # the lease is lost after some batches: the pass stops there
        nonlocal batches
        batches += 1
        return batches < STOP_AFTER_BATCHES

    submitter.one_pass(keep)
    queued = STOP_AFTER_BATCHES * 1000
    assert _count(instance, bid) == _count(instance, bid, RunStatus.QUEUED) == queued

    started: list[RunRecord] = []
    assert len(dequeue(instance, started.append)) == 3  # max_concurrent_runs
    assert dequeue(instance, started.append) == []  # full: the three have not finished

    cancel_backfill(instance, bid)
    submitter.one_pass()
    stored = instance.storage.get_backfill(bid)
    assert stored is not None
    assert stored.status is BackfillStatus.CANCELED
    assert _count(instance, bid, RunStatus.CANCELED) == queued - 3
    assert _count(instance, bid, RunStatus.STARTING) == 3  # started runs finish on their own

    # the canceled partitions and those never requested; the three started are in progress
    assert resume_backfill(instance, bid) == PARTITIONS - 3
    submitter.one_pass()
    assert _count(instance, bid) == queued + PARTITIONS - 3
    assert _count(instance, bid, RunStatus.QUEUED) == PARTITIONS - 3
    stored = instance.storage.get_backfill(bid)
    assert stored is not None
    assert stored.body["groups"][0]["states"] == "s" * PARTITIONS  # every one submitted
    assert dequeue(instance, started.append) == []  # the limit still holds
