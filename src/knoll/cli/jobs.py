"""``knoll job``: execute a job into the instance."""

from __future__ import annotations

from collections.abc import Sequence

import click

from knoll.cli._common import load_definitions, location_options, open_instance, parse_tags


@click.group()
def job() -> None:
    """Execute jobs."""


@job.command("execute")
@location_options
@click.option("-j", "--job", "job_name", required=True, help="Name of the job to execute.")
@click.option("--config", "config_path", help="Run config YAML file.")
@click.option("--partition", help="Partition key.")
@click.option("--tag", "tags", multiple=True, help="Run tag key=value (repeatable).")
def job_execute(
    module_name: str | None,
    python_file: str | None,
    working_directory: str | None,
    job_name: str,
    config_path: str | None,
    partition: str | None,
    tags: Sequence[str],
) -> None:
    """Execute a job in this process, recording the run in the instance."""
    from knoll.cli._execute import execute_job

    run_tags = parse_tags(tags)
    defs = load_definitions(module_name, python_file, working_directory)
    from knoll.defs.run_config import load_run_config

    job_def = defs.get_job_def(job_name)
    run_config = load_run_config(config_path) if config_path else None
    execute_job(
        job_def,
        open_instance(),
        headline=f"executing {job_def.describe()}",
        run_config=run_config,
        partition_key=partition,
        tags=run_tags,
    )
