"""`knoll job execute` with a job's own config: a default, a mapping, a partitioned config."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.cli.helpers import knoll, run_ids

PROJECT = textwrap.dedent(
    """
    from knoll import ConfigMapping, Definitions, daily_partitioned_config, job, op

    @op(config_schema={"table": str, "rows": int})
    def load(context) -> str:
        line = f"loaded {context.op_config['rows']} rows into {context.op_config['table']}"
        print(line)
        return line

    @daily_partitioned_config(
        start_date="2024-03-01", tags_for_partition_fn=lambda start, end: {"month": f"{start:%m}"}
    )
    def by_day(start, end):
        return {"ops": {"load": {"config": {"table": f"orders_{start:%d}", "rows": 3}}}}

    @job(config=by_day)
    def daily_load():
        load()

    @job(config={"ops": {"load": {"config": {"table": "orders", "rows": 1}}}})
    def default_load():
        load()

    @job(
        config=ConfigMapping(
            config_fn=lambda c: {"ops": {"load": {"config": {"table": c["table"], "rows": 9}}}},
            config_schema={"table": str},
        )
    )
    def mapped_load():
        load()

    defs = Definitions(jobs=[daily_load, default_load, mapped_load])
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project.py").write_text(PROJECT)
    return tmp_path


def test_a_partition_resolves_the_partitioned_config_and_tags(project: Path) -> None:
    done = knoll(
        "job", "execute", "-m", "project", "-j", "daily_load", "--partition", "2024-03-07",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [run_id] = run_ids(project)
    shown = knoll("run", "show", run_id, cwd=project).stdout
    assert "loaded 3 rows into orders_07" in done.stdout
    assert "knoll/partition=2024-03-07" in shown
    assert "month=03" in shown


def test_without_a_partition_the_run_is_refused_before_it_is_stored(project: Path) -> None:
    done = knoll("job", "execute", "-m", "project", "-j", "daily_load", cwd=project)
    assert done.returncode == 2
    assert done.stderr == (
        "error: job 'daily_load' takes its config from a partitioned config over daily "
        "partitions from 2024-03-01 (UTC), but no single partition was given: pass "
        "partition_key=... (knoll job execute --partition KEY), or give the run config.\n"
    )
    assert run_ids(project) == []


def test_config_file_entries_replace_the_default(project: Path) -> None:
    (project / "run.yaml").write_text("ops:\n  load:\n    config: {table: refunds, rows: 2}\n")
    done = knoll("job", "execute", "-m", "project", "-j", "default_load", cwd=project)
    assert "loaded 1 rows into orders" in done.stdout
    done = knoll(
        "job", "execute", "-m", "project", "-j", "default_load", "--config", "run.yaml",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "loaded 2 rows into refunds" in done.stdout


def test_a_config_file_gives_the_outer_config_of_a_mapping(project: Path) -> None:
    (project / "outer.yaml").write_text("table: archive\n")
    done = knoll(
        "job", "execute", "-m", "project", "-j", "mapped_load", "--config", "outer.yaml",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "loaded 9 rows into archive" in done.stdout


def test_a_launched_run_for_a_partition_gets_its_config_and_tags(project: Path) -> None:
    done = knoll(
        "run", "launch", "-m", "project", "--job", "daily_load", "--partition", "2024-03-09",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [run_id] = run_ids(project)
    shown = knoll("run", "show", run_id, cwd=project).stdout
    assert "knoll/partition=2024-03-09" in shown
    assert "month=03" in shown
    logs = knoll("run", "logs", run_id, cwd=project)
    assert "loaded 3 rows into orders_09" in logs.stdout + logs.stderr
