"""The compute-log folder: each step's captured stdout and stderr, as plain files.

A run's logs live under ``<base_dir>/<run id>/``: ``<step key>.out`` and ``<step key>.err``
per step, and a small ``steps`` file listing the steps in the order they started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from knoll.errors import InvalidInvocationError

Stream = Literal["stdout", "stderr"]
_SUFFIX: dict[str, str] = {"stdout": ".out", "stderr": ".err"}
_STEPS_FILE = "steps"
_SAFE = "-_.=+@"
_DEFAULT_CHUNK = 64 * 1024


@dataclass(frozen=True)
class LogChunk:
    """Text read from a log file after an offset, and the offset to read from next."""

    text: str
    next_offset: int
    exists: bool  # False while the step has not started writing this file


class ComputeLogManager:
    """Where each step's stdout and stderr are captured, and how to read them back.

    ``capture_fds`` says whether the run also redirects file descriptors 1 and 2, so that
    output of subprocesses and C extensions is captured too (POSIX only).
    """

    def __init__(self, base_dir: str | os.PathLike[str], *, capture_fds: bool = True) -> None:
        self.base_dir = Path(base_dir)
        self.capture_fds = capture_fds
        self._made: set[Path] = set()  # run folders this process has made

    def __repr__(self) -> str:
        return f"ComputeLogManager({str(self.base_dir)!r})"

    # ---- paths -----------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        """The folder holding one run's logs."""
        return self.base_dir / _safe(run_id, "run id")

    def paths(self, run_id: str, step_key: str) -> tuple[Path, Path]:
        """The stdout and stderr files of a step (they may not exist yet)."""
        stem = self.run_dir(run_id) / _safe(step_key, "step key")
        return stem.with_name(stem.name + ".out"), stem.with_name(stem.name + ".err")

    def prepare(self, run_id: str, step_key: str) -> tuple[Path, Path]:
        """Make the run's log folder and record that the step started; return the paths of
        its stdout and stderr files, which the capture creates (appending) when it opens them.

        Called by the executor when it starts capturing a step.
        """
        out, err = self.paths(run_id, step_key)
        folder = out.parent
        if folder not in self._made:  # once per run and process, not once per step
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        # Append without reading the index back (that would make a run quadratic in its
        # steps); a step started again (a retry) is listed twice and step_keys() dedupes.
        try:
            index = (folder / _STEPS_FILE).open("a", encoding="utf-8")
        except FileNotFoundError:  # the folder was deleted since (a prune)
            folder.mkdir(parents=True, exist_ok=True)
            index = (folder / _STEPS_FILE).open("a", encoding="utf-8")
        with index:
            index.write(step_key + "\n")
        return out, err

    def step_keys(self, run_id: str) -> list[str]:
        """The steps of a run that have logs, in the order they started."""
        index = self.run_dir(run_id) / _STEPS_FILE
        try:
            lines = index.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return list(dict.fromkeys(line for line in lines if line))

    def has_logs(self, run_id: str) -> bool:
        return self.run_dir(run_id).is_dir()

    # ---- reading ---------------------------------------------------------------------------

    def read(
        self,
        run_id: str,
        step_key: str | None = None,
        *,
        stream: Stream | Literal["both"] = "both",
    ) -> str:
        """A step's logs (or every step's, with ``step_key=None``) as text.

        One step and one stream give the file's text as it is. Otherwise each non-empty file
        comes under a header line ``--- <step key> stdout ---``.
        """
        streams = _streams(stream)
        if step_key is None:
            steps = self.step_keys(run_id)
        else:
            steps = [step_key]
            if step_key not in self.step_keys(run_id):
                self._missing_step(run_id, step_key)
        if step_key is not None and len(streams) == 1:
            return _read_text(self._path(run_id, step_key, streams[0]))
        parts: list[str] = []
        for key in steps:
            for name in streams:
                text = _read_text(self._path(run_id, key, name))
                if text:
                    parts.append(f"--- {key} {name} ---\n{text}")
                    if not text.endswith("\n"):
                        parts.append("\n")
        return "".join(parts)

    def tail(
        self,
        run_id: str,
        step_key: str,
        *,
        stream: Stream = "stdout",
        offset: int = 0,
        max_bytes: int = _DEFAULT_CHUNK,
    ) -> LogChunk:
        """The text written to a step's log after byte ``offset`` (at most ``max_bytes``).

        Pass ``next_offset`` back to follow a step while it runs; a character split across two
        chunks is returned whole with the second one.
        """
        if offset < 0 or max_bytes <= 0:
            raise InvalidInvocationError(
                f"tail(offset={offset}, max_bytes={max_bytes}): offset must be 0 or more and "
                "max_bytes more than 0."
            )
        path = self._path(run_id, step_key, stream)
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(max_bytes)
        except FileNotFoundError:
            return LogChunk("", offset, exists=False)
        data = _whole_characters(data)
        return LogChunk(data.decode("utf-8", errors="replace"), offset + len(data), exists=True)

    # ---- housekeeping ----------------------------------------------------------------------

    def delete(self, run_id: str) -> tuple[int, int]:
        """Delete a run's logs; returns how many log files and bytes were deleted."""
        folder = self.run_dir(run_id)
        if not folder.is_dir():
            return 0, 0
        files = size = 0
        for path in folder.iterdir():
            if path.suffix in (".out", ".err"):
                files += 1
                size += path.stat().st_size
        import shutil  # kept off `import knoll`

        shutil.rmtree(folder, ignore_errors=True)
        self._made.discard(folder)
        return files, size

    def _path(self, run_id: str, step_key: str, stream: str) -> Path:
        out, err = self.paths(run_id, step_key)
        return out if stream == "stdout" else err

    def _missing_step(self, run_id: str, step_key: str) -> None:
        from knoll._utils import did_you_mean

        steps = self.step_keys(run_id)
        if not steps:
            raise InvalidInvocationError(
                f"run {run_id!r} has no compute logs in {self.run_dir(run_id)}: it ran without "
                "an instance, its logs were pruned, or it has not started a step yet."
            )
        hint = did_you_mean(step_key, steps)
        raise InvalidInvocationError(
            f"run {run_id!r} has no compute logs for step {step_key!r}.{hint} Its steps with "
            f"logs: {', '.join(steps)}."
        )


def _streams(stream: str) -> tuple[str, ...]:
    if stream == "both":
        return ("stdout", "stderr")
    if stream in _SUFFIX:
        return (stream,)
    raise InvalidInvocationError(
        f"stream={stream!r} is not a log stream: use 'stdout', 'stderr' or 'both'."
    )


def _safe(part: str, what: str) -> str:
    if not part or part in (".", ".."):
        raise InvalidInvocationError(f"{what} {part!r} cannot name a log file.")
    from urllib.parse import quote  # kept off `import knoll`

    return quote(part, safe=_SAFE)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _whole_characters(data: bytes) -> bytes:
    """``data`` without a UTF-8 sequence cut off at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:  # ASCII: nothing is cut
            return data
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= need else data[:-back]
    return data
