"""``materialize`` of a DAG of SIZE assets into a persisted SQLite instance, with Dagster.

A fresh temporary ``DAGSTER_HOME`` whose ``dagster.yaml`` puts storage on SQLite in that folder
(Dagster's default persisted instance: run storage in one database, the event log sharded
into one database per run plus an index database), telemetry off so that nothing but storage
is written; ``mem_io_manager``, the default executor, the console logger (stderr goes to a
file in the harness). Same measurements as ``knoll_storage_persist``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench import dag
from bench.workloads._common import check_values, clock, emit, maxrss_mib, size_arg
from bench.workloads._dagster_storage import instance_in, write_settings


def main() -> None:
    size = size_arg()
    graph = dag.build(size)

    import dagster as dg

    assets: list[Any] = [dg.asset(fn) for fn in graph.functions.values()]
    resources = {"io_manager": dg.mem_io_manager}

    with tempfile.TemporaryDirectory(prefix="knoll-bench-dagster-home-") as home:
        write_settings(Path(home))
        start = clock()
        instance: Any = instance_in(Path(home))
        _ = (instance.run_storage, instance.event_log_storage)
        opened = clock() - start

        start = clock()
        result: Any = dg.materialize(assets, instance=instance, resources=resources)
        first = clock() - start

        start = clock()
        second: Any = dg.materialize(assets, instance=instance, resources=resources)
        warm = clock() - start

        events = len(instance.all_logs(result.run_id))
        warm_events = len(instance.all_logs(second.run_id))
        peak = maxrss_mib()
        expected = dag.run_plain(graph)
        check_values({k: result.output_for_node(k) for k in expected}, expected, "dagster")
        instance.dispose()

    emit(
        {
            "open_s": opened,
            "first_s": first,
            "total_s": opened + first,
            "warm_s": warm,
            "events": events,
            "events_per_s": events / first,
            "warm_events_per_s": warm_events / warm,
            "maxrss_mib": peak,
        }
    )


if __name__ == "__main__":
    main()
