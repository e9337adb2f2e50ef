"""`knoll job execute`, into the project's instance."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import knoll, run_ids


def test_execute_an_op_job(project: Path) -> None:
    done = knoll("job", "execute", "-m", "project", "-j", "greet", "--tag", "k=v", cwd=project)
    assert done.returncode == 0, done.stderr
    [run_id] = run_ids(project)
    assert done.stdout.splitlines()[0] == "executing job 'greet'"
    assert done.stdout.splitlines()[-1].startswith(f"run {run_id} succeeded")
    shown = knoll("run", "show", run_id, cwd=project).stdout.splitlines()
    assert "  job:       greet" in shown
    assert "  tags:      k=v" in shown


def test_execute_an_asset_job(project: Path) -> None:
    done = knoll("job", "execute", "-m", "project", "-j", "sums", cwd=project)
    assert done.returncode == 0, done.stderr  # raw+: raw and its children, not `broken`
    assert "  materialized raw  (path=" in done.stdout
    assert "  materialized total  (path=" in done.stdout
    assert "broken" not in done.stdout
    listed = knoll("run", "list", "--job", "sums", cwd=project).stdout.splitlines()
    assert listed[1].split()[1:3] == ["SUCCESS", "sums"]


def test_unknown_job_suggests(project: Path) -> None:
    done = knoll("job", "execute", "-m", "project", "-j", "gret", cwd=project)
    assert done.returncode == 2
    assert done.stderr == (
        "error: no job named 'gret' in these definitions. Did you mean 'greet'? "
        "Jobs: greet, sums.\n"
    )
    assert run_ids(project) == []
