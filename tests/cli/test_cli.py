"""The knoll command, driven through a real subprocess as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

KNOLL = [sys.executable, "-m", "knoll.cli.main"]

PROJECT = textwrap.dedent(
    """
    from knoll import Definitions, DailyPartitionsDefinition, asset, define_asset_job, job, op

    @asset
    def raw() -> list[int]:
        return [1, 2, 3]

    @asset
    def total(raw: list[int]) -> int:
        return sum(raw)

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
        jobs=[greet, define_asset_job("sums", selection="raw+")],
    )
    """
)


def knoll(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KNOLL_HOME": str(cwd / ".knoll")}
    return subprocess.run(
        [*KNOLL, *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project.py").write_text(PROJECT)
    return tmp_path


def test_materialize_prints_what_it_produced(project: Path) -> None:
    done = knoll("asset", "materialize", "-m", "project", "--select", "raw,total", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "materialized raw" in done.stdout
    assert "materialized total" in done.stdout
    assert "succeeded" in done.stdout
    assert (project / ".knoll" / "storage" / "total").is_file()


def test_materialize_from_a_file(project: Path) -> None:
    done = knoll("asset", "materialize", "-f", "project.py", "--select", "raw", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "materialized raw" in done.stdout


def test_a_failing_asset_exits_1_with_the_error(project: Path) -> None:
    done = knoll("asset", "materialize", "-m", "project", "--select", "raw*", cwd=project)
    assert done.returncode == 1
    assert "the warehouse is on fire" in done.stderr
    assert "asset 'broken'" in done.stderr
    assert "Traceback" not in done.stderr.splitlines()[0]


def test_unknown_selection_exits_2_with_did_you_mean(project: Path) -> None:
    done = knoll("asset", "materialize", "-m", "project", "--select", "totl", cwd=project)
    assert done.returncode == 2
    assert "Did you mean 'total'?" in done.stderr


def test_partition(project: Path) -> None:
    done = knoll(
        "asset",
        "materialize",
        "-m",
        "project",
        "--select",
        "events",
        "--partition",
        "2024-01-05",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    assert "materialized events [2024-01-05]" in done.stdout
    bad = knoll(
        "asset",
        "materialize",
        "-m",
        "project",
        "--select",
        "events",
        "--partition",
        "2023-01-05",
        cwd=project,
    )
    assert bad.returncode == 2
    assert "2023-01-05" in bad.stderr


def test_partition_range_runs_once(project: Path) -> None:
    done = knoll(
        "asset",
        "materialize",
        "-m",
        "project",
        "--select",
        "events",
        "--partition-range",
        "2024-01-01...2024-01-03",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("materialized events [") == 3


def test_job_execute(project: Path) -> None:
    done = knoll("job", "execute", "-m", "project", "-j", "greet", cwd=project)
    assert done.returncode == 0, done.stderr
    missing = knoll("job", "execute", "-m", "project", "-j", "gret", cwd=project)
    assert missing.returncode == 2
    assert "Did you mean 'greet'?" in missing.stderr


def test_import_error_is_reported_with_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import not_a_module_anywhere\n")
    done = knoll("definitions", "validate", "-m", "bad", cwd=tmp_path)
    assert done.returncode == 2
    assert "error: error while importing module 'bad': ModuleNotFoundError" in done.stderr
    assert "Traceback" in done.stderr


def test_validate_and_list(project: Path) -> None:
    done = knoll("definitions", "validate", "-m", "project", cwd=project)
    assert done.returncode == 0
    assert "ok: 4 assets" in done.stdout
    listed = knoll("asset", "list", "-m", "project", cwd=project)
    assert "total  group=default  deps=raw" in listed.stdout


def test_module_and_file_are_exclusive(project: Path) -> None:
    done = knoll("definitions", "validate", cwd=project)
    assert done.returncode == 2
    assert "give exactly one of -m MODULE or -f FILE" in done.stderr


def test_help_is_fast_to_import() -> None:
    probe = (
        "import sys, knoll.cli.main; "
        "print(sorted(m for m in ('pydantic', 'yaml', 'asyncio') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True
    )
    assert done.stdout.strip() == "[]"
