"""Reading a run's events back: one summary line per step, and the printed event log."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from knoll.cli._common import short

if TYPE_CHECKING:
    from knoll.execution.events import RunEvent
    from knoll.instance import Instance
    from knoll.storage.base import EventRecord

STEP_END = ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")
RUN_EVENTS = frozenset({"RUN_STARTING", "RUN_START", "RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED"})
TYPE_WIDTH = len("ASSET_MATERIALIZATION_PLANNED")  # the longest event type: columns line up


@dataclass
class StepSummary:
    """What a run's events say about one of its steps."""

    key: str
    outcome: str = "PLANNED"
    started: float | None = None
    ended: float | None = None
    retries: int = 0
    materialized: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    error: str | None = None  # the failure's whole message
    brief: str | None = None  # why it failed or was skipped, in short

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started

    @property
    def detail(self) -> str:
        parts: list[str] = []
        if self.brief:
            parts.append(short(self.brief, 60))
        if self.materialized:
            parts.append("materialized " + ", ".join(self.materialized))
        if self.checks:
            parts.append("checks: " + ", ".join(self.checks))
        if self.retries:
            parts.append(f"{self.retries} retr{'y' if self.retries == 1 else 'ies'}")
        return "; ".join(parts)


def summarize_steps(events: Iterable[EventRecord], *, finished: bool) -> list[StepSummary]:
    """One summary per step, in the order the steps were planned or started."""
    steps: dict[str, StepSummary] = {}
    for record in events:
        event = record.event
        if event.step_key is not None:
            _add_event(steps.setdefault(event.step_key, StepSummary(event.step_key)), event)
    if finished:
        for step in steps.values():
            if step.outcome == "PLANNED":
                step.outcome = "NOT RUN"
            elif step.outcome == "STARTED":
                step.outcome = "INTERRUPTED"  # the run ended without the step ending
    return list(steps.values())


def _add_event(step: StepSummary, event: RunEvent) -> None:
    from knoll.execution.events import EventType

    kind = event.event_type
    if kind is EventType.STEP_START:
        if step.started is None:
            step.started = event.timestamp
        step.outcome = "STARTED"
    elif kind is EventType.STEP_SUCCESS:
        step.outcome, step.ended = "SUCCESS", event.timestamp
    elif kind is EventType.STEP_FAILURE:
        step.outcome, step.ended = "FAILURE", event.timestamp
        step.error = event.message
        step.brief = _failure_brief(event)
    elif kind is EventType.STEP_SKIPPED:
        step.outcome, step.ended = "SKIPPED", event.timestamp
        step.brief = event.message
    elif kind is EventType.STEP_UP_FOR_RETRY:
        step.retries += 1
    elif kind is EventType.ASSET_MATERIALIZATION:
        mat = event.materialization
        label = mat.asset_key.to_user_string()
        step.materialized.append(f"{label} [{mat.partition}]" if mat.partition else label)
    elif kind is EventType.ASSET_CHECK_EVALUATION:
        step.checks.append(event.message.removeprefix("check "))


def _failure_brief(event: RunEvent) -> str:
    error = getattr(event.data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause  # the user's exception, under knoll's wrapping
    return f"{error.class_name}: {error.message}" if error else event.message


def was_pruned(event_types: set[str]) -> bool:
    """Whether a finished run's events were pruned: pruning keeps only the asset history, so
    none of the run's own events (start, end) are left."""
    return not event_types & RUN_EVENTS


class LogPrinter:
    """Prints a run's events as they are read, and each step's captured output once the step
    has ended."""

    def __init__(self, instance: Instance, run_id: str) -> None:
        self.instance = instance
        self.run_id = run_id
        self.seen_steps: set[str] = set()
        self.seen_types: set[str] = set()
        self._open_steps: list[str] = []

    def print_events(self, records: Sequence[EventRecord]) -> None:
        for record in records:
            event = record.event
            self.seen_types.add(event.event_type.value)
            click.echo(format_event_line(record))
            step = event.step_key
            if step is None:
                continue
            if step not in self.seen_steps:
                self.seen_steps.add(step)
                self._open_steps.append(step)
            if event.event_type.value in STEP_END and step in self._open_steps:
                self._open_steps.remove(step)
                self.print_captured(step)

    def print_unfinished_steps(self) -> None:
        """The output captured so far of steps that have not ended."""
        for step in self._open_steps:
            self.print_captured(step, note=" (so far)")
        self._open_steps.clear()

    def print_captured(self, step_key: str, note: str = "") -> None:
        stdout, stderr = self.instance.compute_logs.paths(self.run_id, step_key)
        for name, path in (("stdout", stdout), ("stderr", stderr)):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            if not text:
                continue
            click.echo(f"--- {name} of step {step_key}{note} ---")
            click.echo(text.rstrip("\n"))
            click.echo(f"--- end of {name} of step {step_key} ---")


def format_event_line(record: EventRecord) -> str:
    """``12:00:03.120  INFO    STEP_START                     countries  message``."""
    event = record.event
    stamp = time.strftime("%H:%M:%S", time.localtime(event.timestamp))
    millis = int((event.timestamp % 1) * 1000)
    level = logging.getLevelName(event.level)
    step = f"{event.step_key}  " if event.step_key else ""
    kind = event.event_type.value
    # log messages keep their lines; knoll's own messages are one line each
    message = event.message if kind == "LOG_MESSAGE" else " ".join(event.message.split())
    return f"{stamp}.{millis:03d}  {level:<7} {kind:<{TYPE_WIDTH}} {step}{message}".rstrip()
