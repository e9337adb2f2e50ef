"""Resident memory of ``knoll daemon run`` with many schedules and sensors in one location.

``knoll daemon run -f _daemon_knoll_defs.py`` serves SIZE schedules (cron ``0 0 1 1 *``, so no
tick is due) and SIZE sensors (``minimum_interval_seconds=30``, each returning a
``SkipReason``), all running by default, on a fresh SQLite instance with the default
settings. After ``SETTLE_S`` the VmRSS of the daemon and of every process below it (its code
server) is summed from ``/proc``. ``rss_mib``: that sum; ``peak_mib``: the highest of the
once-a-second sums before; ``daemon_mib``: the daemon process alone; ``sensor_ticks``: the
sensor ticks stored by then.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.workloads import _daemon
from bench.workloads._common import emit, size_arg

DEFS = Path(__file__).with_name("_daemon_knoll_defs.py")


def main() -> None:
    size = size_arg()
    with tempfile.TemporaryDirectory(prefix="knoll-bench-daemon-memory-") as folder:
        home = Path(folder) / "home"
        home.mkdir()
        env = _daemon.daemon_env(f"memory:{size}")
        env["KNOLL_HOME"] = str(home)
        knoll_cli = str(Path(sys.executable).parent / "knoll")
        command = [knoll_cli, "daemon", "run", "-f", str(DEFS)]
        query = "SELECT count(*) FROM ticks WHERE instigator_type = 'SENSOR'"
        figures = _daemon.settled_memory(
            command,
            env,
            Path(folder) / "daemon.log",
            lambda: _daemon.count_rows(home / "knoll.db", query),
        )
    emit(figures)


if __name__ == "__main__":
    main()
