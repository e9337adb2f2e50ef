"""Run launch to first step start with Dagster, through a running ``dagster api grpc`` server.

A ``dagster api grpc`` subprocess serves ``bench.workloads._processes_dagster_defs`` on a unix
socket; once it answers a ping, a ``WorkspaceProcessContext`` on a fresh SQLite
``DAGSTER_HOME`` points at it (``GrpcServerTarget``) and loads the location. Each launch does
what ``dagster job launch`` does: the execution plan from the server and ``instance.create_run``
(Dagster's ``_create_run`` helper of its CLI), then ``instance.launch_run(run_id, workspace)``,
whose ``DefaultRunLauncher`` asks the server to start the run (a new ``dagster api
execute_run`` process). Same figures as ``knoll_processes_launch``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.workloads._common import emit
from bench.workloads._dagster_storage import instance_in

WAIT_S = 120.0
STOP_S = 5.0
LOCATION = "fanout_location"


def main() -> None:
    import dagster as dg
    from dagster._cli.job import _create_run
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import GrpcServerTarget

    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="knoll-bench-dagster-launch-") as folder:
        instance: Any = instance_in(Path(folder) / "home")
        _ = (instance.run_storage, instance.event_log_storage)
        socket = str(Path(folder) / "server.sock")
        dagster_cli = str(Path(sys.executable).parent / "dagster")
        command = [dagster_cli, "api", "grpc", "--socket", socket, "-d", str(root)]
        command += ["-m", "bench.workloads._processes_dagster_defs", "--location-name", LOCATION]
        server = subprocess.Popen(
            command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_ready(socket, server)
            target = GrpcServerTarget(
                host="localhost", port=None, socket=socket, location_name=LOCATION
            )
            with WorkspaceProcessContext(instance, target) as process_context:
                workspace = process_context.create_request_context()
                location = workspace.get_code_location(LOCATION)
                repository = next(iter(location.get_repositories().values()))
                remote_job = repository.get_full_job("fanout")
                figures: list[float] = []
                call = 0.0
                for _attempt in range(2):
                    start = time.time()
                    run = _create_run(
                        instance=instance,
                        code_location=location,
                        remote_repo=repository,
                        remote_job=remote_job,
                        run_config={},
                        tags=None,
                        op_selection=None,
                        run_id=None,
                    )
                    instance.launch_run(run.run_id, workspace)
                    call = call or time.time() - start
                    while not instance.get_run_by_id(run.run_id).is_finished:
                        if time.time() - start > WAIT_S:
                            raise SystemExit(f"run {run.run_id} did not finish")
                        time.sleep(0.01)
                    status = instance.get_run_by_id(run.run_id).status
                    if status != dg.DagsterRunStatus.SUCCESS:
                        raise SystemExit(f"run {run.run_id} ended {status}; measurement discarded")
                    starts = [
                        entry.timestamp
                        for entry in instance.all_logs(
                            run.run_id, of_type=dg.DagsterEventType.STEP_START
                        )
                    ]
                    figures.append(min(starts) - start)
            instance.dispose()
        finally:
            _stop(server)

    emit({"first_s": figures[0], "second_s": figures[1], "call_s": call})


def _wait_ready(socket: str, server: subprocess.Popen[bytes]) -> None:
    """Ping the gRPC server until it answers; exit if it dies or takes over ``WAIT_S``."""
    from dagster._grpc.client import DagsterGrpcClient

    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            DagsterGrpcClient(socket=socket).ping("ready")
            return
        except Exception:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the dagster gRPC server did not start") from None
            time.sleep(0.05)


def _stop(server: subprocess.Popen[bytes]) -> None:
    # The gRPC server does not always stop on SIGTERM (seen under load): do not wait
    # for it long, the figures are taken.
    server.terminate()
    try:
        server.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=STOP_S)


if __name__ == "__main__":
    main()
