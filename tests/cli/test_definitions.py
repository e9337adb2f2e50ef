"""`knoll definitions validate`: every error at once, or a summary of what loaded."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.cli.helpers import knoll

BROKEN = textwrap.dedent(
    """
    from knoll import Definitions, ScheduleDefinition, asset, define_asset_job, job, op

    @asset
    def raw() -> int:
        return 1

    @asset
    def total(raw: int) -> int:
        return raw

    @op(required_resource_keys={"db"})
    def needs_db() -> None:
        pass

    @job
    def db_job() -> None:
        needs_db()

    defs = Definitions(
        assets=[raw, total],
        jobs=[
            define_asset_job("first", selection="rwa"),
            define_asset_job("second", selection="totl"),
            define_asset_job("fine", selection="raw"),
            db_job,
        ],
        schedules=[
            ScheduleDefinition(name="nightly", cron_schedule="0 0 * * *", job_name="fien"),
            ScheduleDefinition(name="hourly", cron_schedule="0 * * * *", job_name="fine"),
        ],
    )
    """
)


def test_validate_summarizes_what_loaded(project: Path) -> None:
    done = knoll("definitions", "validate", "-m", "project", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok: 4 assets, 1 checks, 2 jobs, 0 schedules, 0 sensors"


def test_validate_prints_every_error_at_once(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(BROKEN)
    done = knoll("definitions", "validate", "-f", "broken.py", cwd=tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: job 'first': asset selection names 'rwa', which is not an asset in these "
        "definitions. Did you mean 'raw'?",
        "error: job 'second': asset selection names 'totl', which is not an asset in these "
        "definitions. Did you mean 'total'?",
        f"error: op 'needs_db' in job 'db_job' ({tmp_path / 'broken.py'}:12) requires "
        "resource 'db', which is not provided. Add it: Definitions(resources={'db': ...}).",
        "error: schedule 'nightly' targets job 'fien', which is not defined. Did you mean "
        "'fine'? Add the job to Definitions(jobs=[...]).",
    ]
    assert "file 'broken.py': 4 errors in its definitions." in done.stderr
    assert done.stdout == ""


def test_validate_reports_asset_errors_and_still_checks_op_jobs(tmp_path: Path) -> None:
    (tmp_path / "cyclic.py").write_text(
        textwrap.dedent(
            """
            from knoll import AssetIn, Definitions, asset, job, op

            @asset(ins={"b": AssetIn("b")})
            def a(b: int) -> int:
                return b

            @asset(ins={"a": AssetIn("a")})
            def b(a: int) -> int:
                return a

            @op(required_resource_keys={"api"})
            def call() -> None:
                pass

            @job
            def calls() -> None:
                call()

            defs = Definitions(assets=[a, b], jobs=[calls])
            """
        )
    )
    done = knoll("definitions", "validate", "-m", "cyclic", cwd=tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, done.stderr
    assert "cycle" in errors[0].lower()
    assert "requires resource 'api'" in errors[1]


def test_import_error_is_reported_with_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import not_a_module_anywhere\n")
    done = knoll("definitions", "validate", "-m", "bad", cwd=tmp_path)
    assert done.returncode == 2
    assert "error: error while importing module 'bad': ModuleNotFoundError" in done.stderr
    assert "Traceback" in done.stderr
    assert "module 'bad': 1 error in its definitions." in done.stderr


def test_module_and_file_are_exclusive(project: Path) -> None:
    done = knoll("definitions", "validate", cwd=project)
    assert done.returncode == 2
    assert "give exactly one of -m MODULE or -f FILE" in done.stderr
    both = knoll("definitions", "validate", "-m", "project", "-f", "project.py", cwd=project)
    assert both.returncode == 2
    assert "give exactly one of -m MODULE or -f FILE" in both.stderr
