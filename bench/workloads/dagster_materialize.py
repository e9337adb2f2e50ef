"""``materialize_to_memory`` of a DAG of SIZE assets with Dagster, twice in one fresh process.

Dagster runs with its defaults: an ephemeral instance per call, the in-process executor, the
in-memory IO manager and its console logger (stderr goes to /dev/null in the harness). Same
measurements as ``knoll_materialize``.
"""

from __future__ import annotations

from typing import Any

from bench import dag
from bench.workloads._common import check_values, clock, emit, maxrss_mib, size_arg


def main() -> None:
    size = size_arg()
    graph = dag.build(size)

    import dagster as dg

    assets: list[Any] = [dg.asset(fn) for fn in graph.functions.values()]

    start = clock()
    result: Any = dg.materialize_to_memory(assets)
    first = clock() - start
    peak = maxrss_mib()
    events = len(result.all_events)

    start = clock()
    dg.materialize_to_memory(assets)
    warm = clock() - start

    expected = dag.run_plain(graph)
    check_values({k: result.output_for_node(k) for k in expected}, expected, "dagster")
    emit({"first_s": first, "warm_s": warm, "maxrss_mib": peak, "events": events})


if __name__ == "__main__":
    main()
