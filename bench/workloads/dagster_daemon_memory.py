"""Resident memory of ``dagster-daemon run`` with many schedules and sensors in one location.

The definitions of ``knoll_daemon_memory`` under ``dagster-daemon run -f
_daemon_dagster_defs.py``, on a fresh SQLite ``DAGSTER_HOME`` (telemetry off, Dagster's
defaults otherwise); the daemon starts a ``dagster api grpc`` code server for the file. Same
figures as ``knoll_daemon_memory`` (the sensor ticks counted in the schedule storage's
``job_ticks`` table).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.workloads import _daemon
from bench.workloads._common import emit, size_arg
from bench.workloads._dagster_storage import write_settings

DEFS = Path(__file__).with_name("_daemon_dagster_defs.py")


def main() -> None:
    size = size_arg()
    with tempfile.TemporaryDirectory(prefix="knoll-bench-dagster-daemon-memory-") as folder:
        home = Path(folder) / "home"
        write_settings(home)  # also sets DAGSTER_HOME for the daemon
        env = _daemon.daemon_env(f"memory:{size}")
        daemon_cli = str(Path(sys.executable).parent / "dagster-daemon")
        command = [daemon_cli, "run", "-f", str(DEFS)]
        database = home / "storage" / "schedules" / "schedules.db"
        query = "SELECT count(*) FROM job_ticks WHERE type = 'SENSOR'"
        figures = _daemon.settled_memory(
            command,
            env,
            Path(folder) / "daemon.log",
            lambda: _daemon.count_rows(database, query),
        )
    emit(figures)


if __name__ == "__main__":
    main()
