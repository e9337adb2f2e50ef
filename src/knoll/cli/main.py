"""The ``knoll`` command.

Exit codes: 0 success, 1 a run failed, 2 a usage or definition error. Errors are printed as
messages, never as a traceback headline. Each command group lives in its own module and
imports what it needs inside its commands, so that ``knoll --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

import click

from knoll.cli._common import fail
from knoll.cli.assets import asset
from knoll.cli.code_server import code_server
from knoll.cli.definitions import definitions
from knoll.cli.instance import instance
from knoll.cli.jobs import job
from knoll.cli.run_monitor import run_monitor  # noqa: F401  (`run monitor`, `run queue-worker`)
from knoll.cli.run_reexecute import run_reexecute  # noqa: F401  (registers `run reexecute`)
from knoll.cli.runs import run
from knoll.errors import KnollError


class KnollGroup(click.Group):
    """The root group: a knoll error that escapes a command is printed as a message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KnollError as exc:
            # e.g. the instance's database is down or behind: opened on first use, so any
            # command reading the instance can meet it
            fail(str(exc))


@click.group(cls=KnollGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="knoll", prog_name="knoll")
def main() -> None:
    """knoll: declare your data assets as Python functions and materialize them."""


main.add_command(asset)
main.add_command(job)
main.add_command(run)
main.add_command(definitions)
main.add_command(instance)
main.add_command(code_server)


if __name__ == "__main__":  # pragma: no cover
    main()
