"""`knoll run list | show | logs`, reading back what runs recorded."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.cli.helpers import KNOLL, knoll, knoll_env, run_ids


@pytest.fixture
def ran(project: Path) -> tuple[Path, str, str]:
    """The project after a successful run and a failed one: (folder, ok id, failed id)."""
    ok = knoll("asset", "materialize", "-m", "project", "--select", "raw,total", cwd=project)
    assert ok.returncode == 0, ok.stderr
    bad = knoll(
        "asset", "materialize", "-m", "project", "--select", "raw*", "--tag", "team=core",
        cwd=project,
    )  # fmt: skip
    assert bad.returncode == 1
    failed_id, ok_id = run_ids(project)
    return project, ok_id, failed_id


def test_list_filters_by_status_tag_and_job(ran: tuple[Path, str, str]) -> None:
    project, ok_id, failed_id = ran
    listed = knoll("run", "list", cwd=project)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == [
        "RUN", "ID", "STATUS", "JOB", "PARTITION", "CREATED", "DURATION", "TAGS",
    ]  # fmt: skip
    assert [r.split()[:2] for r in rows] == [[failed_id, "FAILURE"], [ok_id, "SUCCESS"]]
    assert "assets: broken, raw, total" in rows[0]
    assert rows[0].endswith("team=core")
    assert run_ids_of(knoll("run", "list", "--status", "success", cwd=project)) == [ok_id]
    assert run_ids_of(knoll("run", "list", "--tag", "team=core", cwd=project)) == [failed_id]
    assert run_ids_of(knoll("run", "list", "--limit", "1", cwd=project)) == [failed_id]
    assert knoll("run", "list", "--job", "greet", cwd=project).stdout == "no runs.\n"
    knoll("job", "execute", "-m", "project", "-j", "greet", cwd=project)
    greet = run_ids_of(knoll("run", "list", "--job", "greet", cwd=project))
    assert len(greet) == 1
    assert greet[0] not in (ok_id, failed_id)


def test_list_pages_with_a_cursor(ran: tuple[Path, str, str]) -> None:
    project, ok_id, failed_id = ran
    first = knoll("run", "list", "--limit", "1", cwd=project)
    assert run_ids_of(first) == [failed_id]
    hint = first.stderr.strip()
    assert hint.startswith("more runs: knoll run list --cursor ")
    cursor = hint.split("--cursor ")[1].split()[0]
    second = knoll("run", "list", "--limit", "1", "--cursor", cursor, cwd=project)
    assert run_ids_of(second) == [ok_id]


def test_list_rejects_an_unknown_status(project: Path) -> None:
    done = knoll("run", "list", "--status", "SUCESS", cwd=project)
    assert done.returncode == 2
    assert done.stderr == (
        "error: --status 'SUCESS' is not a run status. Did you mean 'SUCCESS'? Statuses: "
        "QUEUED, STARTING, STARTED, SUCCESS, FAILURE, CANCELING, CANCELED.\n"
    )


def test_show_gives_status_timing_and_steps(ran: tuple[Path, str, str]) -> None:
    project, _ok_id, failed_id = ran
    shown = knoll("run", "show", failed_id, cwd=project)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[:5] == [
        f"run {failed_id}",
        "  status:    FAILURE",
        "  reason:    run of job '__asset_job' failed: steps failed: broken",
        "  job:       __asset_job",
        "  assets:    broken, raw, total",
    ]
    assert "  tags:      team=core" in lines
    assert "  config:    -" in lines
    steps = lines[lines.index("steps:") + 2 : lines.index("failures:")]
    outcomes = {line.split()[0]: line.split()[1] for line in steps}
    assert outcomes == {
        "raw": "SUCCESS",
        "total": "SUCCESS",
        "total_total_positive": "SUCCESS",
        "broken": "FAILURE",
    }
    [broken] = [line for line in steps if line.split()[0] == "broken"]
    assert broken.endswith("ValueError: the warehouse is on fire")
    assert lines[-2:] == [
        "  broken: error in asset 'broken' (step 'broken'): ValueError: the warehouse is on fire",
        f"events and captured output: knoll run logs {failed_id}",
    ]


def test_show_accepts_a_prefix_and_last(ran: tuple[Path, str, str]) -> None:
    project, ok_id, failed_id = ran
    by_prefix = knoll("run", "show", ok_id[:8], cwd=project)
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert by_prefix.stdout.startswith(f"run {ok_id}\n")
    last = knoll("run", "show", "--last", cwd=project)
    assert last.stdout.startswith(f"run {failed_id}\n")


def test_show_unknown_run_suggests(ran: tuple[Path, str, str]) -> None:
    project, ok_id, _failed_id = ran
    typo = ok_id[:-1] + ("0" if ok_id[-1] != "0" else "1")
    done = knoll("run", "show", typo, cwd=project)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: no run {typo!r} in ")
    assert f"Did you mean {ok_id!r}?" in done.stderr
    neither = knoll("run", "show", cwd=project)
    assert neither.returncode == 2
    assert neither.stderr == "error: give a run id, or --last for the newest run.\n"


def test_show_last_without_runs(tmp_path: Path) -> None:
    done = knoll("run", "show", "--last", cwd=tmp_path)
    assert done.returncode == 2
    assert "no runs in this instance yet" in done.stderr


def test_logs_print_events_and_captured_output(ran: tuple[Path, str, str]) -> None:
    project, ok_id, _failed_id = ran
    done = knoll("run", "logs", ok_id, cwd=project)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    kinds = [line.split()[2] for line in lines if not line.startswith("-") and " " in line]
    assert kinds[0] == "ASSET_MATERIALIZATION_PLANNED"
    assert "RUN_START" in kinds
    assert kinds[-1] == "RUN_SUCCESS"
    start = lines.index("--- stdout of step raw ---")
    assert lines[start + 1 : start + 3] == ["fetched 3 rows", "--- end of stdout of step raw ---"]
    assert "STEP_SUCCESS" in lines[start - 1]  # the output follows the step's end


def test_logs_of_one_step(ran: tuple[Path, str, str]) -> None:
    project, ok_id, _failed_id = ran
    done = knoll("run", "logs", ok_id, "--step", "raw", cwd=project)
    assert done.returncode == 0, done.stderr
    steps = {line.split()[3] for line in done.stdout.splitlines() if line[:2].isdigit()}
    assert steps == {"raw"}
    assert "fetched 3 rows" in done.stdout
    typo = knoll("run", "logs", ok_id, "--step", "totl", cwd=project)
    assert typo.returncode == 2
    assert typo.stderr == (
        f"error: run {ok_id} has no step 'totl'. Did you mean 'total'? "
        "Steps: raw, total, total_total_positive.\n"
    )


SLOW = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    from knoll import asset

    @asset
    def first() -> int:
        print("first is waiting")
        release = Path(os.environ["RELEASE_FILE"])
        while not release.exists():
            time.sleep(0.05)
        return 1

    @asset
    def second(first: int) -> int:
        print("second ran")
        return first + 1
    """
)


