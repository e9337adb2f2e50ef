"""`knoll daemon run` as a subprocess for tests: started in a process group of its own (so
that killing it kills the code servers it started), killed, and waited on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.cli.helpers import KNOLL, knoll_env

WAIT = 60.0  # seconds: only to avoid a hang, never an assertion about speed


def start_daemon(
    project: Path, args: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``knoll daemon run ARGS`` in ``project`` (KNOLL_HOME at ``project/.knoll``)."""
    return subprocess.Popen(
        [*KNOLL, "daemon", "run", *args],
        cwd=project,
        env=knoll_env(project, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: killed with the code server it started
    )


def kill_daemon(process: subprocess.Popen[str], wait: float = WAIT) -> tuple[str, str]:
    """SIGKILL the daemon's process group (the daemon may be dead already, its code server
    not); its output."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.communicate(timeout=wait)


def wait_for(
    what: str,
    ready: Callable[[], bool],
    *processes: subprocess.Popen[str],
    wait: float = WAIT,
) -> None:
    """Poll ``ready`` until it is true; fail with the daemons' output when one of them exits
    first or ``wait`` seconds pass."""
    deadline = time.monotonic() + wait
    while not ready():
        if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            outputs = [kill_daemon(p, wait) for p in processes]
            raise AssertionError(f"{what} never happened: {outputs}")
        time.sleep(0.05)
