"""`knoll backfill` as a user runs it: launch (its errors), list, show, cancel, resume, and a
real `knoll daemon run` that drains backfills through the run queue and run workers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from knoll.daemon.backfill import BACKFILL_TAG
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import BackfillStatus, RunsFilter
from tests.cli.helpers import KNOLL, knoll, knoll_env

PROJECT = Path(__file__).parents[1] / "daemon" / "backfill_project.py"
WAIT = 120.0  # seconds: only to avoid a hang
SETTINGS = """run_queue:
  dequeue_interval_seconds: 0.2
  max_concurrent_runs: 4
backfills:
  interval_seconds: 0.2
daemon:
  lease_seconds: 4
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(PROJECT, tmp_path / "warehouse.py")
    (tmp_path / ".knoll").mkdir()
    (tmp_path / ".knoll" / "knoll.yaml").write_text(SETTINGS)
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def _launch(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return knoll("backfill", "launch", "-m", "warehouse", *args, cwd=project)


def _launched(project: Path, *args: str) -> str:
    done = _launch(project, *args)
    assert done.returncode == 0, done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith("launched backfill ")]
    return line.split()[-1]


def _error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    return " ".join(done.stderr.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--select", "clickz", "--all"],
            "cannot resolve asset selection 'clickz' in location 'warehouse': ",
        ),
        (
            ["--select", "plain", "--all"],
            "asset 'plain' (selected by 'plain') is not partitioned, and a backfill materializes "
            "partitions: leave it out of --select, and materialize it with `knoll run launch "
            "--select plain`.",
        ),
        (
            ["--select", "daily_report", "--partition", "2023-12-31"],
            "asset 'daily_report' has no partition '2023-12-31'",
        ),
        (
            ["--select", "daily_report", "--partitions", "2024-01-05..2024-02-30"],
            "asset 'daily_report': ",
        ),
        (
            ["--job", "daily_jbo", "--all"],
            "there is no job 'daily_jbo' in this code location. Did you mean 'daily_job'? Its "
            "jobs: daily_job, greet, zones. Or backfill assets with --select.",
        ),
        (
            ["--job", "greet", "--all"],
            "job 'greet' is not partitioned, so it has no partitions to backfill: run it once "
            "with `knoll run launch --job greet`, or give it a partitions_def.",
        ),
        (
            ["--select", "fragile", "--from", "2024-01-01", "--to", "2024-01-02"],
            "asset 'fragile' has static partitions 'eu', 'us', 'asia', which are not time "
            "windows, so --from/--to cannot pick them: name its partitions with --partition, "
            "--partitions or --all.",
        ),
        (
            ["--select", "daily_scores", "--from", "2030-01-01", "--to", "2030-02-01"],
            "asset 'daily_scores' has no partition from 2030-01-01T00:00:00 to "
            "2030-02-01T00:00:00 (it has daily partitions from 2024-01-01 to 2024-01-08 (UTC)): "
            "ask for partitions it has, for example with --all.",
        ),
    ],
)
def test_launch_errors_name_the_object_and_the_fix(
    project: Path, args: list[str], message: str
) -> None:
    assert message in _error(_launch(project, *args))
    assert knoll("backfill", "list", cwd=project).stdout == "no backfills\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all"], "say what to backfill: --select SELECTION or --job NAME (one of them)."),
        (
            ["--select", "clicks", "--job", "daily_job", "--all"],
            "say what to backfill: --select SELECTION or --job NAME",
        ),
        (["--select", "clicks"], "say which partitions in one way: --partitions FIRST..LAST"),
        (
            ["--select", "clicks", "--all", "--partition", "2024-01-01-00:00"],
            "say which partitions in one way",
        ),
        (["--select", "clicks", "--from", "2024-01-01"], "--from and --to go together"),
        (["--select", "clicks", "--partitions", "2024-01-01"], "must look like FIRST..LAST"),
        (
            ["--select", "clicks", "--from", "yesterday", "--to", "2024-01-02"],
            "--from 'yesterday' is not a time: write it in ISO 8601",
        ),
    ],
)
def test_launch_usage_errors(project: Path, args: list[str], message: str) -> None:
    assert message in _error(_launch(project, *args))


def test_unknown_backfill_ids_are_refused(project: Path) -> None:
    for command in ("show", "cancel", "resume"):
        message = _error(knoll("backfill", command, "nosuchid", cwd=project))
        assert "there is no backfill 'nosuchid' in " in message
        assert "`knoll backfill list` shows the backfills there are." in message


