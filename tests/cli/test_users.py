"""``knoll user`` and ``knoll token`` on a real instance (KNOLL_HOME), and ``knoll webserver``
requiring logins."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from knoll.instance import Instance
from tests.cli.helpers import KNOLL, knoll, knoll_env


def _knoll_in(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KNOLL, *args],
        check=False,
        cwd=cwd,
        env=knoll_env(cwd),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _stored(project: Path) -> Instance:
    return Instance.get(project / ".knoll")


def test_user_add_list_passwd_remove(project: Path) -> None:
    added = _knoll_in(
        project,
        "user",
        "add",
        "ada",
        "--role",
        "admin",
        "--password-stdin",
        stdin="ada-password-1\n",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout == "added user 'ada' (admin).\n"
    typed = _knoll_in(
        project,
        "user",
        "add",
        "vic",
        "--role",
        "viewer",
        "--grant",
        "shop=editor",
        stdin="vic-password\nvic-password\n",
    )
    assert typed.returncode == 0, typed.stderr
    listed = knoll("user", "list", cwd=project)
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "GRANTS", "STATE", "CREATED"]
    assert lines[1].split()[:4] == ["ada", "admin", "-", "enabled"]
    assert lines[2].split()[:4] == ["vic", "viewer", "shop=editor", "enabled"]
    instance = _stored(project)
    try:
        before = instance.storage.get_user("vic")
        assert before is not None
        assert before.password_hash is not None
        assert before.password_hash.startswith("$argon2id$")
        assert "vic-password" not in before.password_hash
        changed = _knoll_in(
            project, "user", "passwd", "vic", "--password-stdin", stdin="new-vic-password\n"
        )
        assert changed.returncode == 0, changed.stderr
        after = instance.storage.get_user("vic")
        assert after is not None
        assert after.password_hash != before.password_hash
    finally:
        instance.dispose()
    removed = knoll("user", "remove", "vic", cwd=project)
    assert removed.stdout == "removed user 'vic' and its 0 API token(s).\n"
    assert "vic" not in knoll("user", "list", cwd=project).stdout


def test_user_errors_are_one_clear_line(project: Path) -> None:
    first = _knoll_in(
        project, "user", "add", "ada", "--role", "admin", "--password-stdin", stdin="ada-password-1"
    )
    assert first.returncode == 0, first.stderr
    duplicate = _knoll_in(
        project,
        "user",
        "add",
        "ada",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="another-password",
    )
    assert duplicate.returncode == 2
    assert duplicate.stderr == (
        "error: there is a user 'ada' already; pick another name, or change that user "
        "(knoll user passwd ada).\n"
    )
    role = _knoll_in(project, "user", "add", "bob", "--role", "boss")
    assert role.returncode == 2
    assert role.stderr == (
        "error: 'boss' is not a role: use one of viewer, launcher, editor, admin.\n"
    )
    differ = _knoll_in(
        project, "user", "add", "bob", "--role", "viewer", stdin="bob-password-1\nbob-password-2\n"
    )
    assert differ.returncode == 2
    assert (
        "error: the two passwords typed for user 'bob' differ; nothing was changed."
        in differ.stderr
    )
    short = _knoll_in(
        project, "user", "add", "bob", "--role", "viewer", "--password-stdin", stdin="short"
    )
    assert short.stderr == (
        "error: the password of user 'bob' is too short (5 characters): use at least 8.\n"
    )
    unknown = knoll("user", "remove", "zed", cwd=project)
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "error: there is no user 'zed'; list the users with: knoll user list "
        "(or GET /api/v1/users).\n"
    )
    last = knoll("user", "remove", "ada", cwd=project)
    assert last.returncode == 2
    assert "it is the only enabled admin" in last.stderr
    assert knoll("user", "passwd", "zed", "--password-stdin", cwd=project).returncode == 2


def test_token_create_list_revoke(project: Path) -> None:
    _knoll_in(project, "user", "add", "ci", "--role", "launcher", "--no-password")
    made = knoll(
        "token", "create", "--user", "ci", "--name", "nightly", "--expires", "30d", cwd=project
    )
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert re.fullmatch(r"knoll_[0-9a-f]{12}_[A-Za-z0-9_-]+", secret)
    token_id = secret.split("_")[1]
    assert made.stderr.startswith(
        f"created API token {token_id} ('nightly') of user 'ci', valid until "
    )
    assert "shown only this once" in made.stderr
    listed = knoll("token", "list", "--user", "ci", cwd=project)
    assert secret not in listed.stdout
    row = listed.stdout.splitlines()[1].split()
    assert row[:4] == [token_id, "nightly", "ci", "active"]
    revoked = knoll("token", "revoke", token_id, cwd=project)
    assert revoked.stdout == f"revoked API token {token_id} ('nightly') of user 'ci'.\n"
    assert knoll("token", "list", cwd=project).stdout.splitlines()[1].split()[3] == "revoked"
    unknown = knoll("token", "revoke", "nope", cwd=project)
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "error: there is no API token 'nope'; list the tokens with: knoll token list.\n"
    )
    nobody = knoll("token", "create", "--user", "zed", cwd=project)
    assert nobody.returncode == 2
    assert "there is no user 'zed'" in nobody.stderr
    bad = knoll("token", "create", "--user", "ci", "--expires", "soon", cwd=project)
    assert "--expires 'soon' is not a duration" in bad.stderr


def test_webserver_off_loopback_refuses_to_start_without_an_admin(project: Path) -> None:
    done = knoll("webserver", "-f", "project.py", "--host", "0.0.0.0", "--port", "0", cwd=project)
    assert done.returncode == 2
    assert done.stderr == (
        "error: --host 0.0.0.0 is not a loopback address, so every request must log in, but "
        "the instance has no enabled admin user to log in as. Create one first: knoll user "
        "add admin --role admin\n"
    )
    forced = knoll("webserver", "-f", "project.py", "--auth", "--port", "0", cwd=project)
    assert forced.stderr.startswith("error: --auth was given, so every request must log in")


@contextlib.contextmanager
def _webserver(project: Path, *flags: str) -> Iterator[tuple[str, str]]:
    """``knoll webserver`` on a free port: its start line and its API's base URL."""
    server = subprocess.Popen(
        [*KNOLL, "webserver", "-f", "project.py", "--port", "0", *flags],
        cwd=project,
        env=knoll_env(project),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        while line and not line.startswith("knoll webserver serving"):
            line = server.stderr.readline()  # the code server's lines come first
        port = re.search(r":(\d+)/api/v1", line)
        assert port is not None, line
        yield line, f"http://127.0.0.1:{port.group(1)}/api/v1"
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


def test_webserver_on_loopback_needs_no_login_and_says_so(project: Path) -> None:
    with _webserver(project) as (line, url), httpx.Client(timeout=60) as http:
        assert "(bound to loopback: no login needed)" in line
        assert http.get(f"{url}/auth/me").json()["via"] == "local"


@pytest.mark.parametrize("flags", [["--auth"], ["--host", "0.0.0.0"]])
def test_webserver_requiring_logins_answers_401_then_serves_a_token(
    project: Path, flags: list[str]
) -> None:
    _knoll_in(project, "user", "add", "admin", "--role", "admin", "--no-password")
    secret = knoll("token", "create", "--user", "admin", cwd=project).stdout.strip()
    with _webserver(project, *flags) as (line, url), httpx.Client(timeout=60) as http:
        assert "(login required: POST /api/v1/auth/login or an API token)" in line
        assert http.get(f"{url}/instance").status_code == 401
        me = http.get(f"{url}/auth/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.json()["name"] == "admin"
