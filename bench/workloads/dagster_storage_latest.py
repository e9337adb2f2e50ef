"""The latest materialization of each of SIZE assets, read from Dagster's SQLite instance.

``build FOLDER SIZE`` stores one runless materialization of each asset (metadata ``index=i``)
with ``_dagster_storage.store_in_bulk``. ``read FOLDER SIZE`` opens the instance in a fresh
process (untimed), then times ``instance.get_latest_materialization_event(key)`` on
``SAMPLE`` keys spread over all of them (10,000 reads would take minutes; the per-asset time is
what is reported) and ``instance.get_latest_materialization_events(keys)`` on all of them.
Every record read is checked after timing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.workloads._common import clock, emit
from bench.workloads._dagster_storage import instance_in, runless_materialization, store_in_bulk
from bench.workloads._storage import BUILD, METADATA_KEY, asset_name, refuse, sample, step_args

SAMPLE = 500


def main() -> None:
    args = step_args()

    import dagster as dg

    keys = [dg.AssetKey(asset_name(i)) for i in range(args.size)]
    instance: Any = instance_in(Path(args.folder))
    if args.mode == BUILD:
        entries = [
            runless_materialization(keys[i], {METADATA_KEY: i}, None) for i in range(args.size)
        ]
        start = clock()
        store_in_bulk(instance, entries)
        elapsed = clock() - start
        instance.dispose()
        emit({"build_s": elapsed, "events": args.size})
        return

    indexes = sample(args.size, SAMPLE)
    start = clock()
    one_by_one = [instance.get_latest_materialization_event(keys[i]) for i in indexes]
    per_key = clock() - start

    start = clock()
    batch = instance.get_latest_materialization_events(keys)
    batched = clock() - start

    _check(indexes, keys, one_by_one, "get_latest_materialization_event")
    _check(
        range(args.size), keys, [batch.get(k) for k in keys], "get_latest_materialization_events"
    )
    instance.dispose()
    emit(
        {
            "per_key_s": per_key / len(indexes),
            "batch_s": batched / args.size,
            "batch_total_s": batched,
            "reads": len(indexes),
        }
    )


def _check(indexes: Any, keys: list[Any], entries: list[Any], how: str) -> None:
    for index, entry in zip(indexes, entries, strict=True):
        found = None if entry is None else entry.asset_materialization.metadata.get(METADATA_KEY)
        if found is None or found.value != index:
            refuse(
                "dagster", f"{how}({keys[index]}) returned {entry!r}, not materialization {index}"
            )


if __name__ == "__main__":
    main()
