"""The status of every partition of one asset with SIZE partitions, from a knoll SQLite instance.

``build FOLDER SIZE`` writes one materialization per partition of one asset through
``instance.storage.store_events``, 1,000 events per batch (one transaction each). ``read FOLDER
SIZE`` opens the instance in a fresh process (untimed), then times
``instance.get_partition_status(key)`` twice: ``first_s`` is the first call in the process,
``warm_s`` the second. The statuses are checked after timing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from bench.workloads._common import clock, emit
from bench.workloads._storage import (
    BATCH,
    BUILD,
    METADATA_KEY,
    PARTITIONED_ASSET,
    partition_key,
    refuse,
    step_args,
)


def main() -> None:
    args = step_args()

    import knoll

    key = knoll.AssetKey(PARTITIONED_ASSET)
    instance = knoll.Instance.get(args.folder)
    storage = instance.storage
    if args.mode == BUILD:
        start = clock()
        for first in range(0, args.size, BATCH):
            storage.store_events(
                [
                    knoll.RunEvent(
                        event_type=knoll.EventType.ASSET_MATERIALIZATION,
                        run_id="bench-partitions",
                        job_name="bench_partitions",
                        timestamp=time.time(),
                        data=knoll.AssetMaterialization(
                            key, metadata={METADATA_KEY: i}, partition=partition_key(i)
                        ),
                    )
                    for i in range(first, min(first + BATCH, args.size))
                ]
            )
        elapsed = clock() - start
        instance.dispose()
        emit({"build_s": elapsed, "events": args.size})
        return

    start = clock()
    status = instance.get_partition_status(key)
    first_call = clock() - start

    start = clock()
    instance.get_partition_status(key)
    warm = clock() - start

    _check(status, args.size, knoll.PartitionStatus.MATERIALIZED)
    instance.dispose()
    emit({"first_s": first_call, "warm_s": warm, "partitions": len(status)})


def _check(status: Mapping[str, object], size: int, materialized: object) -> None:
    wrong = [partition_key(i) for i in range(size) if status.get(partition_key(i)) != materialized]
    if wrong or len(status) != size:
        refuse(
            "knoll",
            f"get_partition_status returned {len(status)} partitions, {len(wrong)} of the "
            f"{size} written not MATERIALIZED (first: {wrong[:1]})",
        )


if __name__ == "__main__":
    main()
