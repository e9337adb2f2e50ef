"""The run queue: dequeue order, max_concurrent_runs, tag limits, the lease, and a drain of
200 runs by two dequeuer processes at once."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from knoll.errors import InvalidConfigError, InvalidInvocationError
from knoll.execution.run import Run, RunStatus, new_run_id
from knoll.instance import Instance
from knoll.instance.config import RunQueueSettings, TagConcurrencyLimit, parse_settings
from knoll.instance.queue import dequeue, submit_run
from knoll.storage.base import RunRecord, RunsFilter
from tests.instance.conftest import MakeInstance

REPO = Path(__file__).resolve().parents[2]
DRAIN_RUNS = 200
DRAIN_YAML = """
run_queue:
  max_concurrent_runs: 5
  tag_concurrency_limits:
    - {key: db, value: warehouse, limit: 2}
"""


def _submit(instance: Instance, run_id: str, **tags: str) -> None:
    submit_run(instance, Run(run_id, "job", tags=tags))


def _status(instance: Instance, run_id: str) -> RunStatus:
    return instance.get_run(run_id).run.status


class Recorder:
    def __init__(self) -> None:
        self.launched: list[str] = []

    def __call__(self, record: RunRecord) -> None:
        assert record.run.status is RunStatus.STARTING
        self.launched.append(record.run.run_id)


# ---- one dequeue pass ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_priority_then_fifo_up_to_max_concurrent_runs(
    make_instance: MakeInstance, backend: str
) -> None:
    instance = make_instance(backend, "run_queue:\n  max_concurrent_runs: 3\n")
    _submit(instance, "low", **{"knoll/priority": "-5"})
    _submit(instance, "first")
    _submit(instance, "urgent", **{"knoll/priority": "10"})
    _submit(instance, "second")
    launch = Recorder()
    assert dequeue(instance, launch) == ["urgent", "first", "second"]
    assert launch.launched == ["urgent", "first", "second"]
    assert _status(instance, "low") is RunStatus.QUEUED
    # full: nothing more starts until a run finishes
    assert dequeue(instance, launch) == []
    instance.storage.update_run_status("first", RunStatus.FAILURE)
    assert dequeue(instance, launch) == ["low"]


def test_a_run_held_back_by_a_tag_limit_does_not_block_the_runs_behind_it() -> None:
    instance = Instance.ephemeral()
    settings = RunQueueSettings(
        max_concurrent_runs=10,
        tag_concurrency_limits=(TagConcurrencyLimit("db", 2, value="warehouse"),),
    )
    for i in range(3):
        _submit(instance, f"db{i}", db="warehouse")
    _submit(instance, "other-db", db="lake")
    _submit(instance, "untagged")
    started = dequeue(instance, Recorder(), settings=settings)
    assert started == ["db0", "db1", "other-db", "untagged"]
    assert _status(instance, "db2") is RunStatus.QUEUED
    instance.storage.update_run_status("db0", RunStatus.CANCELED)
    assert dequeue(instance, Recorder(), settings=settings) == ["db2"]


def test_limits_per_unique_value_and_per_key() -> None:
    instance = Instance.ephemeral()
    settings = RunQueueSettings(
        max_concurrent_runs=-1,
        tag_concurrency_limits=(
            TagConcurrencyLimit("team", 1, per_unique_value=True),
            TagConcurrencyLimit("region", 2),
        ),
    )
    for run_id, team in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("c1", "c")]:
        _submit(instance, run_id, team=team)
    for i in range(3):
        _submit(instance, f"r{i}", region=f"eu-{i}")
    started = dequeue(instance, Recorder(), settings=settings)
    assert started == ["a1", "b1", "c1", "r0", "r1"]


def test_a_run_that_cannot_be_launched_fails_and_the_others_start() -> None:
    instance = Instance.ephemeral()
    _submit(instance, "bad")
    _submit(instance, "good")

    def launch(record: RunRecord) -> None:
        if record.run.run_id == "bad":
            raise RuntimeError("no worker")

    assert dequeue(instance, launch) == ["good"]
    assert _status(instance, "bad") is RunStatus.FAILURE


def test_nothing_is_dequeued_while_another_dequeuer_holds_the_lease() -> None:
    instance = Instance.ephemeral()
    _submit(instance, "r1")
    assert instance.storage.acquire_queue_lease("other", 60)
    assert dequeue(instance, Recorder(), owner="me") == []
    instance.storage.release_queue_lease("other")
    assert dequeue(instance, Recorder(), owner="me") == ["r1"]
    # a pass gives the lease back when it is done
    assert instance.storage.acquire_queue_lease("other", 60)


def test_only_queued_runs_with_integer_priorities_are_submitted() -> None:
    instance = Instance.ephemeral()
    with pytest.raises(InvalidInvocationError, match="run r1 is STARTED, so it cannot be queued"):
        submit_run(instance, Run("r1", "job", status=RunStatus.STARTED))
    with pytest.raises(InvalidInvocationError, match="knoll/priority='high', which is not an int"):
        submit_run(instance, Run("r2", "job", tags={"knoll/priority": "high"}))
    assert instance.count_runs() == 0


def test_run_queue_settings_from_knoll_yaml(make_instance: MakeInstance) -> None:
    instance = make_instance(
        "memory",
        "run_queue:\n"
        "  max_concurrent_runs: 4\n"
        "  dequeue_interval_seconds: 0.5\n"
        "  tag_concurrency_limits:\n"
        "    - {key: db, value: pg, limit: 2}\n"
        "    - {key: team, value: {applyLimitPerUniqueValue: true}, limit: 1}\n"
        "    - {key: any, limit: 3}\n",
    )
    assert instance.settings.run_queue == RunQueueSettings(
        max_concurrent_runs=4,
        tag_concurrency_limits=(
            TagConcurrencyLimit("db", 2, value="pg"),
            TagConcurrencyLimit("team", 1, per_unique_value=True),
            TagConcurrencyLimit("any", 3),
        ),
        dequeue_interval_seconds=0.5,
    )
    assert make_instance("memory").settings.run_queue == RunQueueSettings()


def test_bad_run_queue_settings_name_the_key(tmp_path: Path) -> None:
    yaml = (
        "run_queue:\n  tag_concurrency_limits:\n    - {key: team, value: {perValue: 1}, limit: 1}\n"
    )
    with pytest.raises(InvalidConfigError) as caught:
        parse_settings(yaml, tmp_path, tmp_path / "knoll.yaml")
    text = str(caught.value)
    assert "tag_concurrency_limits" in text
    assert "{applyLimitPerUniqueValue: true}" in text
    yaml = "run_queue:\n  max_concurrent_runs: -3\n"
    with pytest.raises(InvalidConfigError, match="max_concurrent_runs: -3 is not a limit"):
        parse_settings(yaml, tmp_path, tmp_path / "knoll.yaml")


# ---- two processes ---------------------------------------------------------------------------


def claim_all(home: str, run_ids_file: str, out_file: str) -> None:
    """Claim every run in the file, skipping the lease (as if two dequeuers raced past it)."""
    instance = Instance.get(home)
    run_ids = json.loads(Path(run_ids_file).read_text())
    won = [run_id for run_id in run_ids if instance.storage.claim_queued_run(run_id) is not None]
    Path(out_file).write_text(json.dumps(won))
    instance.dispose()


def drain(home: str, out_file: str, total: str) -> None:
    """Dequeue until every run finished; each launched run finishes after a short while."""
    instance = Instance.get(home)
    storage = instance.storage
    launched: list[str] = []
    workers: list[threading.Thread] = []

    def finish(run_id: str, seconds: float) -> None:
        storage.update_run_status(run_id, RunStatus.STARTED)
        time.sleep(seconds)
        storage.update_run_status(run_id, RunStatus.SUCCESS)

    def launch(record: RunRecord) -> None:
        launched.append(record.run.run_id)
        worker = threading.Thread(
            target=finish, args=(record.run.run_id, random.uniform(0.001, 0.03))
        )
        worker.start()
        workers.append(worker)

    finished = RunsFilter(statuses=[RunStatus.SUCCESS])
    deadline = time.monotonic() + 120
    while storage.count_runs(finished) < int(total) and time.monotonic() < deadline:
        dequeue(instance, launch, lease_seconds=5)
        time.sleep(random.uniform(0.001, 0.01))
    for worker in workers:
        worker.join()
    Path(out_file).write_text(json.dumps(launched))
    instance.dispose()


def _start(function: str, *args: str) -> subprocess.Popen[bytes]:
    code = f"from tests.instance.test_queue import {function}; {function}(*{list(args)!r})"
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO)


def _wait(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        assert process.wait(timeout=180) == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_processes_racing_past_the_lease_never_start_a_run_twice(
    make_instance: MakeInstance, backend: str, tmp_path: Path
) -> None:
    instance = make_instance(backend)
    run_ids = [new_run_id() for _ in range(200)]
    for run_id in run_ids:
        submit_run(instance, Run(run_id, "job"))
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(run_ids))
    outs = [tmp_path / f"won{i}.json" for i in range(2)]
    _wait([_start("claim_all", str(instance.home), str(ids_file), str(out)) for out in outs])
    won = [json.loads(out.read_text()) for out in outs]
    assert not set(won[0]) & set(won[1])
    assert sorted(won[0] + won[1]) == sorted(run_ids)
    assert instance.count_runs(RunsFilter(statuses=[RunStatus.STARTING])) == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_dequeuers_drain_200_runs_within_the_limits(
    make_instance: MakeInstance, backend: str, tmp_path: Path
) -> None:
    instance = make_instance(backend, DRAIN_YAML)
    tagged: set[str] = set()
    for i in range(DRAIN_RUNS):
        run_id = f"run-{i:03d}"
        tags = {"db": "warehouse"} if i % 3 == 0 else {}
        if i % 7 == 0:
            tags["knoll/priority"] = "1"
        if tags.get("db"):
            tagged.add(run_id)
        submit_run(instance, Run(run_id, "job", tags=tags))
    outs = [tmp_path / f"launched{i}.json" for i in range(2)]
    processes = [_start("drain", str(instance.home), str(out), str(DRAIN_RUNS)) for out in outs]
    storage = instance.storage
    samples = 0
    most = most_db = 0
    untagged_started_while_db_waited = False
    while any(p.poll() is None for p in processes):
        in_progress = storage.count_in_progress_runs()
        db = storage.count_in_progress_runs_by_tag(["db"]).get(("db", "warehouse"), 0)
        assert in_progress <= 5
        assert db <= 2
        most, most_db = max(most, in_progress), max(most_db, db)
        samples += 1
        if not untagged_started_while_db_waited:
            queued = storage.get_queued_runs()
            waiting_db = [r for r in queued if r.run.run_id in tagged]
            if waiting_db:
                first_waiting = waiting_db[0].create_timestamp
                untagged_started_while_db_waited = any(
                    r.run.run_id not in tagged and r.create_timestamp > first_waiting
                    for r in storage.get_runs(
                        RunsFilter(statuses=[RunStatus.STARTED, RunStatus.SUCCESS]), limit=500
                    ).records
                )
    _wait(processes)
    launched = [json.loads(out.read_text()) for out in outs]
    everything = launched[0] + launched[1]
    assert len(everything) == len(set(everything)) == DRAIN_RUNS
    assert instance.count_runs(RunsFilter(statuses=[RunStatus.SUCCESS])) == DRAIN_RUNS
    assert samples > 0
    assert untagged_started_while_db_waited


def test_instance_submit_run_queues_and_dequeue_starts_it() -> None:
    instance = Instance.ephemeral()
    run = Run(new_run_id(), "nightly", RunStatus.QUEUED)
    assert instance.submit_run(run).run.status is RunStatus.QUEUED
    launched: list[str] = []
    assert dequeue(instance, lambda record: launched.append(record.run.run_id)) == [run.run_id]
    assert launched == [run.run_id]
    assert instance.get_run(run.run_id).run.status is RunStatus.STARTING
