"""`knoll schedule ...` and `knoll sensor ...` as a user runs them: a real code server per
command, the instance in the project's .knoll, the messages of every mistake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli.helpers import knoll
from tests.daemon.helpers import PROJECT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(PROJECT / "ticking.py", tmp_path / "ticking.py")
    (tmp_path / "drop").mkdir()
    return tmp_path


def _knoll(project: Path, *args: str) -> tuple[int, str, str]:
    done = knoll(*args, cwd=project, env={"TICKING_DROP": str(project / "drop")})
    return done.returncode, done.stdout, done.stderr


def test_schedules_are_listed_started_stopped_and_previewed(project: Path) -> None:
    code, out, err = _knoll(project, "schedule", "list", "-f", "ticking.py")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == [
        "NAME",
        "STATUS",
        "CRON",
        "TIMEZONE",
        "NEXT",
        "TICK",
        "LAST",
        "TICK",
    ]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "RUNNING (default)" in rows["hourly"]
    assert "0 * * * *" in rows["hourly"]
    assert "STOPPED (default)" in rows["stopped"]
    assert "America/New_York" in rows["nightly_ny"]

    code, out, err = _knoll(project, "schedule", "start", "stopped", "-f", "ticking.py")
    assert code == 0, err
    assert out == "started schedule 'stopped' of location 'ticking'\n"
    assert "daemon: not running (start one: knoll daemon run)" in err
    code, out, _ = _knoll(project, "schedule", "start", "stopped", "-f", "ticking.py")
    assert out == "schedule 'stopped' of location 'ticking' is started already\n"
    code, out, _ = _knoll(project, "schedule", "list", "-f", "ticking.py")
    stopped_row = next(line for line in out.splitlines() if line.startswith("stopped "))
    assert "RUNNING " in stopped_row
    assert "(default)" not in stopped_row
    code, out, _ = _knoll(project, "schedule", "stop", "hourly", "-f", "ticking.py")
    assert out == "stopped schedule 'hourly' of location 'ticking'\n"

    code, out, err = _knoll(
        project,
        "schedule",
        "preview",
        "events_job_schedule",
        "--at",
        "2024-05-02T01:00",
        "-f",
        "ticking.py",
    )
    assert code == 0, err
    assert out.splitlines() == [
        "tick of schedule 'events_job_schedule' at 2024-05-02T01:00:00+00:00",
        "run request: job events_job; partition 2024-05-01; run key 2024-05-01",
    ]
    code, out, err = _knoll(project, "schedule", "preview", "hourly", "-f", "ticking.py")
    assert code == 0, err
    assert out.splitlines()[1] == "run request: job orders_job"
    assert '"team": "sales"' in out


def test_schedule_mistakes_say_what_to_do(project: Path) -> None:
    code, _, err = _knoll(project, "schedule", "start", "hourli", "-f", "ticking.py")
    assert code == 2
    assert "code location 'ticking' has no schedule named 'hourli'. Did you mean 'hourly'?" in err
    assert "Its schedules: " in err
    code, _, err = _knoll(
        project, "schedule", "preview", "hourly", "--at", "tomorrow", "-f", "ticking.py"
    )
    assert code == 2
    assert "--at 'tomorrow' is not an ISO 8601 time" in err
    code, _, err = _knoll(project, "schedule", "preview", "broken_schedule", "-f", "ticking.py")
    assert code == 1
    assert "schedule 'broken_schedule' could not be evaluated" in err
    assert "the warehouse is closed" in err
    code, _, err = _knoll(project, "schedule", "ticks", "nosuch")
    assert code == 2
    assert "no schedule named 'nosuch' has a state in this instance: name its location" in err
    code, out, err = _knoll(project, "schedule", "ticks", "hourly", "--location", "ticking")
    assert code == 0, err
    assert out == "schedule 'hourly' of location 'ticking' has no ticks yet\n"
    (project / "bad.py").write_text("raise ImportError('no warehouse module')\n")
    code, _, err = _knoll(project, "schedule", "list", "-f", "bad.py")
    assert code == 2
    assert "code location 'bad' did not load, so its schedules are unknown" in err
    assert "no warehouse module" in err


def test_sensors_are_previewed_and_their_cursor_set(project: Path) -> None:
    (project / "drop" / "a.csv").write_text("1")
    (project / "drop" / "b.csv").write_text("2")
    code, out, err = _knoll(project, "sensor", "list", "-f", "ticking.py")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "RUNNING (default)" in rows["new_files"]
    assert "30s" in rows["new_files"]
    assert "STOPPED (default)" in rows["every_tick"]

    code, out, err = _knoll(project, "sensor", "preview", "new_files", "-f", "ticking.py")
    assert code == 0, err
    assert out.splitlines() == [
        "tick of sensor 'new_files' from cursor None",
        "run request: job orders_job; run key a.csv",
        '  tags: {"file": "a.csv"}',
        "run request: job orders_job; run key b.csv",
        '  tags: {"file": "b.csv"}',
        "new cursor: 'b.csv'",
    ]
    code, out, _ = _knoll(project, "sensor", "cursor", "new_files", "-f", "ticking.py")
    assert out == "(no cursor)\n"  # a preview stores nothing
    code, out, err = _knoll(
        project, "sensor", "cursor", "new_files", "--set", "a.csv", "-f", "ticking.py"
    )
    assert code == 0, err
    assert out == "set the cursor to 'a.csv' of sensor 'new_files' of location 'ticking'\n"
    code, out, _ = _knoll(project, "sensor", "preview", "new_files", "-f", "ticking.py")
    assert out.splitlines()[:2] == [
        "tick of sensor 'new_files' from cursor 'a.csv'",
        "run request: job orders_job; run key b.csv",
    ]
    code, out, _ = _knoll(project, "sensor", "preview", "landing", "-f", "ticking.py")
    assert "dynamic partitions: add a, b in 'files'" in out
    code, out, _ = _knoll(project, "sensor", "cursor", "new_files", "--delete", "-f", "ticking.py")
    assert out == "deleted the cursor of sensor 'new_files' of location 'ticking'\n"
    code, _, err = _knoll(
        project, "sensor", "cursor", "new_files", "--set", "x", "--delete", "-f", "ticking.py"
    )
    assert code == 2
    assert "give --set CURSOR or --delete, not both." in err
    code, out, _ = _knoll(project, "sensor", "stop", "new_files", "-f", "ticking.py")
    assert out == "stopped sensor 'new_files' of location 'ticking'\n"
    code, out, _ = _knoll(project, "sensor", "ticks", "new_files")
    assert out == "sensor 'new_files' of location 'ticking' has no ticks yet\n"
