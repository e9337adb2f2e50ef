"""Small helpers about local processes, shared by the code server, the launcher and the
run monitor."""

from __future__ import annotations

import contextlib
import os
import threading

__all__ = ["pid_alive", "reap_in_background", "running_child"]


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_child(pid: int) -> bool:
    """Whether child ``pid`` of this process still runs; one that has exited is reaped."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False  # reaped already (by its reaper thread), or not our child
    return done == 0


def reap_in_background(pid: int) -> None:
    """Wait for child ``pid`` on a daemon thread, so that it never lingers as a zombie."""

    def reap() -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    threading.Thread(target=reap, name=f"knoll-reap-{pid}", daemon=True).start()
