"""``get_knoll_logger``: a Python logger whose records, inside a step, are the run's log lines.

A run's step routes, while it executes, the records of the ``knoll.builtin`` logger tree to
the run's event log as ``LOG_MESSAGE`` events (the same events ``context.log`` writes). The
routing lives in a context variable that the execution layer sets around each step attempt,
so records written outside any run, or in another thread the step did not run in, are plain
Python log records and nothing more. This module only declares the logger and the route: it
imports nothing of the execution layer, so ``get_knoll_logger()`` at the top of a module
stays cheap.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from contextvars import ContextVar, Token

BUILTIN_LOGGER_NAME = "knoll.builtin"

# How a step takes a record: its text and its level.
LogRoute = Callable[[str, int], None]

_route: ContextVar[LogRoute | None] = ContextVar("knoll_step_log_route", default=None)


class _StepLogHandler(logging.Handler):
    """Hands each record to the step running in this context, if any."""

    def emit(self, record: logging.LogRecord) -> None:
        route = _route.get()
        if route is None:
            return
        text = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            text = f"{text}\n{''.join(traceback.format_exception(*record.exc_info)).rstrip()}"
        # a failure to store the line (storage gone) stops the step, as context.log does
        route(text, record.levelno)


_HANDLER = _StepLogHandler()
_BASE = logging.getLogger(BUILTIN_LOGGER_NAME)


def _builtin_logger() -> logging.Logger:
    base = logging.getLogger(BUILTIN_LOGGER_NAME)
    # like context.log, a step's debug lines are kept unless the user raises the level
    if base.level == logging.NOTSET:
        base.setLevel(logging.DEBUG)
    if _HANDLER not in base.handlers:
        base.addHandler(_HANDLER)
    return base


def get_knoll_logger(name: str | None = None) -> logging.Logger:
    """A Python logger whose records, written while a step runs, become ``LOG_MESSAGE``
    events of the run at the record's level (like ``context.log``); outside a run it is an
    ordinary logger. ``name`` makes a child logger, ``knoll.builtin.<name>``."""
    base = _builtin_logger()
    return base.getChild(name) if name else base


class routed_to_step:
    """While the block runs in this context, ``get_knoll_logger`` records go to ``route``.

    A plain context manager rather than a generator: it wraps every step attempt, so it
    should cost two calls, not a generator's half-dozen.
    """

    __slots__ = ("_route", "_token")

    def __init__(self, route: LogRoute) -> None:
        self._route = route
        self._token: Token[LogRoute | None] | None = None

    def __enter__(self) -> None:
        if _HANDLER not in _BASE.handlers:
            _builtin_logger()
        self._token = _route.set(self._route)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _route.reset(self._token)