def test_launch_list_show_cancel(project: Path, instance: Instance) -> None:
    backfill_id = _launched(
        project,
        "--select", "clicks, daily_clicks",
        "--partitions", "2024-01-01-00:00..2024-01-01-03:00",
        "--tag", "team=web",
    )  # fmt: skip
    listed = knoll("backfill", "list", cwd=project)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "CREATED", "WHAT", "PARTITIONS"]
    assert row.startswith(f"{backfill_id}  REQUESTED")
    assert row.endswith("assets 'clicks, daily_clicks'  2024-01-01-00:00...2024-01-01-03:00")

    shown = knoll("backfill", "show", backfill_id, cwd=project)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"backfill {backfill_id}: REQUESTED"
    assert "tags: team=web" in shown.stdout
    table = [line.split() for line in lines if line.startswith("  ")][3:]
    assert table[0] == ["ASSET", "REQUESTED", "IN", "PROGRESS", "MATERIALIZED", "FAILED",
                        "CANCELED", "SKIPPED"]  # fmt: skip
    assert table[1] == ["clicks", "4", "0", "0", "0", "0", "0"]
    assert table[2] == ["daily_clicks", "1", "0", "0", "0", "0", "0"]

    detailed = knoll("backfill", "show", backfill_id, "--partitions", cwd=project).stdout
    assert "  clicks        2024-01-01-03:00  requested  -" in detailed
    assert "  daily_clicks  2024-01-01        requested  -" in detailed

    canceled = knoll("backfill", "cancel", backfill_id, cwd=project)
    assert canceled.stdout == f"backfill {backfill_id} CANCELING\n"
    message = _error(knoll("backfill", "resume", backfill_id, cwd=project))
    assert f"backfill {backfill_id} is CANCELING, so there is nothing to resume" in message
    assert "CANCELING" in knoll("backfill", "list", "--status", "canceling", cwd=project).stdout
    assert "--status 'later' is not a backfill status" in _error(
        knoll("backfill", "list", "--status", "later", cwd=project)
    )


# ---- a real daemon -------------------------------------------------------------------------


def _start_daemon(project: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*KNOLL, "daemon", "run", "-m", "warehouse"],
        cwd=project,
        env=knoll_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait(what: str, ready: Callable[[], bool], daemon: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not ready():
        if daemon.poll() is not None or time.monotonic() > deadline:
            if daemon.poll() is None:
                os.killpg(daemon.pid, signal.SIGKILL)
            raise AssertionError(f"{what} never happened: {daemon.communicate(timeout=WAIT)}")
        time.sleep(0.1)


def _ended(instance: Instance, backfill_id: str) -> Callable[[], bool]:
    def ended() -> bool:
        stored = instance.storage.get_backfill(backfill_id)
        assert stored is not None
        return stored.status in (BackfillStatus.COMPLETED, BackfillStatus.FAILED)

    return ended


def test_the_daemon_drains_backfills_upstream_first(project: Path, instance: Instance) -> None:
    hours = _launched(
        project, "--select", "clicks+", "--partitions", "2024-01-01-00:00..2024-01-01-23:00"
    )
    regions = _launched(project, "--select", "fragile+", "--all")
    daemon = _start_daemon(project)
    try:
        _wait("the backfills ended", _ended(instance, hours), daemon)
        _wait("the backfills ended", _ended(instance, regions), daemon)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=WAIT)
    assert instance.storage.get_backfill(hours).status is BackfillStatus.COMPLETED  # type: ignore[union-attr]
    records = instance.storage.get_runs(RunsFilter(tags={BACKFILL_TAG: hours}), limit=100).records
    by_asset: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        assert record.run.status is RunStatus.SUCCESS
        assert record.start_time is not None
        assert record.end_time is not None
        [key] = record.run.asset_selection or frozenset()
        by_asset.setdefault(key.to_user_string(), []).append((record.start_time, record.end_time))
    assert len(by_asset["clicks"]) == 24
    [(day_start, _)] = by_asset["daily_clicks"]
    assert day_start >= max(end for _, end in by_asset["clicks"])  # after every hour it reads

    failed = instance.storage.get_backfill(regions)
    assert failed is not None
    assert failed.status is BackfillStatus.FAILED
    shown = knoll("backfill", "show", regions, cwd=project).stdout
    rows = {
        line.split()[0]: line.split()[1:]
        for line in shown.splitlines()
        if len(line.split()) == 7 and line.split()[1].isdigit()
    }
    # requested, in progress, materialized, failed, canceled, skipped
    assert rows["fragile"] == ["0", "0", "2", "1", "0", "0"]
    assert rows["after_fragile"] == ["0", "0", "2", "0", "0", "1"]
    assert "fragile failed runs: " in shown
