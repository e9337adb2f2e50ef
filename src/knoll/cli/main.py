"""The ``knoll`` command.

Exit codes: 0 success, 1 a run failed, 2 a usage or definition error. Errors are printed as
messages, never as a traceback headline. Each command group lives in its own module and
imports what it needs inside its commands, so that ``knoll --help`` stays fast.
"""

from __future__ import annotations

from typing import Any, NoReturn

import click

from knoll.cli._common import fail
from knoll.cli.asset_automation import asset_automation  # noqa: F401  (`asset automation`)
from knoll.cli.assets import asset
from knoll.cli.backfills import backfill
from knoll.cli.code_server import code_server
from knoll.cli.daemon import daemon
from knoll.cli.definitions import definitions
from knoll.cli.instance import instance
from knoll.cli.instigation import schedule, sensor
from knoll.cli.jobs import job
from knoll.cli.run_monitor import run_monitor  # noqa: F401  (`run monitor`, `run queue-worker`)
from knoll.cli.run_reexecute import run_reexecute  # noqa: F401  (registers `run reexecute`)
from knoll.cli.runs import run
from knoll.cli.tokens import token
from knoll.cli.users import user
from knoll.cli.webserver import webserver
from knoll.errors import KnollError


class KnollGroup(click.Group):
    """The root group: a knoll error that escapes a command, and a usage error of any
    command (an unknown option, a value of the wrong type), are printed as one line."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # the help text, as asked for
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            _usage_error(exc)
        except KnollError as exc:
            # e.g. the instance's database is down or behind: opened on first use, so any
            # command reading the instance can meet it
            fail(str(exc))


def _usage_error(exc: click.UsageError) -> NoReturn:
    """``error: MESSAGE See `knoll ... --help`.`` on one line, exit 2."""
    message = " ".join(exc.format_message().split())
    if exc.ctx is not None:
        names: list[str] = []
        ctx: click.Context | None = exc.ctx
        while ctx is not None and ctx.parent is not None:  # the root is `knoll` however run
            names.insert(0, ctx.info_name or "")
            ctx = ctx.parent
        message += f" See `{' '.join(['knoll', *names])} --help`."
    fail(message)


@click.group(cls=KnollGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="knoll", prog_name="knoll")
def main() -> None:
    """knoll: declare your data assets as Python functions and materialize them."""


main.add_command(asset)
main.add_command(job)
main.add_command(run)
main.add_command(definitions)
main.add_command(schedule)
main.add_command(sensor)
main.add_command(instance)
main.add_command(code_server)
main.add_command(daemon)
main.add_command(backfill)
main.add_command(webserver)
main.add_command(user)
main.add_command(token)


if __name__ == "__main__":  # pragma: no cover
    main()
