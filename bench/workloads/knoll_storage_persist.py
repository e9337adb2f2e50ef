"""``materialize`` of a DAG of SIZE assets into a persisted SQLite instance, with knoll.

A fresh temporary home with no ``knoll.yaml`` (the default: SQLite at ``home/knoll.db``), the
in-memory IO manager, the default executor. ``open_s`` is ``Instance.get(home)`` plus the
first use of its storage (the database and its schema are created there); ``first_s`` the
first ``materialize`` into it; ``warm_s`` a second run of the same assets into the same
instance. ``events`` counts the events the first run stored, read back from the instance.
"""

from __future__ import annotations

import tempfile

from bench import dag
from bench.workloads._common import check_values, clock, emit, maxrss_mib, size_arg


def main() -> None:
    size = size_arg()
    graph = dag.build(size)

    import knoll

    assets = [knoll.asset(fn) for fn in graph.functions.values()]
    # Part of the user's definitions, like @asset: built before the clock starts.
    io_manager = knoll.InMemoryIOManager()
    resources = {"io_manager": io_manager}

    with tempfile.TemporaryDirectory(prefix="knoll-bench-home-") as home:
        start = clock()
        instance = knoll.Instance.get(home)
        _ = instance.storage
        opened = clock() - start

        start = clock()
        result = knoll.materialize(assets, instance=instance, resources=resources)
        first = clock() - start

        start = clock()
        second = knoll.materialize(assets, instance=instance, resources=resources)
        warm = clock() - start

        events = len(instance.get_events(result.run_id).records)
        warm_events = len(instance.get_events(second.run_id).records)
        peak = maxrss_mib()
        expected = dag.run_plain(graph)
        check_values({k: result.asset_value(k) for k in expected}, expected, "knoll")
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
