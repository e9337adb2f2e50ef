"""A progress bar that the run's own output cannot tear.

Steps write to the terminal behind anyone's back: the instance captures each step's output at
the file-descriptor level (so subprocess output lands in the compute logs) and copies it to
descriptors 1 and 2 as it comes. A bar drawn on the same terminal would be overwritten by
that output. So while the bar is shown, this module owns the terminal: descriptors 1 and 2
point at a pipe, a thread reads the pipe and prints each line above the bar, and the bar
itself is drawn on a private duplicate of the terminal's descriptor.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import sys
import threading
from typing import Any

_READ_SIZE = 65536
_JOIN_SECONDS = 2.0  # a child process that keeps the pipe open must not hang the command


def can_draw() -> bool:
    """Whether a live bar makes sense: both streams are this terminal, on POSIX."""
    return (
        os.name == "posix"
        and sys.stdout.isatty()
        and sys.stderr.isatty()
        and os.environ.get("TERM") != "dumb"
    )


class LiveTerminal:
    """Shows a rich ``Progress`` at the bottom of the terminal while everything the process
    writes to stdout and stderr scrolls above it."""

    def __init__(self, columns: tuple[Any, ...]) -> None:
        from rich.console import Console
        from rich.progress import Progress

        sys.stdout.flush()
        sys.stderr.flush()
        width = shutil.get_terminal_size().columns
        self._saved = (os.dup(1), os.dup(2))
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        self._terminal = os.fdopen(
            os.dup(self._saved[0]), "w", encoding=encoding, errors="replace", buffering=1
        )
        console = Console(file=self._terminal, force_terminal=True, width=width)
        self.progress = Progress(*columns, console=console, transient=True)
        read_end, write_end = os.pipe()
        self._pump = threading.Thread(
            target=self._copy, args=(read_end, encoding), name="knoll-cli-terminal", daemon=True
        )
        self.progress.start()
        self._pump.start()
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        self._stopped = False

    def _copy(self, read_end: int, encoding: str) -> None:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        pending = ""
        try:
            while True:
                data = os.read(read_end, _READ_SIZE)
                if not data:
                    break
                pending += decoder.decode(data)
                *lines, pending = pending.split("\n")
                for line in lines:
                    self._print(line, encoding)
            pending += decoder.decode(b"", final=True)
            if pending:
                self._print(pending, encoding)
        finally:
            os.close(read_end)

    def _print(self, line: str, encoding: str) -> None:
        from rich.text import Text

        try:
            self.progress.console.print(Text.from_ansi(line), soft_wrap=True)
        except Exception:
            # never lose output because the bar failed: write it straight through
            with contextlib.suppress(OSError):
                os.write(self._saved[0], (line + "\n").encode(encoding, errors="replace"))

    def stop(self) -> None:
        """Give descriptors 1 and 2 back, print what is left and remove the bar."""
        if self._stopped:
            return
        self._stopped = True
        sys.stdout.flush()
        sys.stderr.flush()
        # Restoring the descriptors closes the pipe's write ends, so the reader reaches the
        # end of the data and finishes.
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        self._pump.join(_JOIN_SECONDS)
        self.progress.stop()
        self._terminal.close()
        for fd in self._saved:
            os.close(fd)
