"""The heartbeat of a run while it executes: who runs it and that it is still alive.

One thread per run records a heartbeat through the run's recorder every
``recorder.run_heartbeat_interval`` seconds (the process's pid and host, the time), so that the
run monitor can fail a run whose process died without a word (``kill -9``, out of memory, a
reboot). It beats once before the run starts, and when it finds the run CANCELING (a canceller
that could not signal this process) it calls ``on_canceling``. Runs in an in-memory recorder
do not beat: nothing outside the process could read it.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from knoll.errors import StorageWriteError
from knoll.execution.run import RunStatus

if TYPE_CHECKING:
    from knoll.execution.recorder import RunRecorder

__all__ = ["HEARTBEAT_ERRORS_SHOWN", "Heartbeat", "beating", "interrupt_main_thread"]

HEARTBEAT_ERRORS_SHOWN = 3
"""Heartbeat failures printed per run: a database that is down should not flood the output."""


class Heartbeat(threading.Thread):
    """Records ``run_id``'s heartbeat in ``recorder`` every ``interval`` seconds until
    :meth:`stop`; calls ``on_canceling`` (once) when the run is found CANCELING."""

    def __init__(
        self,
        recorder: RunRecorder,
        run_id: str,
        interval: float,
        *,
        on_canceling: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name=f"knoll-heartbeat-{run_id[:8]}", daemon=True)
        self.recorder = recorder
        self.run_id = run_id
        self.interval = interval
        self.on_canceling = on_canceling
        self.done = threading.Event()
        self.errors = 0
        self._canceling_seen = False

    def beat(self) -> None:
        """Record one heartbeat now."""
        self.recorder.record_run_heartbeat(self.run_id, interval=self.interval)

    def begin(self) -> None:
        """Beat once (a canceller or the monitor can find this process from now on), then
        keep beating in the background. A first beat that fails is reported, not raised."""
        self._beat_and_look()
        self.start()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self._beat_and_look()

    def _beat_and_look(self) -> None:
        try:
            self.beat()
            run = self.recorder.find_run(self.run_id)
            if run is not None and run.status is RunStatus.CANCELING:
                self._canceling()
        except StorageWriteError:
            self.errors += 1  # the run meets it at its next event write, and says so there
        except Exception as exc:
            self.errors += 1
            if self.errors <= HEARTBEAT_ERRORS_SHOWN:
                print(
                    f"knoll (pid {os.getpid()}): heartbeat of run {self.run_id} failed: "
                    f"{type(exc).__name__}: {exc}",
                    file=sys.stderr,
                    flush=True,
                )

    def _canceling(self) -> None:
        if self.on_canceling is not None and not self._canceling_seen:
            self._canceling_seen = True
            self.on_canceling()

    def stop(self) -> None:
        """Stop beating (waits for a beat in progress, briefly)."""
        self.done.set()
        if self.is_alive():
            self.join(timeout=max(self.interval, 5.0))


def interrupt_main_thread() -> None:
    """Stop what the main thread is doing with a KeyboardInterrupt, as Ctrl-C would: a real
    SIGINT to that thread, which also wakes it from a sleep or a blocking call, when Python
    handles SIGINT there; otherwise the interrupt is raised at its next Python instruction."""
    handler = signal.getsignal(signal.SIGINT)
    main = threading.main_thread().ident
    if callable(handler) and main is not None:
        signal.pthread_kill(main, signal.SIGINT)
    else:
        _thread.interrupt_main()


@contextlib.contextmanager
def beating(
    recorder: RunRecorder, run_id: str, *, on_canceling: Callable[[], None] | None = None
) -> Iterator[Heartbeat | None]:
    """Beat for ``run_id`` while the block runs, when ``recorder`` takes heartbeats (its
    ``run_heartbeat_interval`` is not None); otherwise, or when this process beats for the run
    already (a run worker beats from before it prepares the run), do nothing."""
    interval = recorder.run_heartbeat_interval
    with _beating_lock:
        nested = run_id in _beating_runs
        if interval is not None and not nested:
            _beating_runs.add(run_id)
    if interval is None or nested:
        yield None
        return
    try:
        heartbeat = Heartbeat(recorder, run_id, interval, on_canceling=on_canceling)
        heartbeat.begin()
        try:
            yield heartbeat
        finally:
            heartbeat.stop()
    finally:
        with _beating_lock:
            _beating_runs.discard(run_id)


_beating_runs: set[str] = set()  # the runs this process beats for
_beating_lock = threading.Lock()
