"""Capturing a step's stdout and stderr to files while it runs; the output still shows.

Two levels work together:

- Python level: ``sys.stdout`` and ``sys.stderr`` are replaced, for as long as any capture
  is active, by a router that writes each text to the terminal (or whatever the streams
  were) and to the log file of the capture running in the writing thread. Threads that user
  code starts write to the most recent capture.
- File descriptor level (POSIX, optional): file descriptors 1 and 2 are pointed at pipes
  whose reader threads copy everything to the log files and to the original descriptors, so
  the output of subprocesses and C extensions is caught too. Descriptors belong to the whole
  process, so only one capture at a time redirects them; others nest at the Python level.

Every byte lands in the log file once: while descriptors are redirected, the router writes
its terminal copy past the pipe.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

_READ_SIZE = 65536
_JOIN_SECONDS = 2.0  # a background process that keeps a descriptor open must not hang the run


class ComputeLogTarget(Protocol):
    """What a run needs from the instance's compute-log manager."""

    capture_fds: bool

    def prepare(self, run_id: str, step_key: str) -> tuple[Path, Path]:
        """Create the step's stdout and stderr files and return their paths."""
        ...


class _LogFile:
    """A log file written, unbuffered, by several threads; writes after close are dropped."""

    def __init__(self, path: Path) -> None:
        self._handle: IO[bytes] | None = path.open("ab", buffering=0)
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.write(data)

    def close(self) -> None:
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()


class _Capture:
    def __init__(self, stdout: _LogFile, stderr: _LogFile) -> None:
        self.files = {"stdout": stdout, "stderr": stderr}
        self.redirects: list[_FdRedirect] = []


_lock = threading.Lock()
_local = threading.local()
_active: list[_Capture] = []
_routers: dict[str, _Router] = {}
_fd_owner: _Capture | None = None


def _current(name: str) -> _LogFile | None:
    stack: list[_Capture] | None = getattr(_local, "stack", None)
    if stack:
        return stack[-1].files[name]
    if _active:
        return _active[-1].files[name]
    return None


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            written = os.write(fd, data)
            data = data[written:]
    except OSError:
        pass  # the terminal went away: the log file still has everything


class _Router:
    """Stands in for ``sys.stdout`` / ``sys.stderr`` while captures are active."""

    def __init__(self, name: str, original: Any) -> None:
        self._name = name
        self._original = original
        self.direct_fd: int | None = None  # set while the original's descriptor is redirected

    @property
    def original(self) -> Any:
        return self._original

    def write(self, text: str) -> int:
        target = _current(self._name)
        direct = self.direct_fd
        if direct is not None:
            encoding = getattr(self._original, "encoding", None) or "utf-8"
            _write_all(direct, text.encode(encoding, errors="replace"))
        else:
            self._original.write(text)
        if target is not None:
            target.write(text.encode("utf-8", errors="backslashreplace"))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            self._original.flush()

    def isatty(self) -> bool:
        return bool(self._original.isatty())

    def fileno(self) -> int:
        return int(self._original.fileno())

    def __getattr__(self, name: str) -> Any:
        # encoding, errors, buffer, ...: whatever the original stream has
        return getattr(self._original, name)


class _FdRedirect:
    """Points one file descriptor at a pipe whose reader copies to a log file and back."""

    def __init__(self, fd: int, log: _LogFile) -> None:
        self.fd = fd
        self.saved = os.dup(fd)
        try:
            read_end, write_end = os.pipe()
        except OSError:
            os.close(self.saved)
            raise
        self._read_end = read_end
        self._thread = threading.Thread(
            target=self._pump, args=(log,), name=f"knoll-capture-fd{fd}", daemon=True
        )
        self._thread.start()
        os.dup2(write_end, fd)
        os.close(write_end)

    def _pump(self, log: _LogFile) -> None:
        try:
            while True:
                data = os.read(self._read_end, _READ_SIZE)
                if not data:
                    break
                log.write(data)
                _write_all(self.saved, data)
        finally:
            os.close(self._read_end)
            os.close(self.saved)

    def stop(self) -> None:
        # Restoring the descriptor closes the pipe's last write end (unless a child process
        # still holds one), so the reader sees the end of the data and finishes.
        os.dup2(self.saved, self.fd)
        self._thread.join(_JOIN_SECONDS)


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except Exception:
        return None


def _install_routers() -> None:
    for name in ("stdout", "stderr"):
        if name in _routers:
            continue
        original = getattr(sys, name)
        if original is None:
            continue
        router = _Router(name, original)
        _routers[name] = router
        setattr(sys, name, router)


def _uninstall_routers() -> None:
    for name, router in list(_routers.items()):
        router.flush()
        if getattr(sys, name) is router:
            setattr(sys, name, router.original)
        del _routers[name]


def _start_fd_capture(capture: _Capture) -> None:
    for fd, name in ((1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            continue  # no such descriptor (a service without a console)
        router = _routers.get(name)
        if router is not None:
            router.flush()
        try:
            redirect = _FdRedirect(fd, capture.files[name])
        except OSError:
            continue  # out of descriptors: Python-level capture still works
        capture.redirects.append(redirect)
        if router is not None and _fileno(router.original) == fd:
            router.direct_fd = redirect.saved


def _stop_fd_capture(capture: _Capture) -> None:
    for redirect in capture.redirects:
        name = "stdout" if redirect.fd == 1 else "stderr"
        router = _routers.get(name)
        if router is not None:
            router.flush()  # what the original stream buffered still goes through the pipe
            router.direct_fd = None
        redirect.stop()
    capture.redirects.clear()


@contextlib.contextmanager
def capture_output(
    stdout_path: Path, stderr_path: Path, *, capture_fds: bool = True
) -> Iterator[None]:
    """Tee this thread's stdout and stderr (and, with ``capture_fds``, descriptors 1 and 2
    when no other capture holds them) into the two files while the block runs."""
    global _fd_owner
    capture = _Capture(_LogFile(stdout_path), _LogFile(stderr_path))
    stack: list[_Capture] = getattr(_local, "stack", None) or []
    _local.stack = stack
    with _lock:
        _install_routers()
        _active.append(capture)
        stack.append(capture)
        if capture_fds and _fd_owner is None and os.name == "posix":
            _fd_owner = capture
            _start_fd_capture(capture)
    try:
        yield
    finally:
        with _lock:
            if _fd_owner is capture:
                _stop_fd_capture(capture)
                _fd_owner = None
            for router in _routers.values():
                router.flush()
            stack.remove(capture)
            _active.remove(capture)
            if not _active:
                _uninstall_routers()
        for log in capture.files.values():
            log.close()
