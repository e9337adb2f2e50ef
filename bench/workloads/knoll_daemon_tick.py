"""From a schedule's tick time to its run's first step start, with ``knoll daemon run``.

``knoll daemon run -f _daemon_knoll_defs.py`` (one asset, a ``* * * * *`` schedule, running
by default) starts on a fresh SQLite instance ``LEAD_S`` before a minute boundary; the script
polls storage for the first run and its first STEP_START event. ``latency_s``: that event's
timestamp minus the boundary (the tick's scheduled time). The daemon runs with its defaults
(``schedules:interval_seconds`` 1, ``run_queue:dequeue_interval_seconds`` 5), unless the
optional argument gives another dequeue interval, written to ``knoll.yaml``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.workloads import _daemon
from bench.workloads._common import emit

DEFS = Path(__file__).with_name("_daemon_knoll_defs.py")


def write_settings(home: Path, dequeue_interval: str | None) -> None:
    home.mkdir(parents=True, exist_ok=True)
    if dequeue_interval is not None:
        float(dequeue_interval)  # refuse anything else before it reaches knoll.yaml
        text = f"run_queue:\n  dequeue_interval_seconds: {dequeue_interval}\n"
        (home / "knoll.yaml").write_text(text)


def main() -> None:
    from knoll import Instance
    from knoll.execution.events import EventType

    dequeue_interval = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory(prefix="knoll-bench-daemon-tick-") as folder:
        home = Path(folder) / "home"
        write_settings(home, dequeue_interval)
        env = _daemon.daemon_env("tick")
        env["KNOLL_HOME"] = str(home)
        knoll_cli = str(Path(sys.executable).parent / "knoll")
        command = [knoll_cli, "daemon", "run", "-f", str(DEFS)]
        with Instance.get(home) as instance:

            def first_step_start() -> float | None:
                runs = instance.get_runs(limit=1).records
                if not runs:
                    return None
                events = instance.get_events(runs[0].run.run_id, of_types=[EventType.STEP_START])
                starts = [record.event.timestamp for record in events.records]
                return min(starts) if starts else None

            log = Path(folder) / "daemon.log"
            figures = _daemon.tick_latency(command, env, log, first_step_start)
    emit(figures)


if __name__ == "__main__":
    main()
