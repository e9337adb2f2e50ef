"""``materialize_to_memory`` of a DAG of SIZE assets with knoll, twice in one fresh process.

``first_s`` is the first call (what a test or a script pays), ``warm_s`` a second call of the
same assets; ``maxrss_mib`` is the peak RSS right after the first call. Values are checked
against the plain loop of ``bench.dag`` after timing.
"""

from __future__ import annotations

from bench import dag
from bench.workloads._common import check_values, clock, emit, maxrss_mib, size_arg


def main() -> None:
    size = size_arg()
    graph = dag.build(size)

    import knoll

    assets = [knoll.asset(fn) for fn in graph.functions.values()]

    start = clock()
    result = knoll.materialize_to_memory(assets)
    first = clock() - start
    peak = maxrss_mib()
    events = len(result.all_events)

    start = clock()
    knoll.materialize_to_memory(assets)
    warm = clock() - start

    expected = dag.run_plain(graph)
    check_values({k: result.asset_value(k) for k in expected}, expected, "knoll")
    emit({"first_s": first, "warm_s": warm, "maxrss_mib": peak, "events": events})


if __name__ == "__main__":
    main()
