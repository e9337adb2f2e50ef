"""Build knoll ``Definitions`` for a DAG of SIZE assets, then its code-server JSON snapshot.

``build`` is applying ``@asset`` to every function plus ``Definitions(...)``, which validates
eagerly; ``snapshot`` is ``definitions_snapshot_json``, the text a code server serves.
"""

from __future__ import annotations

from bench import dag
from bench.workloads._common import clock, emit, maxrss_mib, size_arg


def main() -> None:
    size = size_arg()
    graph = dag.build(size)
    functions = list(graph.functions.values())

    import knoll
    from knoll.codeloc.snapshot import definitions_snapshot_json

    start = clock()
    assets = [knoll.asset(fn) for fn in functions]
    decorated = clock()
    defs = knoll.Definitions(assets=assets)
    built = clock()
    text = definitions_snapshot_json(defs)
    done = clock()

    emit(
        {
            "decorate_s": decorated - start,
            "definitions_s": built - decorated,
            "build_s": built - start,
            "snapshot_s": done - built,
            "total_s": done - start,
            "definitions_and_snapshot_s": done - decorated,
            "snapshot_bytes": len(text.encode()),
            "maxrss_mib": maxrss_mib(),
        }
    )


if __name__ == "__main__":
    main()
