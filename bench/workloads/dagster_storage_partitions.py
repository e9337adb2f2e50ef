"""The materialized partitions of one asset with SIZE partitions, from Dagster's SQLite instance.

``build FOLDER SIZE`` stores one runless materialization per partition of one asset with
``_dagster_storage.store_in_bulk``. ``read FOLDER SIZE`` opens the instance in a fresh process
(untimed), then times ``instance.get_materialized_partitions(key)`` twice (``first_s``,
``warm_s``): Dagster 1.13's closest equivalent of a status per partition that needs no
partitions definition (``get_status_by_partition`` needs one, and builds a cached status value
from the same query on its first call). The result is checked after timing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.workloads._common import clock, emit
from bench.workloads._dagster_storage import instance_in, runless_materialization, store_in_bulk
from bench.workloads._storage import (
    BUILD,
    METADATA_KEY,
    PARTITIONED_ASSET,
    partition_key,
    refuse,
    step_args,
)


def main() -> None:
    args = step_args()

    import dagster as dg

    key = dg.AssetKey(PARTITIONED_ASSET)
    instance: Any = instance_in(Path(args.folder))
    if args.mode == BUILD:
        entries = [
            runless_materialization(key, {METADATA_KEY: i}, partition_key(i))
            for i in range(args.size)
        ]
        start = clock()
        store_in_bulk(instance, entries)
        elapsed = clock() - start
        instance.dispose()
        emit({"build_s": elapsed, "events": args.size})
        return

    start = clock()
    materialized: set[str] = instance.get_materialized_partitions(key)
    first_call = clock() - start

    start = clock()
    instance.get_materialized_partitions(key)
    warm = clock() - start

    expected = {partition_key(i) for i in range(args.size)}
    if materialized != expected:
        refuse(
            "dagster",
            f"get_materialized_partitions returned {len(materialized)} partitions, "
            f"{len(expected - materialized)} of the {args.size} written missing",
        )
    instance.dispose()
    emit({"first_s": first_call, "warm_s": warm, "partitions": len(materialized)})


if __name__ == "__main__":
    main()
