"""``knoll token``: API tokens for scripts and CI (``create``, ``list``, ``revoke``). A
token's secret is printed once, when it is created; knoll keeps only its hash."""

from __future__ import annotations

import time

import click

from knoll.cli._common import format_time, open_instance, table


@click.group()
def token() -> None:
    """API tokens: send one as 'Authorization: Bearer TOKEN' to the webserver."""


@token.command("create")
@click.option("--user", "user_name", required=True, help="The user the token acts as.")
@click.option("--name", help="What the token is for (default: USER-ID).")
@click.option("--expires", help="How long it is valid: 30d, 12h, 90m, 2w. Default: until revoked.")
def token_create(user_name: str, name: str | None, expires: str | None) -> None:
    """Create an API token of --user and print its secret on stdout, this once."""
    from knoll.instance.retention import parse_duration
    from knoll.server.auth.accounts import create_token

    seconds = None
    if expires is not None:
        seconds = parse_duration(expires, what="--expires").total_seconds()
    made, secret = create_token(open_instance().storage, user_name, name, seconds)
    until = format_time(made.expires) if made.expires is not None else "until revoked"
    click.echo(
        f"created API token {made.token_id} ({made.name!r}) of user {made.user!r}, valid "
        f"{'until ' + until if made.expires is not None else until}. Store it now: it is "
        "shown only this once.",
        err=True,
    )
    click.echo(secret)


def _state(expires: float | None, revoked: float | None, now: float) -> str:
    if revoked is not None:
        return "revoked"
    if expires is not None and expires <= now:
        return "expired"
    return "active"


@token.command("list")
@click.option("--user", "user_name", help="Only the tokens of this user.")
def token_list(user_name: str | None) -> None:
    """API tokens (never their secrets): id, name, user, state, created, expires, last used."""
    from knoll.server.auth.accounts import get_user

    storage = open_instance().storage
    if user_name is not None:
        get_user(storage, user_name)
    tokens = storage.get_tokens(user=user_name)
    if not tokens:
        click.echo("no API tokens: create one with `knoll token create --user NAME`.")
        return
    now = time.time()
    rows = [
        [
            t.token_id,
            t.name,
            t.user,
            _state(t.expires, t.revoked, now),
            format_time(t.created),
            format_time(t.expires),
            format_time(t.last_used),
        ]
        for t in tokens
    ]
    header = ["ID", "NAME", "USER", "STATE", "CREATED", "EXPIRES", "LAST USED"]
    for line in table(rows, header):
        click.echo(line)


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke API token TOKEN_ID (its id, from `knoll token list`) at once."""
    from knoll.server.auth.accounts import revoke_token

    revoked = revoke_token(open_instance().storage, token_id)
    click.echo(f"revoked API token {revoked.token_id} ({revoked.name!r}) of user {revoked.user!r}.")
