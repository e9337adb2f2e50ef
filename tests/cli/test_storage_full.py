"""``knoll asset materialize`` with its instance home on a disk that fills up mid-run (a small
tmpfs): one clear error line, every event stored before kept, nothing reported as materialized
that was not stored, and the run FAILURE once the disk has room again."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.defs.keys import AssetKey
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from tests.cli.helpers import knoll

FILLING_PROJECT = textwrap.dedent(
    """
    import time

    from knoll import Definitions, asset


    @asset
    def first(context) -> int:
        for line in range(50):
            context.log.info("first %d", line)
        return 1


    @asset
    def noisy(context, first: int) -> int:
        for line in range(20000):
            context.log.info("noisy %d %s", line, "x" * 200)
            if line % 100 == 0:
                time.sleep(0.01)
        return 2


    defs = Definitions(assets=[first, noisy])
    """
)

SETTINGS = """run_monitoring:
  heartbeat_interval_seconds: 0.2
  heartbeat_timeout_seconds: 2
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, mounted for the test (skipped where mounting is not permitted)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small disk to fill")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)


def test_a_full_disk_stops_the_run_with_one_line_and_keeps_what_was_stored(
    tmp_path: Path, small_disk: Path
) -> None:
    (tmp_path / "filling.py").write_text(FILLING_PROJECT)
    home = small_disk / ".knoll"
    home.mkdir()
    (home / "knoll.yaml").write_text(SETTINGS)

    done = knoll(
        "asset", "materialize", "-f", "filling.py", cwd=tmp_path, env={"KNOLL_HOME": str(home)}
    )

    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"error: could not write to the SQLite database at {home / 'knoll.db'}: "
        "database or disk is full; run "
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert "materialized first" in done.stdout
    assert "materialized noisy" not in done.stdout

    # room again (as after deleting files): the monitor, or the run itself, ended it FAILURE
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    monitored = knoll("run", "monitor", "--once", cwd=tmp_path, env={"KNOLL_HOME": str(home)})
    assert monitored.returncode == 0, monitored.stderr
    with Instance.get(home) as instance:
        record = instance.get_runs().records[0]
        run_id = record.run.run_id
        assert record.run.status is RunStatus.FAILURE
        failure = instance.events_of_run(run_id, [EventType.RUN_FAILURE])[-1].message
        assert "storage failed a write" in failure
        # the first step's events were stored before the disk filled: all of them are kept
        first_lines = [
            e
            for e in instance.events_of_run(run_id, [EventType.LOG_MESSAGE])
            if e.step_key == "first"
        ]
        assert len(first_lines) == 50
        assert instance.get_latest_materialization(AssetKey("first")) is not None
        assert instance.get_latest_materialization(AssetKey("noisy")) is None
