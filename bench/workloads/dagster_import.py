"""``import dagster`` in a fresh interpreter: the time of the import statement alone."""

from __future__ import annotations

import importlib
import time


def main() -> None:
    # Nothing else is imported before the timed import, so no shared dependency is preloaded.
    start = time.perf_counter()
    importlib.import_module("dagster")
    elapsed = time.perf_counter() - start

    from bench.workloads._common import emit, maxrss_mib

    emit({"import_s": elapsed, "maxrss_mib": maxrss_mib()})


if __name__ == "__main__":
    main()