def test_logs_follow_ends_when_the_run_ends(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW)
    release = tmp_path / "release"
    env = knoll_env(tmp_path, {"RELEASE_FILE": str(release)})
    running = subprocess.Popen(
        [*KNOLL, "asset", "materialize", "-m", "slow"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    follower: subprocess.Popen[str] | None = None
    try:
        run_id = _wait_for_a_run(tmp_path)
        follower = subprocess.Popen(
            [*KNOLL, "run", "logs", run_id, "--follow", "--interval", "0.1"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The run is held by the release file: the follower must still be following.
        with pytest.raises(subprocess.TimeoutExpired):
            follower.wait(timeout=2)
        release.touch()
        out, err = follower.communicate(timeout=60)
        ran_out, ran_err = running.communicate(timeout=60)
        assert running.returncode == 0, ran_err
    finally:
        release.touch()
        for proc in (running, follower):
            if proc is not None:
                if proc.poll() is None:
                    proc.kill()
                proc.communicate()
    assert follower.returncode == 0, err
    lines = out.splitlines()
    kinds = [line.split()[2] for line in lines if line[:2].isdigit()]
    assert kinds.count("RUN_START") == 1
    assert kinds[-1] == "RUN_SUCCESS"
    assert kinds.count("ASSET_MATERIALIZATION") == 2
    assert "first is waiting" in lines
    assert "second ran" in lines
    assert f"run {run_id} succeeded" in ran_out


def _wait_for_a_run(cwd: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ids = run_ids(cwd) if (cwd / ".knoll" / "knoll.db").exists() else []
        if ids:
            return ids[0]
        time.sleep(0.1)
    raise AssertionError("the run did not start within a minute")


def run_ids_of(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stderr
    return [line.split()[0] for line in done.stdout.splitlines()[1:]]
