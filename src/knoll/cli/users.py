"""``knoll user``: the users who may log in to the webserver (``add``, ``list``, ``remove``,
``passwd``), each with a role and, where it differs, a role per code location (a grant)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from knoll.cli._common import fail, format_time, open_instance, table

ROLES_HELP = "viewer, launcher, editor or admin (see docs/auth.md)."


def read_password(name: str, from_stdin: bool) -> str:
    """The new password of ``name``: the whole of stdin (without its final newline) with
    ``--password-stdin``, else typed twice at a prompt that does not echo it."""
    if from_stdin:
        password = sys.stdin.read().rstrip("\r\n")
        if not password:
            fail(f"--password-stdin read no password for user {name!r} from stdin.")
        return password
    first: str = click.prompt(f"Password for {name}", hide_input=True, err=True)
    second: str = click.prompt("Repeat it", hide_input=True, err=True)
    if first != second:
        fail(f"the two passwords typed for user {name!r} differ; nothing was changed.")
    return first


def _grants(grants: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in grants:
        location, sep, role = item.partition("=")
        if not sep or not location or not role:
            fail(f"--grant {item!r} must look like LOCATION=ROLE, for example shop=editor.")
        found[location] = role
    return found


@click.group()
def user() -> None:
    """The users who may log in to the webserver, and their roles."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, help=f"The user's role: {ROLES_HELP}")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    metavar="LOCATION=ROLE",
    help="A different role on one code location (repeatable).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--no-password", is_flag=True, help="No password: the user uses API tokens only.")
def user_add(
    name: str, role: str, grants: Sequence[str], password_stdin: bool, no_password: bool
) -> None:
    """Add user NAME with a role; asks for its password twice unless --password-stdin."""
    from knoll.server.auth.accounts import add_user, check_name, parse_role

    check_name(name)
    parse_role(role)  # an unknown role is refused before a password is asked for
    parsed = _grants(grants)
    password = None if no_password else read_password(name, password_stdin)
    made = add_user(open_instance().storage, name, role, password, parsed)
    click.echo(f"added user {made.name!r} ({made.role}).")


@user.command("list")
def user_list() -> None:
    """Every user: its role, grants, whether it is disabled and when it was added."""
    users = open_instance().storage.get_users()
    if not users:
        click.echo("no users yet: add one with `knoll user add NAME --role admin`.")
        return
    rows = [
        [
            u.name,
            u.role,
            ", ".join(f"{loc}={role}" for loc, role in sorted(u.grants.items())) or "-",
            "disabled" if u.disabled else "enabled",
            format_time(u.created),
        ]
        for u in users
    ]
    for line in table(rows, ["NAME", "ROLE", "GRANTS", "STATE", "CREATED"]):
        click.echo(line)


@user.command("remove")
@click.argument("name")
def user_remove(name: str) -> None:
    """Delete user NAME with its API tokens and sessions."""
    from knoll.server.auth.accounts import remove_user

    storage = open_instance().storage
    tokens = len(storage.get_tokens(user=name))
    remove_user(storage, name)
    click.echo(f"removed user {name!r} and its {tokens} API token(s).")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def user_passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME (asked twice unless --password-stdin); its sessions end."""
    from knoll.server.auth.accounts import get_user, set_password

    storage = open_instance().storage
    get_user(storage, name)
    set_password(storage, name, read_password(name, password_stdin))
    click.echo(f"set a new password for user {name!r}; its sessions have ended.")
