"""Helpers the workload scripts share: argument parsing, timing, peak memory, the JSON line."""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Mapping, Sequence

clock = time.perf_counter


def size_arg(argv: Sequence[str] | None = None) -> int:
    """The DAG size given as the script's single argument."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].isdigit():
        raise SystemExit(f"usage: python -m bench.workloads.<script> SIZE (got {args!r})")
    return int(args[0])


def maxrss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_values(got: Mapping[str, object], expected: Mapping[str, int], system: str) -> None:
    """Refuse to report a time for a run that computed wrong values."""
    wrong = [name for name, value in expected.items() if got.get(name) != value]
    if wrong:
        raise SystemExit(
            f"{system} computed wrong values for {len(wrong)} assets (first: {wrong[0]!r}); "
            "the measurement is discarded."
        )


def emit(measurements: Mapping[str, float | int | str]) -> None:
    """Print the measurements as the one JSON line the harness reads (the last stdout line)."""
    sys.stdout.write(json.dumps(dict(measurements), sort_keys=True) + "\n")
    sys.stdout.flush()
