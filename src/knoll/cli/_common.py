"""What the command groups share: exit codes, error reporting, loading code and the instance.

Only click is imported at module level; everything else is imported inside the functions so
that ``knoll --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from knoll.codeloc.loader import CodeLocationTarget
    from knoll.defs.definitions import Definitions
    from knoll.instance import Instance

F = TypeVar("F", bound=Callable[..., Any])

EXIT_RUN_FAILED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _existing_folder(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The ``-d`` folder, which must exist: importing from a missing one fails obscurely."""
    if value is not None and not Path(value).is_dir():
        problem = "is a file, not a folder" if Path(value).exists() else "does not exist"
        fail(
            f"-d/--working-directory {value!r} {problem} (looked in {Path.cwd()}). Give the "
            "folder to import the code from, or leave -d out to use the current directory."
        )
    return value


def location_options(fn: F) -> F:
    """The ``-m MODULE | -f FILE [-d DIR]`` options of every command that loads code."""
    fn = click.option(
        "-f", "--python-file", "python_file", help="Python file whose top level defines assets."
    )(fn)
    fn = click.option(
        "-m", "--module-name", "module_name", help="Module whose top level defines assets."
    )(fn)
    fn = click.option(
        "-d",
        "--working-directory",
        "working_directory",
        callback=_existing_folder,
        help="Directory to import the code from (default: the current directory).",
    )(fn)
    return fn


def load_definitions(
    module_name: str | None, python_file: str | None, working_directory: str | None
) -> Definitions:
    """Import a code location and return its ``Definitions``, or exit 2 with the error."""
    from knoll.codeloc.loader import CodeLocationLoadError
    from knoll.codeloc.loader import load_definitions as load
    from knoll.errors import KnollError

    target = location_target(module_name, python_file, working_directory)
    try:
        return load(target)
    except CodeLocationLoadError as exc:
        click.echo(exc.formatted_traceback, err=True)
        fail(str(exc))
    except KnollError as exc:
        fail(str(exc))


def location_target(
    module_name: str | None, python_file: str | None, working_directory: str | None
) -> CodeLocationTarget:
    """The ``CodeLocationTarget`` of the location options; exactly one of -m and -f."""
    from knoll.codeloc.loader import CodeLocationTarget

    if bool(module_name) == bool(python_file):
        fail("give exactly one of -m MODULE or -f FILE.")
    return CodeLocationTarget(module_name, python_file, working_directory)


def parse_tags(tags: Sequence[str]) -> dict[str, str]:
    """``("k=v", ...)`` from repeated ``--tag`` options as a dict."""
    out: dict[str, str] = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--tag {item!r} must look like key=value.")
        out[key] = value
    return out


def default_home() -> None:
    """Make ``KNOLL_HOME`` default to ``.knoll/`` in the working directory.

    The instance and the default IO manager both read it, so runs started from the command
    line keep their records and outputs where later commands find them.
    """
    os.environ.setdefault("KNOLL_HOME", str(Path.cwd() / ".knoll"))


def open_instance() -> Instance:
    """The instance of ``KNOLL_HOME``. Its errors (a malformed knoll.yaml, a database that is
    down or behind) reach the root command, which prints them and exits 2."""
    default_home()
    from knoll.instance import Instance

    return Instance.get()


def format_time(timestamp: float | None) -> str:
    """A timestamp in local time, to the second, or ``-``."""
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def format_duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m05s`` or ``2h03m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def short(value: object, width: int = 60) -> str:
    """``value`` on one line, cut to ``width`` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def metadata_text(value: Any, width: int = 60) -> str:
    """A metadata value on one line: paths and URLs whole (they are copied), others cut."""
    from knoll.defs.metadata import PathMetadataValue, UrlMetadataValue

    if isinstance(value, (PathMetadataValue, UrlMetadataValue)):
        return str(value.value)
    return short(value.value, width)


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    """Rows as left-aligned columns under a header (plain text, easy to grep and pipe)."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]
