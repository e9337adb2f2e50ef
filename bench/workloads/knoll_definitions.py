"""Build knoll ``Definitions`` for a DAG of SIZE assets, then its code-server JSON snapshot.

``build`` is applying ``@asset`` to every function plus ``Definitions(...)``, which validates
eagerly; ``snapshot`` is ``definitions_snapshot_json``, the text a code server serves.
"""

from __future__ import annotations

import time

from bench import dag
from bench.workloads._common import clock, emit, maxrss_mib, size_arg


def main() -> None:
    size = size_arg()
    graph = dag.build(size)
    functions = list(graph.functions.values())

    # Resolved before the clock: knoll loads its public names on first use.
    from knoll import Definitions, asset
    from knoll.codeloc.snapshot import definitions_snapshot_json

    cpu_start = time.process_time()
    start = clock()
    assets = [asset(fn) for fn in functions]
    decorated = clock()
    defs = Definitions(assets=assets)
    built = clock()
    cpu_built = time.process_time()
    text = definitions_snapshot_json(defs)
    done = clock()

    emit(
        {
            "decorate_s": decorated - start,
            "definitions_s": built - decorated,
            "build_s": built - start,
            "build_cpu_s": cpu_built - cpu_start,
            "snapshot_s": done - built,
            "total_s": done - start,
            "definitions_and_snapshot_s": done - decorated,
            "snapshot_bytes": len(text.encode()),
            "maxrss_mib": maxrss_mib(),
        }
    )


if __name__ == "__main__":
    main()
