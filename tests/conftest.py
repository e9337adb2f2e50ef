"""Settings for the whole suite."""

from __future__ import annotations

import signal


def pytest_configure() -> None:
    """A suite started in the background of a shell script inherits SIGINT ignored, and the
    CLI processes the tests start would inherit that too: the tests that stop them with
    Ctrl-C (SIGINT) would then wait for nothing. Catching SIGINT again here makes every
    process the tests start get its default handling back at exec."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
