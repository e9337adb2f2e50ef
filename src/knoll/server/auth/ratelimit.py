"""Limiting how fast passwords can be guessed: after ``max_login_failures`` failed logins as
one user name, or from one client address, within ``login_window_seconds``, further logins
(even with the right password) are refused with a 429 until the oldest of those failures
leaves the window. A successful login forgets the failures of its user name."""

from __future__ import annotations

import datetime
import math

from knoll.server.auth.principal import AuthSettings
from knoll.server.problems import Problem
from knoll.storage.access import AccessStorage


def _refusal(subject: str, fix: str, failures: int, settings: AuthSettings, wait: float) -> Problem:
    seconds = max(1, math.ceil(wait))
    after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    minutes = settings.login_window_seconds / 60
    return Problem(
        429,
        "Too many failed logins",
        f"{failures} failed logins {subject} in the last {minutes:g} minutes: try again in "
        f"{seconds} seconds (after {after:%H:%M:%S} UTC).",
        fix=fix,
        headers={"Retry-After": str(seconds)},
    )


def check_login_allowed(
    storage: AccessStorage, settings: AuthSettings, name: str, address: str, now: float
) -> None:
    """Raise the 429 problem when ``name`` or ``address`` failed too often lately."""
    since = now - settings.login_window_seconds
    limit = settings.max_login_failures
    by_name = storage.get_login_failures(since=since, user_name=name)
    if len(by_name) >= limit:
        wait = by_name[-limit] + settings.login_window_seconds - now
        raise _refusal(
            f"as {name!r}",
            f"Wait, or ask an admin to set a new password: knoll user passwd {name}.",
            len(by_name),
            settings,
            wait,
        )
    by_address = storage.get_login_failures(since=since, address=address)
    if len(by_address) >= limit:
        wait = by_address[-limit] + settings.login_window_seconds - now
        raise _refusal(
            f"from {address}",
            "Wait before trying again; check the user name and password you use.",
            len(by_address),
            settings,
            wait,
        )


def record_login_failure(
    storage: AccessStorage, settings: AuthSettings, name: str, address: str, now: float
) -> None:
    """Remember a failed login (and forget those too old to count)."""
    storage.add_login_failure(name, address, now)
    storage.delete_login_failures(now - settings.login_window_seconds)
