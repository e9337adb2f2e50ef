"""The code location of the ``processes`` fan-out for knoll: ``KNOLL_BENCH_STEPS`` steps of
``bench.workloads._processes`` as job ``fanout`` with ``multiprocess_executor(max_concurrent=4,
start_method=$KNOLL_BENCH_START_METHOD)``, values stored in ``KNOLL_BENCH_IO_DIR``.

Loaded as a code location (not built in the script) so that workers which do not fork from
the run's process (forkserver) can load it again, as they would a user's project.
"""

from __future__ import annotations

import os

import knoll
from bench.workloads import _processes

defs = knoll.Definitions(
    assets=[
        knoll.asset(fn)
        for fn in _processes.functions(int(os.environ["KNOLL_BENCH_STEPS"])).values()
    ],
    jobs=[
        knoll.define_asset_job(
            "fanout",
            selection="*",
            executor_def=knoll.multiprocess_executor.configured(
                {"max_concurrent": 4, "start_method": os.environ["KNOLL_BENCH_START_METHOD"]}
            ),
        )
    ],
    resources={"io_manager": knoll.FilesystemIOManager(base_dir=os.environ["KNOLL_BENCH_IO_DIR"])},
)
