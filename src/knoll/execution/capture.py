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

A run enters ``capture_session`` once around all its steps: the descriptors then stay
redirected for the whole run, and each step's ``capture_output`` only switches the files
the session's readers write to, instead of making two pipes and two threads of its own.
A switch waits until the pipes are empty, so every byte a step wrote before its block ended
is in that step's file and none of it in the next one's. Between steps, the readers copy to
the original descriptors only.

Every byte lands in the log file once: while descriptors are redirected, the router writes
its terminal copy past the pipe.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

if sys.platform != "win32":
    import fcntl
    import termios

_READ_SIZE = 65536
_JOIN_SECONDS = 2.0  # a background process that keeps a descriptor open must not hang the run
_FDS = ((1, "stdout"), (2, "stderr"))


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
        self.session: _Session | None = None  # set while it owns a session's descriptors


_lock = threading.Lock()
_local = threading.local()
_active: list[_Capture] = []
_routers: dict[str, _Router] = {}
_fd_owner: _Capture | None = None
_session: _Session | None = None
_terminal_copy = True  # see set_terminal_copy


def set_terminal_copy(enabled: bool) -> None:
    """Whether captured output is also copied to this process's own stdout and stderr (the
    default: a user running a job sees its output in the terminal). A launched run worker,
    whose own streams go to a log file, turns it off so that step output is kept once, in the
    step's files; what is written outside any step still goes to the process's streams."""
    global _terminal_copy
    _terminal_copy = enabled


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
        if target is not None and not _terminal_copy:
            pass
        elif direct is not None:
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
                if _terminal_copy:
                    _write_all(self.saved, data)
        finally:
            os.close(self._read_end)
            os.close(self.saved)

    def stop(self) -> None:
        # Restoring the descriptor closes the pipe's last write end (unless a child process
        # still holds one), so the reader sees the end of the data and finishes.
        os.dup2(self.saved, self.fd)
        self._thread.join(_JOIN_SECONDS)


def _pending(fd: int) -> int:
    """How many bytes wait in the pipe ``fd`` reads from."""
    try:
        answer = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except OSError:
        return 0
    count: int = struct.unpack("@i", answer)[0]
    return count


class _Pump:
    """Points one file descriptor, for a whole session, at a pipe whose reader copies to the
    original descriptor and to the current step's log file (if any).

    The reader waits for data outside its lock, then reads and writes to the log file under
    it; ``switch`` takes the same lock and changes the log file only when the pipe is empty
    (and the last chunk has reached the terminal), so no chunk read before the switch can
    land in the next file.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved = os.dup(fd)
        try:
            read_end, write_end = os.pipe()
        except OSError:
            os.close(self.saved)
            raise
        os.set_blocking(read_end, False)
        self._read_end = read_end
        self._cond = threading.Condition(threading.Lock())
        self._target: _LogFile | None = None
        self._relaying = False  # the reader is copying a chunk to the original descriptor
        self._finished = False  # the reader has stopped and closed the read end
        self._stopped = False  # the descriptor is restored; whoever is last closes ``saved``
        self._thread = threading.Thread(target=self._run, name=f"knoll-capture-fd{fd}", daemon=True)
        self._thread.start()
        os.dup2(write_end, fd)
        os.close(write_end)

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._read_end, select.POLLIN)
        try:
            while True:
                poller.poll()
                with self._cond:
                    try:
                        data = os.read(self._read_end, _READ_SIZE)
                    except BlockingIOError:
                        continue
                    if not data:
                        break
                    if self._target is not None:
                        self._target.write(data)
                    copy = self._target is None or _terminal_copy
                    self._relaying = True
                # not under the lock: a stuck terminal must not block a switch past its bound
                if copy:
                    _write_all(self.saved, data)
                with self._cond:
                    self._relaying = False
                    self._cond.notify_all()
        finally:
            with self._cond:
                os.close(self._read_end)
                self._finished = True
                close_saved = self._stopped
                self._cond.notify_all()
            if close_saved:
                os.close(self.saved)

    def switch(self, target: _LogFile | None, deadline: float) -> None:
        """Write to ``target`` from now on, once what is in the pipe went to the old one.

        A descendant process that keeps writing is given until ``deadline``.
        """
        with self._cond:
            # waiting for the terminal copy too keeps the terminal in order at step edges
            while not self._finished and (self._relaying or _pending(self._read_end) > 0):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            self._target = target

    def stop(self) -> None:
        # As for _FdRedirect: restoring the descriptor ends the pipe unless a descendant
        # process still holds it; then the reader outlives us and closes ``saved`` itself.
        os.dup2(self.saved, self.fd)
        self._thread.join(_JOIN_SECONDS)
        with self._cond:
            self._stopped = True
            close_saved = self._finished
        if close_saved:
            os.close(self.saved)


class _Session:
    """The descriptor redirects that one process's runs share (see ``capture_session``)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.depth = 1
        self.pumps: dict[str, _Pump] = {}

    def switch(self, capture: _Capture | None) -> None:
        _flush_streams()  # what the original streams buffered goes to the old target
        deadline = time.monotonic() + _JOIN_SECONDS
        for name, pump in self.pumps.items():
            pump.switch(None if capture is None else capture.files[name], deadline)


