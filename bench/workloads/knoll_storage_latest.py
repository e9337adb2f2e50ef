"""The latest materialization of each of SIZE assets, read from a knoll SQLite instance.

``build FOLDER SIZE`` writes one materialization of each asset (metadata ``index=i``) through
``instance.storage.store_events``, 1,000 events per batch (one transaction each), and reports
how long that took. ``read FOLDER SIZE`` opens the instance in a fresh process (untimed), then
times ``instance.get_latest_materialization(key)`` for every key (``per_key_s``, per asset) and
the batch form ``instance.storage.get_latest_materializations(keys)`` (``batch_s``, per asset).
Every record read is checked after timing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bench.workloads._common import clock, emit
from bench.workloads._storage import (
    BATCH,
    BUILD,
    METADATA_KEY,
    asset_name,
    refuse,
    step_args,
)

if TYPE_CHECKING:
    from knoll import AssetKey
    from knoll.storage.base import EventRecord


def main() -> None:
    args = step_args()

    import knoll

    keys = [knoll.AssetKey(asset_name(i)) for i in range(args.size)]
    instance = knoll.Instance.get(args.folder)
    storage = instance.storage
    if args.mode == BUILD:
        start = clock()
        for first in range(0, args.size, BATCH):
            storage.store_events(
                [
                    knoll.RunEvent(
                        event_type=knoll.EventType.ASSET_MATERIALIZATION,
                        run_id="bench-latest",
                        job_name="bench_latest",
                        timestamp=time.time(),
                        data=knoll.AssetMaterialization(keys[i], metadata={METADATA_KEY: i}),
                    )
                    for i in range(first, min(first + BATCH, args.size))
                ]
            )
        elapsed = clock() - start
        instance.dispose()
        emit({"build_s": elapsed, "events": args.size})
        return

    start = clock()
    one_by_one = [instance.get_latest_materialization(key) for key in keys]
    per_key = clock() - start

    start = clock()
    batch = storage.get_latest_materializations(keys)
    batched = clock() - start

    _check(keys, one_by_one, "get_latest_materialization")
    _check(keys, [batch.get(key) for key in keys], "get_latest_materializations")
    instance.dispose()
    emit(
        {
            "per_key_s": per_key / args.size,
            "batch_s": batched / args.size,
            "batch_total_s": batched,
            "reads": args.size,
        }
    )


def _check(keys: Sequence[AssetKey], records: Sequence[EventRecord | None], how: str) -> None:
    for index, record in enumerate(records):
        found = None
        if record is not None:
            found = record.event.materialization.metadata.get(METADATA_KEY)
        if found is None or found.value != index:
            refuse(
                "knoll", f"{how}({keys[index]}) returned {record!r}, not materialization {index}"
            )


if __name__ == "__main__":
    main()
