"""Run launch to first step start with knoll, through a warm code server.

A ``knoll code-server start`` subprocess serves ``bench.workloads._processes_knoll_defs`` on a unix
socket; once its ``health()`` says the location is loaded (the code is imported, and what run
workers need too), runs of job ``fanout`` are
launched with ``Instance.launch_run(LaunchRequest(...), CodeServerClient(...))`` into a
SQLite instance in a fresh temporary home. ``first_s`` / ``second_s``: the first / second
launch, from just before the call to the timestamp of the run's first STEP_START event (the
server forks a run worker for each). ``call_s``: how long the first ``launch_run`` call
itself took. Each run is waited for and must succeed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.workloads._common import emit

WAIT_S = 60.0


def main() -> None:
    from knoll import Instance, LaunchRequest
    from knoll.codeloc.client import CodeServerClient
    from knoll.execution.events import EventType

    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="knoll-bench-launch-") as folder:
        socket = str(Path(folder) / "server.sock")
        env = {**os.environ, "KNOLL_BENCH_IO_DIR": str(Path(folder) / "io")}
        knoll_cli = str(Path(sys.executable).parent / "knoll")
        command = [knoll_cli, "code-server", "start", "-d", str(root)]
        command += ["-m", "bench.workloads._processes_knoll_defs", "--socket", socket]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            client = CodeServerClient(socket_path=socket)
            deadline = time.monotonic() + WAIT_S
            while True:
                try:
                    # the server answers while it loads; warm means loaded, as Dagster's
                    # gRPC server answers its ping only once its code is loaded
                    if client.health(timeout=1.0).load_status != "loading":
                        break
                except Exception:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the knoll code server did not start") from None
                    time.sleep(0.02)

            with Instance.get(Path(folder) / "home") as instance:
                _ = instance.storage
                figures: list[float] = []
                call = 0.0
                for _attempt in range(2):
                    start = time.time()
                    record = instance.launch_run(LaunchRequest(job_name="fanout"), client)
                    call = call or time.time() - start
                    run_id = record.run.run_id
                    while not instance.get_run(run_id).run.is_finished:
                        if time.time() - start > WAIT_S:
                            raise SystemExit(f"run {run_id} did not finish")
                        time.sleep(0.01)
                    if instance.get_run(run_id).run.status.name != "SUCCESS":
                        raise SystemExit(f"run {run_id} failed; the measurement is discarded")
                    starts = [
                        r.event.timestamp
                        for r in instance.get_events(run_id).records
                        if r.event.event_type is EventType.STEP_START
                    ]
                    figures.append(min(starts) - start)
        finally:
            server.terminate()
            server.wait(timeout=WAIT_S)

    emit({"first_s": figures[0], "second_s": figures[1], "call_s": call})


if __name__ == "__main__":
    main()
