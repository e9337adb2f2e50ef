"""The floor: the DAG's functions called in topological order by a plain loop, no orchestrator.

``first_s`` is the first pass in a fresh process, ``best_s`` the fastest of several more.
"""

from __future__ import annotations

from bench import dag
from bench.workloads._common import clock, emit, size_arg

_PASSES = 5


def main() -> None:
    size = size_arg()
    graph = dag.build(size)

    start = clock()
    dag.run_plain(graph)
    first = clock() - start

    best = first
    for _ in range(_PASSES):
        start = clock()
        dag.run_plain(graph)
        best = min(best, clock() - start)
    emit({"first_s": first, "best_s": best})


if __name__ == "__main__":
    main()
