"""Build Dagster ``Definitions`` for a DAG of SIZE assets, then its code-server snapshot.

``build`` is applying ``@asset`` to every function, ``Definitions(...)`` and
``get_repository_def()`` (Dagster resolves definitions lazily; the repository is what its code
server loads). ``snapshot`` is what that server returns when the webserver asks for the
repository: ``serialize_value(RepositorySnap.from_def(repo, defer_snapshots=True))``; job
snapshots are then fetched one by one on demand. ``full_snapshot_s`` adds, for reference, the
variant with every job snapshot inlined (``defer_snapshots=False``), computed second (warm).
"""

from __future__ import annotations

import time
from typing import Any

from bench import dag
from bench.workloads._common import clock, emit, maxrss_mib, size_arg


def main() -> None:
    size = size_arg()
    graph = dag.build(size)
    functions = list(graph.functions.values())

    from dagster import Definitions, asset
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._serdes import serialize_value

    cpu_start = time.process_time()
    start = clock()
    assets: list[Any] = [asset(fn) for fn in functions]
    decorated = clock()
    defs = Definitions(assets=assets)
    repo = defs.get_repository_def()
    built = clock()
    cpu_built = time.process_time()
    text: str = serialize_value(RepositorySnap.from_def(repo, defer_snapshots=True))
    done = clock()
    full: str = serialize_value(RepositorySnap.from_def(repo, defer_snapshots=False))
    full_done = clock()

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
            "full_snapshot_s": full_done - done,
            "full_snapshot_bytes": len(full.encode()),
            "maxrss_mib": maxrss_mib(),
        }
    )


if __name__ == "__main__":
    main()
