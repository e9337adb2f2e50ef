"""What the storage workload scripts share: their arguments and the data both systems store.

The ``latest`` and ``partitions`` workloads run in two steps so that the store is written once
per benchmark run and every timed read comes from a fresh process::

    python -m bench.workloads.<system>_storage_<name> build FOLDER SIZE
    python -m bench.workloads.<system>_storage_<name> read FOLDER SIZE

Only standard-library imports here: both systems' venvs import this module.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BUILD = "build"
READ = "read"

PARTITIONED_ASSET = "events_by_key"
# The metadata each stored materialization carries, so that a read can be checked.
METADATA_KEY = "index"
# Rows per transaction when building a store: a real writer's batch, not one giant transaction.
BATCH = 1_000


@dataclass(frozen=True)
class StepArgs:
    """The parsed command line of a two-step storage workload."""

    mode: str
    folder: Path
    size: int


def step_args(argv: Sequence[str] | None = None) -> StepArgs:
    """``build|read FOLDER SIZE`` from the command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] not in (BUILD, READ) or not args[2].isdigit():
        raise SystemExit(
            f"usage: python -m bench.workloads.<script> build|read FOLDER SIZE (got {args!r})"
        )
    return StepArgs(mode=args[0], folder=Path(args[1]), size=int(args[2]))


def asset_name(index: int) -> str:
    """The name of the ``index``-th asset of the ``latest`` workload."""
    return f"asset_{index:06d}"


def partition_key(index: int) -> str:
    """The ``index``-th partition key of the ``partitions`` workload."""
    return f"p{index:06d}"


def sample(size: int, count: int) -> list[int]:
    """``count`` indexes spread evenly over ``range(size)`` (all of them when ``count >= size``)."""
    if count >= size:
        return list(range(size))
    step = size / count
    return [int(i * step) for i in range(count)]


def refuse(system: str, what: str) -> None:
    """Stop without a measurement: the store did not return what was written."""
    raise SystemExit(f"{system}: {what}; the measurement is discarded.")