def _live_session() -> _Session | None:
    # A forked child inherits the module's state but not the reader threads: a session
    # opened by another process is not ours to use.
    session = _session
    if session is None or session.pid != os.getpid():
        return None
    return session


def _fd_free() -> bool:
    owner = _fd_owner
    if owner is None:
        return True
    # a capture of the parent that owned its session when this process was forked
    return owner.session is not None and owner.session.pid != os.getpid()


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except Exception:
        return None


def _flush_streams() -> None:
    for name in ("stdout", "stderr"):
        stream = _routers.get(name) or getattr(sys, name)
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()


def _point_routers_past(session: _Session | None) -> None:
    """Make the routers write their terminal copy straight to the session's saved
    descriptors (or, with ``None``, back to their original streams)."""
    for name, router in _routers.items():
        pump = None if session is None else session.pumps.get(name)
        if pump is None:
            router.direct_fd = None
        elif _fileno(router.original) == pump.fd:
            router.direct_fd = pump.saved


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
    session = _live_session()
    if session is not None and session.pumps:
        _point_routers_past(session)


def _uninstall_routers() -> None:
    for name, router in list(_routers.items()):
        router.flush()
        if getattr(sys, name) is router:
            setattr(sys, name, router.original)
        del _routers[name]


def _start_fd_capture(capture: _Capture) -> None:
    for fd, name in _FDS:
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


def _open_session(capture_fds: bool) -> _Session:
    session = _Session()
    # Descriptors held by a capture outside any session stay with it; this session then
    # redirects nothing and its steps capture as they would without one.
    if capture_fds and os.name == "posix" and _fd_free():
        _flush_streams()  # what was buffered before goes straight to the terminal
        for fd, name in _FDS:
            try:
                os.fstat(fd)
                session.pumps[name] = _Pump(fd)
            except OSError:
                continue  # no such descriptor, or out of descriptors
        _point_routers_past(session)
    return session


def _close_session(session: _Session) -> None:
    global _fd_owner
    owner = _fd_owner
    if owner is not None and owner.session is session:
        # a capture of another thread, outside any session, still uses it: from now on
        # it captures at the Python level only
        session.switch(None)
        owner.session = None
        _fd_owner = None
    _flush_streams()
    _point_routers_past(None)
    for pump in session.pumps.values():
        pump.stop()


@contextlib.contextmanager
def capture_session(capture_fds: bool = True) -> Iterator[None]:
    """Keep descriptors 1 and 2 redirected while the block runs, for every step's
    ``capture_output`` in it to reuse (POSIX, with ``capture_fds``).

    A run enters it once around all its steps. A session entered while another is active in
    this process (nested, or in another thread) reuses that one; the descriptors are restored
    when the last one ends.
    """
    global _session
    with _lock:
        session = _live_session()
        if session is not None:
            session.depth += 1
        else:
            session = _session = _open_session(capture_fds)
    try:
        yield
    finally:
        with _lock:
            session.depth -= 1
            # a forked child leaving its parent's session leaves the parent's pipes alone
            if session.depth == 0 and session.pid == os.getpid():
                if _session is session:
                    _session = None
                _close_session(session)


@contextlib.contextmanager
def capture_output(
    stdout_path: Path, stderr_path: Path, *, capture_fds: bool = True
) -> Iterator[None]:
    """Tee this thread's stdout and stderr (and, with ``capture_fds``, descriptors 1 and 2
    when no other capture holds them) into the two files while the block runs.

    Inside a ``capture_session`` the session's descriptor redirects are reused.
    """
    global _fd_owner
    capture = _Capture(_LogFile(stdout_path), _LogFile(stderr_path))
    stack: list[_Capture] = getattr(_local, "stack", None) or []
    _local.stack = stack
    with _lock:
        _install_routers()
        _active.append(capture)
        stack.append(capture)
        if capture_fds and os.name == "posix" and _fd_free():
            _fd_owner = capture
            session = _live_session()
            if session is not None and session.pumps:
                capture.session = session
                session.switch(capture)
            else:
                _start_fd_capture(capture)
    try:
        yield
    finally:
        with _lock:
            if _fd_owner is capture:
                if capture.session is not None:
                    if capture.session.pid == os.getpid():  # not in a child forked by the step
                        capture.session.switch(None)
                    capture.session = None
                else:
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
