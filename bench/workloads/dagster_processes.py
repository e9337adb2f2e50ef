"""A fan-out of SIZE steps run by Dagster's multiprocess executor, in a fresh process.

``python -m bench.workloads.dagster_processes SIZE METHOD``, METHOD ``spawn`` (Dagster's
default start method) or ``forkserver`` (chosen by run config). Same graph as
``knoll_processes``; a fresh temporary ``DAGSTER_HOME`` with SQLite storage and telemetry off,
the instance opened and its storage created before the clock starts. ``run_s`` is one
``execute_job(reconstructable(fanout_job), instance=...)`` with the default executor (the
multiprocess one, one worker per CPU) and the default IO manager (pickles in the instance's
storage folder; the sink's is read back after timing). Workers re-import this module, which
rebuilds the job from ``KNOLL_BENCH_FANOUT_STEPS`` in the environment.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.workloads import _processes
from bench.workloads._common import check_values, clock, emit, maxrss_mib
from bench.workloads._dagster_storage import instance_in

STEPS_VARIABLE = "KNOLL_BENCH_FANOUT_STEPS"
METHODS = ("spawn", "forkserver")


def fanout_job() -> Any:
    """The job Dagster reconstructs in each worker process."""
    import dagster as dg

    steps = int(os.environ[STEPS_VARIABLE])
    assets = [dg.asset(fn) for fn in _processes.functions(steps).values()]
    defs = dg.Definitions(assets=assets, jobs=[dg.define_asset_job("fanout", selection="*")])
    return defs.resolve_job_def("fanout")


def main() -> None:
    args = sys.argv[1:]
    if len(args) != 2 or not args[0].isdigit() or args[1] not in METHODS:
        raise SystemExit(f"usage: python -m {__spec__.name} SIZE {{spawn,forkserver}} ({args!r})")
    steps, method = int(args[0]), args[1]
    os.environ[STEPS_VARIABLE] = str(steps)

    import dagster as dg

    run_config: dict[str, Any] = {}
    if method != "spawn":
        start_method: dict[str, Any] = {"start_method": {method: {}}}
        run_config = {"execution": {"config": {"multiprocess": start_method}}}

    with tempfile.TemporaryDirectory(prefix="knoll-bench-dagster-processes-") as home:
        instance: Any = instance_in(Path(home))
        _ = (instance.run_storage, instance.event_log_storage)
        job = dg.reconstructable(fanout_job)

        start = clock()
        result: Any = dg.execute_job(job, instance=instance, run_config=run_config)
        run = clock() - start

        if not result.success:
            raise SystemExit("Dagster's fan-out run failed; the measurement is discarded.")
        # The default IO manager pickles each asset at storage/<asset key> (what
        # result.output_for_node would look for under the run's step outputs instead).
        stored = (Path(home) / "storage" / _processes.SINK).read_bytes()
        got = {_processes.SINK: pickle.loads(stored)}
        check_values(got, {_processes.SINK: _processes.expected_sink(steps)}, "dagster")
        events = len(instance.all_logs(result.run_id))
        peak = maxrss_mib()
        instance.dispose()

    emit({"run_s": run, "per_step_s": run / steps, "events": events, "maxrss_mib": peak})


if __name__ == "__main__":
    main()
