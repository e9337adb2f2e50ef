"""``import knoll`` in a fresh interpreter: the time of the import statement alone, then of
getting ``asset`` and ``Definitions`` from it (what a module declaring assets needs)."""

from __future__ import annotations

import importlib
import time


def main() -> None:
    # Nothing else is imported before the timed import, so no shared dependency is preloaded.
    start = time.perf_counter()
    module = importlib.import_module("knoll")
    elapsed = time.perf_counter() - start
    # `from knoll import asset, Definitions`: knoll loads these names on first use.
    for name in ("asset", "Definitions"):
        getattr(module, name)
    declaring = time.perf_counter() - start

    from bench.workloads._common import emit, maxrss_mib

    emit({"import_s": elapsed, "declaring_import_s": declaring, "maxrss_mib": maxrss_mib()})


if __name__ == "__main__":
    main()
