"""Logins, sessions and their CSRF tokens, API tokens, rate limiting, roles and the audit
log, on a real webserver that requires logins."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from knoll.server.auth.credentials import hash_secret, new_session_id, new_token
from knoll.storage.access import ApiToken, Session
from tests.server.auth_helpers import PASSWORDS, AuthApi, start_auth_api
from tests.server.conftest import StartApi


@pytest.fixture
def auth(start_api: StartApi) -> AuthApi:
    return start_auth_api(start_api)


@pytest.fixture(params=["sqlite", "postgres"])
def any_auth(request: pytest.FixtureRequest, start_api: StartApi) -> AuthApi:
    return start_auth_api(start_api, request.param)


def _login(client: httpx.Client, name: str) -> str:
    """Log ``client`` in as ``name``: the session's CSRF token."""
    response = client.post("/api/v1/auth/login", json={"name": name, "password": PASSWORDS[name]})
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    return csrf


# ---- logging in and out --------------------------------------------------------------------


def test_login_sets_a_safe_cookie_and_me_says_who(any_auth: AuthApi) -> None:
    with any_auth.client() as client:
        response = client.post(
            "/api/v1/auth/login", json={"name": "lin", "password": PASSWORDS["lin"]}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["user"]["name"] == "lin"
        assert body["user"]["role"] == "launcher"
        assert "password" not in response.text.replace("has_password", "")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("knoll_session=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # served over http on loopback: see docs/auth.md
        session_id = client.cookies["knoll_session"]
        assert session_id not in response.text
        # storage keeps the hash of the session id only
        storage = any_auth.api.instance.storage
        assert storage.get_session(session_id) is None
        assert storage.get_session(hash_secret(session_id)) is not None

        me = client.get("/api/v1/auth/me").json()
        assert me == {
            "name": "lin",
            "role": "launcher",
            "via": "session",
            "grants": {},
            "csrf_token": body["csrf_token"],
        }
        out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
        assert out.status_code == 204
        assert 'knoll_session=""' in out.headers["set-cookie"]
        assert storage.get_session(hash_secret(session_id)) is None
    # the old cookie is worth nothing after the logout
    with any_auth.client() as stale:
        stale.cookies.set("knoll_session", session_id)
        assert stale.get("/api/v1/auth/me").status_code == 401


def test_behind_an_https_proxy_the_cookie_is_secure(auth: AuthApi) -> None:
    # a TLS proxy on this machine says the client used https (uvicorn trusts 127.0.0.1)
    with auth.client() as client:
        response = client.post(
            "/api/v1/auth/login",
            json={"name": "ada", "password": PASSWORDS["ada"]},
            headers={"X-Forwarded-Proto": "https"},
        )
    assert response.status_code == 200
    assert "; Secure" in response.headers["set-cookie"]


def test_an_expired_session_is_refused(auth: AuthApi) -> None:
    session_id = new_session_id()
    past = time.time() - 10
    storage = auth.api.instance.storage
    storage.add_session(Session(hash_secret(session_id), "ada", past - 60, past, "csrf"))
    with auth.client() as client:
        client.cookies.set("knoll_session", session_id)
        assert client.get("/api/v1/auth/me").status_code == 401
        client.cookies.set("knoll_session", "made-up")
        assert client.get("/api/v1/auth/me").status_code == 401


def test_without_credentials_a_route_answers_401_saying_how_to_log_in(auth: AuthApi) -> None:
    with auth.client() as client:
        response = client.get("/api/v1/instance")
        assert client.get("/api/v1/health").status_code == 200
    assert response.status_code == 401
    assert response.json()["detail"] == "This request carries no valid session or API token."
    assert "knoll token create" in response.json()["fix"]


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(auth: AuthApi) -> None:
    with auth.client() as client:
        wrong = client.post("/api/v1/auth/login", json={"name": "ada", "password": "nope-nope"})
        unknown = client.post("/api/v1/auth/login", json={"name": "zed", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"] == "Wrong user name or password."
    assert "set-cookie" not in wrong.headers


def test_a_disabled_user_cannot_log_in_and_its_token_stops(auth: AuthApi) -> None:
    response = auth.api.http.patch(
        "/api/v1/users/vic", json={"disabled": True}, headers=auth.as_user("ada")
    )
    assert response.json()["disabled"] is True
    with auth.client() as client:
        refused = client.post(
            "/api/v1/auth/login", json={"name": "vic", "password": PASSWORDS["vic"]}
        )
        assert refused.status_code == 403
        assert refused.json()["detail"] == "User 'vic' is disabled."
        assert client.get("/api/v1/auth/me", headers=auth.as_user("vic")).status_code == 401


# ---- rate limiting -----------------------------------------------------------------------


def test_five_failures_as_a_user_refuse_even_the_right_password(auth: AuthApi) -> None:
    with auth.client() as client:
        for _ in range(5):
            response = client.post(
                "/api/v1/auth/login", json={"name": "ada", "password": "guess-1"}
            )
            assert response.status_code == 401
        refused = client.post(
            "/api/v1/auth/login", json={"name": "ada", "password": PASSWORDS["ada"]}
        )
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 0 < wait <= 300
    detail = refused.json()["detail"]
    assert re.fullmatch(
        r"5 failed logins as 'ada' in the last 5 minutes: try again in (\d+) seconds "
        r"\(after \d\d:\d\d:\d\d UTC\)\.",
        detail,
    ), detail
    assert "knoll user passwd ada" in refused.json()["fix"]
    # an API token still works: the limit is on guessing passwords
    assert auth.api.http.get("/api/v1/auth/me", headers=auth.as_user("ada")).status_code == 200


def test_five_failures_from_one_address_refuse_other_names(start_api: StartApi) -> None:
    auth = start_auth_api(start_api, failures=3, window=600)
    with auth.client() as client:
        for name in ("x1", "x2", "x3"):
            client.post("/api/v1/auth/login", json={"name": name, "password": "guess-guess"})
        refused = client.post(
            "/api/v1/auth/login", json={"name": "lin", "password": PASSWORDS["lin"]}
        )
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(
        "3 failed logins from 127.0.0.1 in the last 10 minutes: try again in "
    )


def test_a_successful_login_forgets_the_failures_of_its_name(auth: AuthApi) -> None:
    with auth.client() as client:
        for _ in range(4):
            client.post("/api/v1/auth/login", json={"name": "lin", "password": "guess-guess"})
        ok = client.post("/api/v1/auth/login", json={"name": "lin", "password": PASSWORDS["lin"]})
        assert ok.status_code == 200
        storage = auth.api.instance.storage
        assert storage.get_login_failures(since=0, user_name="lin") == []


# ---- CSRF ----------------------------------------------------------------------------------


def test_a_cookie_request_that_changes_something_needs_the_csrf_header(auth: AuthApi) -> None:
    with auth.client() as client:
        csrf = _login(client, "ada")
        missing = client.post("/api/v1/users", json={"name": "new1", "role": "viewer"})
        assert missing.status_code == 403
        assert missing.json()["title"] == "CSRF token missing"
        assert missing.json()["detail"] == (
            "POST /api/v1/users is authenticated by the knoll_session cookie but its "
            "X-CSRF-Token header is missing."
        )
        assert "X-CSRF-Token" in missing.json()["fix"]
        wrong = client.post(
            "/api/v1/users",
            json={"name": "new1", "role": "viewer"},
            headers={"X-CSRF-Token": "forged"},
        )
        assert wrong.status_code == 403
        assert "header is wrong" in wrong.json()["detail"]
        assert auth.api.instance.storage.get_user("new1") is None
        # reads need none; with the header the change is made
        assert client.get("/api/v1/users").status_code == 200
        done = client.post(
            "/api/v1/users", json={"name": "new1", "role": "viewer"}, headers={"X-CSRF-Token": csrf}
        )
        assert done.status_code == 201


def test_a_token_request_needs_no_csrf_token(auth: AuthApi) -> None:
    response = auth.api.http.post(
        "/api/v1/users", json={"name": "robot", "role": "viewer"}, headers=auth.as_user("ada")
    )
    assert response.status_code == 201


# ---- API tokens --------------------------------------------------------------------------


def test_a_revoked_token_is_refused_at_once(any_auth: AuthApi) -> None:
    http = any_auth.api.http
    created = http.post(
        "/api/v1/users/lin/tokens", json={"name": "laptop"}, headers=any_auth.as_user("lin")
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    token_id = created.json()["token_id"]
    mine = {"Authorization": f"Bearer {secret}"}
    assert http.get("/api/v1/auth/me", headers=mine).json()["via"] == "token"
    listed = http.get("/api/v1/users/lin/tokens", headers=mine)
    assert token_id in listed.text
    assert secret not in listed.text
    stored = any_auth.api.instance.storage.get_token(token_id)
    assert stored is not None
    assert stored.last_used is not None
    revoked = http.delete(f"/api/v1/users/lin/tokens/{token_id}", headers=mine)
    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is not None
    assert http.get("/api/v1/auth/me", headers=mine).status_code == 401
    unknown = http.delete("/api/v1/users/lin/tokens/nope", headers=any_auth.as_user("ada"))
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "There is no API token 'nope'."


def test_an_expired_token_is_refused(auth: AuthApi) -> None:
    token_id, secret = new_token()
    past = time.time() - 10
    auth.api.instance.storage.add_token(
        ApiToken(token_id, "old", "ada", hash_secret(secret), past - 60, expires=past)
    )
    headers = {"Authorization": f"Bearer {secret}"}
    assert auth.api.http.get("/api/v1/auth/me", headers=headers).status_code == 401
    for forged in ("Bearer knoll_" + token_id + "_wrong", "Bearer nonsense", "Basic abc"):
        response = auth.api.http.get("/api/v1/auth/me", headers={"Authorization": forged})
        assert response.status_code == 401


def test_a_token_expires_in_takes_a_duration(auth: AuthApi) -> None:
    http = auth.api.http
    made = http.post(
        "/api/v1/users/vic/tokens", json={"expires_in": "30d"}, headers=auth.as_user("vic")
    ).json()
    assert made["expires"] == pytest.approx(made["created"] + 30 * 86400)
    bad = http.post(
        "/api/v1/users/vic/tokens", json={"expires_in": "soon"}, headers=auth.as_user("vic")
    )
    assert bad.status_code == 400
    assert "expires_in 'soon' is not a duration" in bad.json()["detail"]


def test_a_user_manages_only_its_own_tokens(auth: AuthApi) -> None:
    response = auth.api.http.post("/api/v1/users/ada/tokens", json={}, headers=auth.as_user("vic"))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "'vic' is a viewer; the tokens of user 'ada' need the admin role (a user may manage "
        "only its own tokens)."
    )
    assert (
        auth.api.http.get("/api/v1/users/vic/tokens", headers=auth.as_user("ada")).status_code
        == 200
    )


# ---- roles -------------------------------------------------------------------------------


def test_a_role_too_weak_gets_403_naming_the_role_needed(auth: AuthApi) -> None:
    response = auth.api.http.get("/api/v1/users", headers=auth.as_user("lin"))
    assert response.status_code == 403
    body = response.json()
    assert body["detail"] == "'lin' is a launcher; this needs the admin role."
    assert body["fix"] == (
        "Ask an admin to give 'lin' the admin role: PATCH /api/v1/users/lin with "
        '{"role": "admin"} (or {"grants": {"LOCATION": "admin"}} for one code location).'
    )


# ---- users -------------------------------------------------------------------------------


def test_users_are_created_changed_listed_and_deleted(any_auth: AuthApi) -> None:
    http = any_auth.api.http
    admin = any_auth.as_user("ada")
    made = http.post(
        "/api/v1/users",
        json={
            "name": "eve",
            "role": "viewer",
            "password": "eve-password",
            "grants": {"shop": "editor"},
        },
        headers=admin,
    )
    assert made.status_code == 201
    assert made.json()["grants"] == {"shop": "editor"}
    assert made.json()["has_password"]
    again = http.post("/api/v1/users", json={"name": "eve", "role": "viewer"}, headers=admin)
    assert again.status_code == 409
    assert "there is a user 'eve' already" in again.json()["detail"]
    bad_role = http.post("/api/v1/users", json={"name": "sam", "role": "boss"}, headers=admin)
    assert bad_role.status_code == 422
    assert bad_role.json()["detail"] == (
        "'boss' is not a role: use one of viewer, launcher, editor, admin."
    )
    short = http.post(
        "/api/v1/users", json={"name": "sam", "role": "viewer", "password": "short"}, headers=admin
    )
    assert short.status_code == 422
    assert "too short (5 characters): use at least 8" in short.json()["detail"]
    changed = http.patch("/api/v1/users/eve", json={"role": "editor"}, headers=admin)
    assert changed.json()["role"] == "editor"
    assert changed.json()["grants"] == {"shop": "editor"}

    first = http.get("/api/v1/users", params={"limit": 2}, headers=admin).json()
    rest = http.get(
        "/api/v1/users", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin
    ).json()
    names = [u["name"] for u in first["items"] + rest["items"]]
    assert names == ["ada", "eve", "lin", "vic"]
    assert rest["next_cursor"] is None

    assert http.delete("/api/v1/users/eve", headers=admin).status_code == 204
    gone = http.get("/api/v1/users/eve", headers=admin)
    assert gone.status_code == 404
    assert gone.json()["detail"].startswith("there is no user 'eve'; list the users with")


def test_the_only_admin_cannot_be_removed_demoted_or_disabled(auth: AuthApi) -> None:
    http = auth.api.http
    admin = auth.as_user("ada")
    for method, body in (
        ("DELETE", None),
        ("PATCH", {"role": "viewer"}),
        ("PATCH", {"disabled": True}),
    ):
        response = http.request(method, "/api/v1/users/ada", json=body, headers=admin)
        assert response.status_code == 422
        assert "it is the only enabled admin" in response.json()["detail"]
    user = auth.api.instance.storage.get_user("ada")
    assert user is not None
    assert user.role == "admin"
    assert not user.disabled


def test_a_grant_gives_a_role_on_one_code_location(auth: AuthApi) -> None:
    http = auth.api.http
    http.patch(
        "/api/v1/users/vic", json={"grants": {"shop": "launcher"}}, headers=auth.as_user("ada")
    )
    me = http.get("/api/v1/auth/me", headers=auth.as_user("vic")).json()
    assert me["role"] == "viewer"
    assert me["grants"] == {"shop": "launcher"}


# ---- the audit log -----------------------------------------------------------------------


def test_the_audit_log_records_every_changing_request(any_auth: AuthApi) -> None:
    http = any_auth.api.http
    admin = any_auth.as_user("ada")
    http.post("/api/v1/users", json={"name": "kim", "role": "viewer"}, headers=admin)
    http.post("/api/v1/users", json={"name": "kim", "role": "viewer"})  # no credentials
    http.post("/api/v1/auth/login", json={"name": "kim", "password": "not-set-at-all"})
    http.delete("/api/v1/users/kim", headers=any_auth.as_user("vic"))
    http.get("/api/v1/users", headers=admin)  # a read: not recorded
    page = http.get("/api/v1/audit", params={"limit": 3}, headers=admin).json()
    older = http.get(
        "/api/v1/audit", params={"limit": 3, "cursor": page["next_cursor"]}, headers=admin
    ).json()
    entries = page["items"] + older["items"]
    seen = [
        (e["actor"], e["via"], e["method"], e["route"], e["target"], e["status"]) for e in entries
    ]
    assert seen == [
        ("vic", "token", "DELETE", "/api/v1/users/{name}", "/api/v1/users/kim", 403),
        ("kim", "login", "POST", "/api/v1/auth/login", "/api/v1/auth/login", 401),
        (None, "anonymous", "POST", "/api/v1/users", "/api/v1/users", 401),
        ("ada", "token", "POST", "/api/v1/users", "/api/v1/users", 201),
    ]
    assert older["next_cursor"] is None
    assert all(e["address"] == "127.0.0.1" for e in entries)
    ids = [e["entry_id"] for e in entries]
    assert ids == sorted(ids, reverse=True)


def test_the_audit_log_needs_the_admin_role(auth: AuthApi) -> None:
    response = auth.api.http.get("/api/v1/audit", headers=auth.as_user("lin"))
    assert response.status_code == 403


# ---- without logins ------------------------------------------------------------------------


def test_without_required_logins_every_request_is_the_local_admin(start_api: StartApi) -> None:
    api = start_api("sqlite")
    assert api.http.get("/api/v1/auth/me").json() == {
        "name": "local",
        "role": "admin",
        "via": "local",
        "grants": {},
        "csrf_token": None,
    }
    made = api.http.post("/api/v1/users", json={"name": "ada", "role": "admin"})
    assert made.status_code == 201
    entry = api.http.get("/api/v1/audit").json()["items"][0]
    assert (entry["actor"], entry["via"], entry["status"]) == ("local", "local", 201)
