"""The code location a knoll code server serves in ``knoll_processes_launch``: the 8-step
fan-out of ``bench.workloads._processes`` as job ``fanout`` (in-process executor), its values
stored by a ``FilesystemIOManager`` in ``KNOLL_BENCH_IO_DIR``."""

from __future__ import annotations

import os

import knoll
from bench.workloads import _processes

STEPS = 8

defs = knoll.Definitions(
    assets=[knoll.asset(fn) for fn in _processes.functions(STEPS).values()],
    jobs=[knoll.define_asset_job("fanout", selection="*")],
    resources={"io_manager": knoll.FilesystemIOManager(base_dir=os.environ["KNOLL_BENCH_IO_DIR"])},
)
