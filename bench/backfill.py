"""How fast a backfill's runs reach the run queue (a measurement, not a test).

Run: ``.venv/bin/python bench/backfill.py [PARTITIONS] [--postgres URL]``. It writes a module
with one asset of PARTITIONS daily partitions (default 10,000) and an hourly asset under a
daily one, starts a real code server for it, launches a backfill of every partition through
it (``launch_backfill``, what ``knoll backfill launch`` does) into a new SQLite instance (or
PostgreSQL), and runs passes of the daemon's ``backfills`` duty until every run is QUEUED.
It prints the launch time, the submission time and runs per second from launch to all runs
queued, for the single asset and for the hourly-to-daily pair (where the daily runs wait for
their hours, so two passes are timed with the hourly runs marked successful in between).

Dagster's backfill daemon submits about one run per second (it asks its code server for each
run, and records each one separately); driving it here would take hours for 10,000 runs, so
that figure is quoted, not measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target
from knoll.daemon.backfill import (
    BACKFILL_TAG,
    BackfillRequest,
    BackfillSubmitter,
    launch_backfill,
)
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.storage.base import RunsFilter

DAGSTER_RUNS_PER_SECOND = 1.0  # documented behaviour of Dagster's backfill daemon, not measured

MODULE = """
from knoll import DailyPartitionsDefinition, Definitions, HourlyPartitionsDefinition, asset

days = DailyPartitionsDefinition(start_date="{start}", end_date="{end}")
hours = HourlyPartitionsDefinition(start_date="2024-01-01-00:00", end_date="{hours_end}")
rollup_days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="{rollup_end}")


@asset(partitions_def=days)
def history() -> int:
    return 1


@asset(partitions_def=hours)
def clicks() -> int:
    return 1


@asset(partitions_def=rollup_days, deps=[clicks])
def daily_clicks() -> int:
    return 1


defs = Definitions(assets=[history, clicks, daily_clicks])
"""


def write_module(folder: Path, partitions: int) -> Path:
    start = date(1750, 1, 1)
    days = max(partitions // 24, 1)  # the hourly pair has about as many runs in all
    text = MODULE.format(
        start=start.isoformat(),
        end=(start + timedelta(days=partitions)).isoformat(),
        hours_end=f"{(date(2024, 1, 1) + timedelta(days=days)).isoformat()}-00:00",
        rollup_end=(date(2024, 1, 1) + timedelta(days=days)).isoformat(),
    )
    path = folder / "backfill_bench.py"
    path.write_text(text)
    return path


SCHEMA = f"knoll_bench_backfill_{int(time.time())}"


def _instance(folder: Path, postgres: str | None) -> Instance:
    home = folder / "home"
    home.mkdir()
    if postgres is not None:
        (home / "knoll.yaml").write_text(
            f"storage:\n  postgres:\n    url: {postgres}\n    schema: {SCHEMA}\n"
        )
    return Instance.get(home)


def _drop_schema(postgres: str) -> None:
    from knoll.storage.sql.engine import postgres_database

    database = postgres_database(postgres)
    try:
        with database.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    finally:
        database.dispose()


def _queued(instance: Instance, backfill_id: str) -> int:
    return instance.storage.count_runs(
        RunsFilter(tags={BACKFILL_TAG: backfill_id}, statuses=[RunStatus.QUEUED])
    )


def measure(client: object, instance: Instance, selection: str) -> dict[str, float]:
    started = time.perf_counter()
    request = BackfillRequest(selection=selection, all_partitions=True)
    backfill = launch_backfill(instance, client, request)  # type: ignore[arg-type]
    launched = time.perf_counter()
    submitter = BackfillSubmitter(instance)
    submitter.one_pass()
    runs = _queued(instance, backfill.backfill_id)
    waiting = 0.0
    if selection != "history":  # the daily runs wait for their hours: end those, pass again
        pause = time.perf_counter()
        records = instance.storage.get_runs(
            RunsFilter(tags={BACKFILL_TAG: backfill.backfill_id}), limit=runs
        ).records
        for record in records:
            for status in (RunStatus.STARTING, RunStatus.STARTED, RunStatus.SUCCESS):
                instance.storage.update_run_status(record.run.run_id, status)
        waiting = time.perf_counter() - pause
        submitter.one_pass()
        runs += _queued(instance, backfill.backfill_id)
    done = time.perf_counter()
    total = done - started - waiting
    return {
        "runs": runs,
        "launch_s": round(launched - started, 3),
        "submit_s": round(done - launched - waiting, 3),
        "runs_per_s": round(runs / total, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("partitions", nargs="?", type=int, default=10_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="knoll-bench-") as tmp:
        folder = Path(tmp)
        path = write_module(folder, args.partitions)
        workspace = workspace_from_target(CodeLocationTarget(python_file=str(path)), "bench")
        with (
            start_workspace(workspace, timeout=600) as processes,
            _instance(folder, args.postgres) as instance,
        ):
            client = processes.client("bench")
            results = {
                "storage": "postgres" if args.postgres else "sqlite",
                "one asset": measure(client, instance, "history"),
                "hourly to daily": measure(client, instance, "clicks, daily_clicks"),
                "dagster_runs_per_s (documented)": DAGSTER_RUNS_PER_SECOND,
            }
    if args.postgres:
        _drop_schema(args.postgres)
    for name in ("one asset", "hourly to daily"):
        figures = results[name]
        assert isinstance(figures, dict)
        seconds = figures["launch_s"] + figures["submit_s"]
        print(
            f"{name}: {figures['runs']:.0f} runs queued in {seconds:.2f}s "
            f"(launch {figures['launch_s']:.2f}s): {figures['runs_per_s']:.0f} runs/s; "
            f"Dagster ~{DAGSTER_RUNS_PER_SECOND:.0f} run/s"
        )
    json.dump(results, sys.stdout)
    print()


if __name__ == "__main__":
    main()
