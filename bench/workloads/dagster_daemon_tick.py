"""From a schedule's tick time to its run's first step start, with ``dagster-daemon run``.

``dagster-daemon run -f _daemon_dagster_defs.py`` (the definitions of ``knoll_daemon_tick``)
starts on a fresh SQLite ``DAGSTER_HOME`` (telemetry off; otherwise Dagster's defaults: the
``QueuedRunCoordinator`` and the ``DefaultRunLauncher``) ``LEAD_S`` before a minute boundary;
``DagsterInstance.get()`` is polled for the first run and its first STEP_START event. Same
figures as ``knoll_daemon_tick``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.workloads import _daemon
from bench.workloads._common import emit
from bench.workloads._dagster_storage import instance_in

DEFS = Path(__file__).with_name("_daemon_dagster_defs.py")


def main() -> None:
    import dagster as dg

    with tempfile.TemporaryDirectory(prefix="knoll-bench-dagster-daemon-tick-") as folder:
        home = Path(folder) / "home"
        instance: Any = instance_in(home)  # also sets DAGSTER_HOME for the daemon
        env = _daemon.daemon_env("tick")
        daemon_cli = str(Path(sys.executable).parent / "dagster-daemon")
        command = [daemon_cli, "run", "-f", str(DEFS)]

        def first_step_start() -> float | None:
            runs = instance.get_runs(limit=1)
            if not runs:
                return None
            starts = [
                entry.timestamp
                for entry in instance.all_logs(
                    runs[0].run_id, of_type=dg.DagsterEventType.STEP_START
                )
            ]
            return min(starts) if starts else None

        figures = _daemon.tick_latency(command, env, Path(folder) / "daemon.log", first_step_start)
        instance.dispose()
    emit(figures)


if __name__ == "__main__":
    main()
