"""A fan-out of SIZE steps materialized with knoll's multiprocess executor, in a fresh process.

The graph is ``bench.workloads._processes`` (a source, SIZE - 2 independent assets, a sink).
A fresh temporary home with no ``knoll.yaml`` (SQLite at ``home/knoll.db``), opened and its
storage created before the clock starts; ``FilesystemIOManager`` in that home; the job is
``define_asset_job(..., executor_def=multiprocess_executor(max_concurrent=4))`` resolved by
``Definitions``. ``run_s`` is one ``execute_job(job, instance)`` call: starting the worker
pool, running every step, storing the events, stopping the pool. ``per_step_s`` is
``run_s / SIZE`` (the functions themselves take microseconds).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.workloads import _processes
from bench.workloads._common import check_values, clock, emit, maxrss_mib, size_arg


def main() -> None:
    steps = size_arg()
    functions = _processes.functions(steps)

    import knoll

    with tempfile.TemporaryDirectory(prefix="knoll-bench-processes-") as home:
        defs = knoll.Definitions(
            assets=[knoll.asset(fn) for fn in functions.values()],
            jobs=[
                knoll.define_asset_job(
                    "fanout",
                    selection="*",
                    executor_def=knoll.multiprocess_executor(max_concurrent=4),
                )
            ],
            resources={"io_manager": knoll.FilesystemIOManager(base_dir=str(Path(home) / "io"))},
        )
        job = defs.get_job_def("fanout")
        instance = knoll.Instance.get(home)
        _ = instance.storage

        start = clock()
        result = knoll.execute_job(job, instance)
        run = clock() - start

        if not result.success:
            raise SystemExit("knoll's fan-out run failed; the measurement is discarded.")
        got = {_processes.SINK: result.asset_value(_processes.SINK)}
        check_values(got, {_processes.SINK: _processes.expected_sink(steps)}, "knoll")
        events = len(instance.get_events(result.run_id).records)
        peak = maxrss_mib()
        instance.dispose()

    emit({"run_s": run, "per_step_s": run / steps, "events": events, "maxrss_mib": peak})


if __name__ == "__main__":
    main()
