"""A fan-out of SIZE steps materialized with knoll's multiprocess executor, in a fresh process.

Usage: ``python -m bench.workloads.knoll_processes SIZE [fork|forkserver]``. The graph is
``bench.workloads._processes`` (a source, SIZE - 2 independent assets, a sink), loaded as the
code location ``bench.workloads._processes_knoll_fanout`` (job ``fanout``,
``multiprocess_executor`` with ``max_concurrent=4`` and the start method given, default
``fork``). A fresh temporary home with no ``knoll.yaml`` (SQLite at ``home/knoll.db``), opened
and its storage created before the clock starts; ``FilesystemIOManager`` in that home.
``run_s`` is one ``execute_job(job, instance)`` call: starting the worker pool (with
``forkserver``: starting the forkserver, which imports the code location again), running every
step, storing the events, stopping the pool. ``per_step_s`` is ``run_s / SIZE`` (the functions
themselves take microseconds).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bench.workloads import _processes
from bench.workloads._common import check_values, clock, emit, maxrss_mib, size_arg


def main() -> None:
    steps = size_arg(sys.argv[1:2])
    method = sys.argv[2] if len(sys.argv) > 2 else "fork"

    import knoll
    from knoll.codeloc.loader import CodeLocationTarget, load_definitions

    with tempfile.TemporaryDirectory(prefix="knoll-bench-processes-") as home:
        os.environ["KNOLL_BENCH_STEPS"] = str(steps)
        os.environ["KNOLL_BENCH_START_METHOD"] = method
        os.environ["KNOLL_BENCH_IO_DIR"] = str(Path(home) / "io")
        target = CodeLocationTarget(module_name="bench.workloads._processes_knoll_fanout")
        job = load_definitions(target).get_job_def("fanout")
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
