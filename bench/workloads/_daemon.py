"""What the daemon workloads share: starting a daemon before a minute boundary, the resident
memory of its process tree, stopping it and whatever it started.

Standard library only, so both venvs import it.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.workloads._daemon_defs import MODE_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
LEAD_S = 15.0  # daemon_tick: the daemon starts this long before the minute boundary
MIN_LEAD_S = 10.0  # ... and never less (else it waits for the next boundary)
TICK_WAIT_S = 120.0  # daemon_tick: how long after the boundary to wait for the first step
SETTLE_S = 60.0  # daemon_memory: how long the daemon runs before its memory is read
STOP_S = 10.0


def next_boundary(now: float | None = None) -> float:
    """The next minute boundary at least ``MIN_LEAD_S`` away (epoch seconds)."""
    now = time.time() if now is None else now
    boundary = math.ceil(now / 60) * 60.0
    return boundary if boundary - now >= MIN_LEAD_S else boundary + 60.0


def sleep_until(moment: float) -> None:
    while (left := moment - time.time()) > 0:
        time.sleep(min(left, 1.0))


def start(command: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a daemon in its own process group, its output to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def tail(log: Path) -> str:
    """The end of a daemon's output, for an error message."""
    return log.read_text(errors="replace")[-3000:]


def count_rows(database: Path, query: str) -> int:
    """``query``'s count in a SQLite file, read only (-1 when it cannot be read)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute(query).fetchone()[0])
    except sqlite3.Error:
        return -1


def daemon_env(mode: str) -> dict[str, str]:
    env = dict(os.environ)
    env[MODE_VARIABLE] = mode
    # the daemon and its code server import the definitions from ``bench``
    paths = [str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def _children() -> dict[int, list[int]]:
    """Parent pid to child pids, from /proc."""
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        found.setdefault(parent, []).append(int(entry.name))
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children = _children()
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += children.get(current, [])
    return pids


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def tree_rss_mib(pid: int) -> tuple[float, int]:
    """Summed VmRSS of ``pid``'s process tree in MiB, and how many processes it has."""
    pids = tree(pid)
    return sum(rss_kib(p) for p in pids) / 1024, len(pids)


def stop(daemon: subprocess.Popen[bytes]) -> None:
    """SIGTERM the daemon, SIGKILL it after ``STOP_S``; then SIGKILL whatever it started that
    is still there (its code servers and workers, found before the daemon stopped)."""
    started = [p for p in tree(daemon.pid) if p != daemon.pid]
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=STOP_S)
    deadline = time.monotonic() + STOP_S
    for pid in started:
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def tick_latency(
    command: Sequence[str],
    env: dict[str, str],
    log: Path,
    first_step_start: Callable[[], float | None],
) -> dict[str, float]:
    """Start the daemon ``LEAD_S`` before a minute boundary and wait for the first step start
    of the run its every-minute schedule makes; the figures in seconds."""
    boundary = next_boundary(time.time() + LEAD_S)
    sleep_until(boundary - LEAD_S)
    started = time.time()
    daemon = start(command, env, log)
    try:
        while (step := first_step_start()) is None:
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited with {daemon.returncode}:\n{tail(log)}")
            if time.time() > boundary + TICK_WAIT_S:
                raise SystemExit(
                    f"no step started within {TICK_WAIT_S:g} s of the tick:\n{tail(log)}"
                )
            time.sleep(0.05)
    finally:
        stop(daemon)
    return {"latency_s": step - boundary, "lead_s": boundary - started}


def settled_memory(
    command: Sequence[str], env: dict[str, str], log: Path, sensor_ticks: Callable[[], int]
) -> dict[str, float]:
    """Run the daemon for ``SETTLE_S``, then read its process tree's resident memory; also
    the peak of the once-a-second readings before, and the sensor ticks stored by then."""
    daemon = start(command, env, log)
    peak = 0.0
    try:
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited with {daemon.returncode}:\n{tail(log)}")
            peak = max(peak, tree_rss_mib(daemon.pid)[0])
            time.sleep(1.0)
        rss, processes = tree_rss_mib(daemon.pid)
        own = rss_kib(daemon.pid) / 1024
        ticks = sensor_ticks()
    finally:
        stop(daemon)
    return {
        "rss_mib": rss,
        "peak_mib": max(peak, rss),
        "daemon_mib": own,
        "processes": processes,
        "sensor_ticks": ticks,
    }
