"""The cereal pipeline as ops wired into a job: the same steps as ``assets.py``, as a task graph.

Run it with ``defs.get_job_def("cereal_job").execute_in_process()``; slow the sugar step down
with run config ``{"ops": {"add_sugar_per_cup": {"config": {"delay": 2.0}}}}``.
"""

from __future__ import annotations

import statistics
import time

from examples.cereal.common import Cereal, OutputDirectory, read_cereals, sugar_per_cup, write_csv
from knoll import Definitions, Field, OpExecutionContext, job, op

SUGARIEST_FILE = "sugariest_cereals.csv"


@op
def load_cereals() -> list[Cereal]:
    """Read the bundled cereal.csv."""
    return read_cereals()


@op(
    config_schema={
        "delay": Field(
            float,
            default_value=0.0,
            description="Seconds to wait first, to watch a slow step in the UI.",
        )
    }
)
def add_sugar_per_cup(context: OpExecutionContext, cereals: list[Cereal]) -> list[Cereal]:
    """Add the grams of sugar per cup to every cereal."""
    delay: float = context.op_config["delay"]
    if delay > 0:
        context.log.info(f"waiting {delay} s before computing sugar per cup")
        time.sleep(delay)
    return [{**cereal, "sugar_per_cup": sugar_per_cup(cereal)} for cereal in cereals]


@op
def compute_cutoff(cereals: list[Cereal]) -> float:
    """The 75th percentile of sugar per cup."""
    values: list[float] = [c["sugar_per_cup"] for c in cereals]
    return statistics.quantiles(values, n=4)[2]


@op
def filter_below_cutoff(cereals: list[Cereal], cutoff: float) -> list[Cereal]:
    """Drop the cereals at or below the cutoff, keeping the sugariest quarter."""
    return [c for c in cereals if c["sugar_per_cup"] > cutoff]


@op
def write_sugariest(
    context: OpExecutionContext, cereals: list[Cereal], output_dir: OutputDirectory
) -> str:
    """Write the sugariest cereals to a CSV file and return its path."""
    path = output_dir.file(SUGARIEST_FILE)
    write_csv(path, cereals)
    context.log.info(f"wrote {len(cereals)} cereals to {path}")
    return str(path)


@job
def cereal_job() -> None:
    """Find the sugariest quarter of the cereals and write it to a CSV file."""
    with_sugar = add_sugar_per_cup(load_cereals())
    write_sugariest(filter_below_cutoff(with_sugar, compute_cutoff(with_sugar)))


defs = Definitions(jobs=[cereal_job], resources={"output_dir": OutputDirectory()})
