"""Running a job from the command line: into the instance, reporting as the steps finish.

The reporter is one more event sink of the run. It prints a line per materialization, check,
failed or skipped step as soon as the step's events are written, and on a terminal it shows a
rich progress bar of the steps below that output (see ``_terminal``).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from knoll.cli._common import EXIT_RUN_FAILED, fail, metadata_text

if TYPE_CHECKING:
    from knoll.cli._terminal import LiveTerminal
    from knoll.defs.job import JobDefinition
    from knoll.execution.cancel_switch import GuardedRecorder
    from knoll.execution.events import RunEvent
    from knoll.execution.result import ExecuteInProcessResult
    from knoll.instance import Instance


def execute_job(
    job: JobDefinition,
    instance: Instance,
    *,
    headline: str,
    run_config: Any = None,
    partition_key: str | None = None,
    partition_key_range: Any = None,
    tags: dict[str, str] | None = None,
) -> None:
    """Execute ``job`` into ``instance`` with its executor (steps in this process, or in worker
    processes with ``multiprocess_executor``); exit 1 if the run fails. When it cannot start
    (bad config, partition, ...) the ``KnollError`` propagates: exit 2."""
    from knoll.errors import ExecutionError, StorageWriteError
    from knoll.execution.executor import execute_in_process
    from knoll.execution.plan import build_plan
    from knoll.execution.run import new_run_id

    total = len(build_plan(job).steps)
    click.echo(headline)
    run_id = new_run_id()
    with RunReporter(total, run_id) as reporter, stopped_by_signals(instance, reporter) as into:
        try:
            result = execute_in_process(
                job,
                run_config=run_config,
                partition_key=partition_key,
                partition_key_range=partition_key_range,
                tags=tags,
                run_id=run_id,
                raise_on_error=False,
                instance=into,
                sinks=[reporter],
                use_executor=True,  # the job's executor, e.g. multiprocess_executor
            )
        except (ExecutionError, StorageWriteError) as exc:
            # a storage that failed a write: one line saying where, why and what became of
            # the run (its earlier events are all kept)
            reporter.close()
            fail(str(exc), EXIT_RUN_FAILED)
    report_outcome(result)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while a run executed in this process: it stops the run the way Ctrl-C
    does (resources torn down, RUN_CANCELED recorded), then knoll exits with 143."""


def _interruption(signum: int) -> KeyboardInterrupt:
    return Terminated("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def stopped_by_signals(instance: Instance, reporter: RunReporter) -> Iterator[GuardedRecorder]:
    """The recorder to execute a run into ``instance`` with: while the block runs, SIGTERM
    (``timeout``, ``docker stop``, CI runners, Kubernetes) cancels the run as Ctrl-C does, never
    in the middle of an event write; either ends knoll with 128 + the signal's number."""
    from knoll.execution.cancel_switch import CancelSwitch, GuardedRecorder

    switch = CancelSwitch(_interruption)
    recorder = GuardedRecorder(instance, switch)
    restore = switch.install()
    try:
        yield recorder
    except KeyboardInterrupt as exc:
        # the run is over: let knoll exit
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        reporter.close()
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        # a heartbeat that finds the run CANCELING interrupts it as Ctrl-C would
        how = "SIGTERM" if signum is signal.SIGTERM else "`knoll run cancel` or Ctrl-C (SIGINT)"
        run_id = recorder.run_id
        if run_id is None:
            click.echo(f"stopped by {how} before the run started.", err=True)
        else:
            click.echo(
                f"run {run_id} CANCELED: stopped by {how}. See what it did: "
                f"knoll run show {run_id}",
                err=True,
            )
        sys.exit(128 + signum)
    finally:
        restore()


def report_outcome(result: ExecuteInProcessResult) -> None:
    """The run's last line (its id and outcome); exit 1 when it failed."""
    from knoll.execution.events import EventType

    failed_steps = any(e.event_type is EventType.STEP_FAILURE for e in result.all_events)
    if not result.success and not failed_steps and result.run_error is not None:
        click.echo(f"  {result.run_error}", err=True)
    status = "succeeded" if result.success else "failed"
    click.echo(f"run {result.run_id} {status} ({len(result.all_events)} events)")
    if not result.success:
        click.echo(f"see what happened: knoll run show {result.run_id}", err=True)
        sys.exit(EXIT_RUN_FAILED)


class RunReporter:
    """An event sink that prints what a run produced while it runs, and on a terminal keeps
    a progress bar of its steps below the output."""

    def __init__(self, total_steps: int, run_id: str) -> None:
        self.total_steps = total_steps
        self.run_id = run_id
        self._live: LiveTerminal | None = None
        self._task: Any = None

    def __enter__(self) -> RunReporter:
        from knoll.cli._terminal import can_draw

        if self.total_steps > 1 and can_draw():
            self._start_progress()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the progress bar (idempotent)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _start_progress(self) -> None:
        # rich is imported only here: it is not needed unless a terminal is watching.
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from knoll.cli._terminal import LiveTerminal

        self._live = LiveTerminal(
            (
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("steps"),
                TimeElapsedColumn(),
            )
        )
        self._task = self._live.progress.add_task(f"run {self.run_id[:8]}", total=self.total_steps)

    def write_events(self, events: Sequence[RunEvent]) -> None:
        """Print the lines of a batch and move the progress bar."""
        from knoll.execution.events import EventType

        done = 0
        for event in events:
            kind = event.event_type
            if kind is EventType.ASSET_MATERIALIZATION:
                click.echo(f"  materialized {_materialization_line(event)}")
            elif kind in (EventType.ASSET_CHECK_EVALUATION, EventType.ASSET_OBSERVATION):
                click.echo(f"  {event.message}")
            elif kind is EventType.STEP_SKIPPED:
                click.echo(f"  skipped {event.step_key}: {event.message}")
            elif kind is EventType.STEP_FAILURE:
                click.echo(f"  FAILED {event.step_key}: {event.message}", err=True)
            if kind in (EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_SKIPPED):
                done += 1
        if self._live is not None:
            self._live.progress.advance(self._task, done)


def _materialization_line(event: RunEvent) -> str:
    mat = event.materialization
    label = mat.asset_key.to_user_string()
    if mat.partition:
        label += f" [{mat.partition}]"
    details = ", ".join(
        f"{k}={metadata_text(v)}"
        for k, v in mat.metadata.items()
        if k != "preview" and not k.startswith("knoll/")
    )
    return label + (f"  ({details})" if details else "")
