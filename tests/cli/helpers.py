"""Running the knoll command as a user would: a real subprocess in a project folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

KNOLL = [sys.executable, "-m", "knoll.cli.main"]

PROJECT = textwrap.dedent(
    """
    from knoll import (
        DailyPartitionsDefinition, Definitions, asset, asset_check, AssetCheckResult,
        define_asset_job, job, op,
    )

    @asset(code_version="v1")
    def raw() -> list[int]:
        print("fetched 3 rows")
        return [1, 2, 3]

    @asset
    def total(raw: list[int]) -> int:
        return sum(raw)

    @asset_check(asset=total)
    def total_positive(total: int) -> AssetCheckResult:
        return AssetCheckResult(passed=total > 0)

    @asset
    def broken(total: int) -> int:
        raise ValueError("the warehouse is on fire")

    daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")

    @asset(partitions_def=daily)
    def events(context) -> str:
        return ",".join(context.partition_keys)

    @op
    def hello() -> str:
        return "hello"

    @job
    def greet():
        hello()

    defs = Definitions(
        assets=[raw, total, broken, events],
        asset_checks=[total_positive],
        jobs=[greet, define_asset_job("sums", selection="raw+")],
    )
    """
)


def knoll(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``knoll ARGS`` in ``cwd`` with KNOLL_HOME at ``cwd/.knoll``."""
    return subprocess.run(
        [*KNOLL, *args],
        check=False,
        cwd=cwd,
        env=knoll_env(cwd, env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def knoll_env(cwd: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    # No bytecode: tests rewrite project files within the same second, which a .pyc whose
    # timestamp and size still match would hide.
    return {
        **os.environ,
        "KNOLL_HOME": str(cwd / ".knoll"),
        "PYTHONDONTWRITEBYTECODE": "1",
        **(extra or {}),
    }


def run_ids(cwd: Path) -> list[str]:
    """The ids of the runs in the project's instance, newest first (via `knoll run list`)."""
    done = knoll("run", "list", "--limit", "1000", cwd=cwd)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    if lines == ["no runs."]:
        return []
    return [line.split()[0] for line in lines[1:]]
