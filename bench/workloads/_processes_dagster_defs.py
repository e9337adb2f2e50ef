"""The code location a ``dagster api grpc`` server serves in ``dagster_processes_launch``: the
8-step fan-out of ``bench.workloads._processes`` as job ``fanout``, with the in-process
executor as knoll's launched run has (Dagster's default IO manager, in ``DAGSTER_HOME``)."""

from __future__ import annotations

import dagster as dg

from bench.workloads import _processes

STEPS = 8

defs = dg.Definitions(
    assets=[dg.asset(fn) for fn in _processes.functions(STEPS).values()],
    jobs=[
        dg.define_asset_job("fanout", selection="*", executor_def=dg.in_process_executor),
    ],
)
