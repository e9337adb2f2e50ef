"""The ``knoll`` command.

Exit codes: 0 success, 1 a run failed, 2 a usage or definition error. Errors are printed as
messages, never as a traceback headline. Heavy imports happen inside the commands so that
``knoll --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from knoll.definitions.definitions import Definitions
    from knoll.execution.result import ExecuteInProcessResult

F = TypeVar("F", bound=Callable[..., Any])

EXIT_RUN_FAILED = 1
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _location_options(fn: F) -> F:
    fn = click.option(
        "-f", "--python-file", "python_file", help="Python file whose top level defines assets."
    )(fn)
    fn = click.option(
        "-m", "--module-name", "module_name", help="Module whose top level defines assets."
    )(fn)
    fn = click.option(
        "-d",
        "--working-directory",
        "working_directory",
        help="Directory to import the code from (default: the current directory).",
    )(fn)
    return fn


def _load(module_name: str | None, python_file: str | None, workdir: str | None) -> Definitions:
    from knoll.codeloc.loader import CodeLocationLoadError, CodeLocationTarget, load_definitions
    from knoll.errors import KnollError

    if bool(module_name) == bool(python_file):
        _fail("give exactly one of -m MODULE or -f FILE.")
    try:
        return load_definitions(CodeLocationTarget(module_name, python_file, workdir))
    except CodeLocationLoadError as exc:
        click.echo(exc.formatted_traceback, err=True)
        _fail(str(exc))
    except KnollError as exc:
        _fail(str(exc))


def _parse_tags(tags: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"--tag {item!r} must look like key=value.")
        out[key] = value
    return out


def _default_home() -> None:
    # Runs started from the command line keep their outputs: default KNOLL_HOME to .knoll/.
    os.environ.setdefault("KNOLL_HOME", str(Path.cwd() / ".knoll"))


def _report(result: ExecuteInProcessResult) -> None:
    from knoll.execution.events import EventType

    for event in result.all_events:
        if event.event_type is EventType.ASSET_MATERIALIZATION:
            mat = event.materialization
            label = mat.asset_key.to_user_string()
            if mat.partition:
                label += f" [{mat.partition}]"
            details = ", ".join(
                f"{k}={_short(v.value)}" for k, v in mat.metadata.items() if k != "preview"
            )
            click.echo(f"  materialized {label}" + (f"  ({details})" if details else ""))
        elif event.event_type is EventType.ASSET_CHECK_EVALUATION:
            click.echo(f"  {event.message}")
        elif event.event_type is EventType.STEP_FAILURE:
            click.echo(f"  FAILED {event.step_key}: {event.message}", err=True)
        elif event.event_type is EventType.STEP_SKIPPED:
            click.echo(f"  skipped {event.step_key}: {event.message}")
    status = "succeeded" if result.success else "failed"
    click.echo(f"run {result.run_id} {status} ({len(result.all_events)} events)")


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _run(execute: Callable[[], ExecuteInProcessResult]) -> None:
    from knoll.errors import ExecutionError, KnollError

    try:
        result = execute()
    except ExecutionError as exc:
        _fail(str(exc), EXIT_RUN_FAILED)
    except KnollError as exc:
        _fail(str(exc))
    _report(result)
    if not result.success:
        sys.exit(EXIT_RUN_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="knoll", prog_name="knoll")
def main() -> None:
    """knoll: declare your data assets as Python functions and materialize them."""


@main.group()
def asset() -> None:
    """Materialize and inspect assets."""


@asset.command("materialize")
@_location_options
@click.option("--select", default="*", show_default=True, help="Asset selection, e.g. 'a+'.")
@click.option("--partition", help="Partition key to materialize.")
@click.option("--partition-range", help="Partition key range START...END, in one run.")
@click.option("--config", "config_path", help="Run config YAML file.")
@click.option("--tag", "tags", multiple=True, help="Run tag key=value (repeatable).")
def asset_materialize(
    module_name: str | None,
    python_file: str | None,
    working_directory: str | None,
    select: str,
    partition: str | None,
    partition_range: str | None,
    config_path: str | None,
    tags: Sequence[str],
) -> None:
    """Materialize the selected assets in this process."""
    _default_home()
    defs = _load(module_name, python_file, working_directory)
    from knoll.definitions.partitions import PartitionKeyRange
    from knoll.definitions.run_config import load_run_config
    from knoll.errors import KnollError
    from knoll.execution.executor import execute_in_process

    key_range = None
    if partition_range:
        start, sep, end = partition_range.partition("...")
        if not sep or not start or not end:
            _fail(f"--partition-range {partition_range!r} must look like START...END.")
        key_range = PartitionKeyRange(start, end)
    try:
        job = defs.get_implicit_asset_job(select)
        run_config = load_run_config(config_path) if config_path else None
    except KnollError as exc:
        _fail(str(exc))
    click.echo(f"materializing {len(job.asset_selection or ())} asset(s) ({select})")
    _run(
        lambda: execute_in_process(
            job,
            run_config=run_config,
            partition_key=partition,
            partition_key_range=key_range,
            tags=_parse_tags(tags),
            raise_on_error=False,
        )
    )


@asset.command("list")
@_location_options
def asset_list(
    module_name: str | None, python_file: str | None, working_directory: str | None
) -> None:
    """List the assets of a code location with their groups and dependencies."""
    defs = _load(module_name, python_file, working_directory)
    graph = defs.get_asset_graph()
    for key in graph.toposorted_keys:
        node = graph.node(key)
        deps = ", ".join(p.to_user_string() for p in node.parents) or "-"
        kind = "" if node.is_executable else " (external)"
        click.echo(f"{key.to_user_string()}{kind}  group={node.group_name}  deps={deps}")


@main.group()
def job() -> None:
    """Execute jobs."""


@job.command("execute")
@_location_options
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
    """Execute a job in this process."""
    _default_home()
    defs = _load(module_name, python_file, working_directory)
    from knoll.definitions.run_config import load_run_config
    from knoll.errors import KnollError
    from knoll.execution.executor import execute_in_process

    try:
        job_def = defs.get_job_def(job_name)
        run_config = load_run_config(config_path) if config_path else None
    except KnollError as exc:
        _fail(str(exc))
    _run(
        lambda: execute_in_process(
            job_def,
            run_config=run_config,
            partition_key=partition,
            tags=_parse_tags(tags),
            raise_on_error=False,
        )
    )


@main.group()
def definitions() -> None:
    """Check definitions."""


@definitions.command("validate")
@_location_options
def definitions_validate(
    module_name: str | None, python_file: str | None, working_directory: str | None
) -> None:
    """Load a code location and report whether its definitions are valid."""
    defs = _load(module_name, python_file, working_directory)
    graph = defs.get_asset_graph()
    click.echo(
        f"ok: {len(graph.keys)} assets, {len(graph.check_keys)} checks, {len(defs.jobs)} jobs, "
        f"{len(defs.schedules)} schedules, {len(defs.sensors)} sensors"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
