"""The conformance suites of users, API tokens, sessions, failed logins and the audit log."""

from __future__ import annotations

import pytest

from knoll.errors import AccountError, AccountExistsError, StorageError, UnknownAccountError
from knoll.storage.access import ApiToken, AuditEntry, Session, User
from knoll.storage.base import Storage

T0 = 1_700_000_000.0


def _user(name: str = "ada", role: str = "viewer", **changes: object) -> User:
    return User(name=name, role=role, created=T0, password_hash="$argon2id$x", **changes)  # type: ignore[arg-type]


def _token(token_id: str, user: str = "ada", **changes: object) -> ApiToken:
    return ApiToken(token_id, f"ci-{token_id}", user, f"hash-{token_id}", T0, **changes)  # type: ignore[arg-type]


class UserStorageSuite:
    """Subclasses provide the ``storage`` fixture."""

    def test_a_user_round_trips_with_its_grants(self, storage: Storage) -> None:
        user = _user(grants={"shop": "editor"})
        storage.add_user(user)
        assert storage.get_user("ada") == user
        assert storage.get_user("nobody") is None

    def test_a_name_is_taken_once(self, storage: Storage) -> None:
        storage.add_user(_user())
        with pytest.raises(AccountExistsError, match="there is a user 'ada' already"):
            storage.add_user(_user(role="admin"))
        stored = storage.get_user("ada")
        assert stored is not None
        assert stored.role == "viewer"

    def test_an_unknown_role_is_refused_naming_the_roles(self, storage: Storage) -> None:
        with pytest.raises(AccountError, match="'owner' is not a role; use one of viewer, "):
            storage.add_user(_user(role="owner"))
        with pytest.raises(AccountError, match="grant on code location 'shop'"):
            storage.add_user(_user(grants={"shop": "boss"}))
        assert storage.get_users() == []

    def test_users_are_listed_by_name_a_page_at_a_time(self, storage: Storage) -> None:
        for name in ("carol", "ada", "bob"):
            storage.add_user(_user(name))
        assert [u.name for u in storage.get_users()] == ["ada", "bob", "carol"]
        assert [u.name for u in storage.get_users(limit=2)] == ["ada", "bob"]
        assert [u.name for u in storage.get_users(after="bob")] == ["carol"]

    def test_update_replaces_and_an_unknown_user_is_refused(self, storage: Storage) -> None:
        storage.add_user(_user())
        changed = _user(role="admin", disabled=True, grants={"shop": "viewer"})
        storage.update_user(changed)
        assert storage.get_user("ada") == changed
        with pytest.raises(UnknownAccountError, match="there is no user 'bob' to update"):
            storage.update_user(_user("bob"))

    def test_delete_takes_the_tokens_and_sessions_along(self, storage: Storage) -> None:
        storage.add_user(_user())
        storage.add_user(_user("bob"))
        storage.add_token(_token("t1"))
        storage.add_token(_token("t2", user="bob"))
        storage.add_session(Session("s1", "ada", T0, T0 + 60, "csrf"))
        assert storage.delete_user("ada")
        assert not storage.delete_user("ada")
        assert storage.get_user("ada") is None
        assert [t.token_id for t in storage.get_tokens()] == ["t2"]
        assert storage.get_session("s1") is None


class TokenStorageSuite:
    def test_a_token_round_trips_and_needs_its_user(self, storage: Storage) -> None:
        storage.add_user(_user())
        token = _token("t1", expires=T0 + 10)
        storage.add_token(token)
        assert storage.get_token("t1") == token
        assert storage.get_token("t9") is None
        with pytest.raises(UnknownAccountError, match="there is no user 'bob' to own API token"):
            storage.add_token(_token("t2", user="bob"))
        with pytest.raises(StorageError, match="there is an API token 't1' already"):
            storage.add_token(_token("t1"))

    def test_tokens_are_listed_by_id_per_user(self, storage: Storage) -> None:
        storage.add_user(_user())
        storage.add_user(_user("bob"))
        for token_id, user in (("c", "ada"), ("a", "bob"), ("b", "ada")):
            storage.add_token(_token(token_id, user=user))
        assert [t.token_id for t in storage.get_tokens()] == ["a", "b", "c"]
        assert [t.token_id for t in storage.get_tokens(user="ada")] == ["b", "c"]
        assert [t.token_id for t in storage.get_tokens(user="ada", after="b")] == ["c"]
        assert [t.token_id for t in storage.get_tokens(limit=1)] == ["a"]

    def test_revoking_keeps_the_first_time_and_use_moves_forward(self, storage: Storage) -> None:
        storage.add_user(_user())
        storage.add_token(_token("t1"))
        revoked = storage.revoke_token("t1", T0 + 5)
        assert revoked is not None
        assert revoked.revoked == T0 + 5
        again = storage.revoke_token("t1", T0 + 9)
        assert again is not None
        assert again.revoked == T0 + 5
        assert not again.usable(T0 + 1)
        assert storage.revoke_token("t9", T0) is None
        storage.touch_token("t1", T0 + 7)
        storage.touch_token("t1", T0 + 3)
        stored = storage.get_token("t1")
        assert stored is not None
        assert stored.last_used == T0 + 7

    def test_a_token_expires(self) -> None:
        token = _token("t1", expires=T0 + 10)
        assert token.usable(T0 + 9)
        assert not token.usable(T0 + 10)
        assert _token("t2").usable(T0 + 1e9)


class SessionStorageSuite:
    def test_sessions_are_found_by_hash_and_deleted(self, storage: Storage) -> None:
        storage.add_user(_user())
        storage.add_user(_user("bob"))
        first = Session("h1", "ada", T0, T0 + 60, "c1")
        storage.add_session(first)
        storage.add_session(Session("h2", "ada", T0, T0 + 10, "c2"))
        storage.add_session(Session("h3", "bob", T0, T0 + 10, "c3"))
        assert storage.get_session("h1") == first
        assert storage.delete_session("h1")
        assert not storage.delete_session("h1")
        assert storage.delete_sessions(expired_before=T0 + 11, user="bob") == 1
        assert storage.get_session("h2") is not None
        assert storage.delete_sessions() == 0
        assert storage.delete_sessions(user="ada") == 1
        assert storage.get_session("h2") is None


class LoginAttemptStorageSuite:
    def test_failures_are_counted_by_name_and_by_address(self, storage: Storage) -> None:
        storage.add_login_failure("ada", "10.0.0.1", T0 + 2)
        storage.add_login_failure("ada", "10.0.0.2", T0 + 1)
        storage.add_login_failure("bob", "10.0.0.1", T0 + 3)
        storage.add_login_failure("ada", "10.0.0.1", T0 - 100)
        assert storage.get_login_failures(since=T0, user_name="ada") == [T0 + 1, T0 + 2]
        assert storage.get_login_failures(since=T0, address="10.0.0.1") == [T0 + 2, T0 + 3]
        assert storage.clear_login_failures("ada") == 3
        assert storage.get_login_failures(since=0, user_name="ada") == []
        assert storage.delete_login_failures(T0 + 4) == 1
        assert storage.get_login_failures(since=0, address="10.0.0.1") == []


class AuditStorageSuite:
    def test_entries_come_back_newest_first_a_page_at_a_time(self, storage: Storage) -> None:
        ids = [
            storage.add_audit_entry(
                AuditEntry(T0 + n, "ada", "token", "POST", "/api/v1/x/{n}", f"/api/v1/x/{n}", 200)
            )
            for n in range(3)
        ]
        assert ids == sorted(ids)
        assert len(set(ids)) == 3
        entries = storage.get_audit_entries()
        assert [e.target for e in entries] == ["/api/v1/x/2", "/api/v1/x/1", "/api/v1/x/0"]
        assert entries[0].entry_id == ids[2]
        assert entries[0] == AuditEntry(
            T0 + 2, "ada", "token", "POST", "/api/v1/x/{n}", "/api/v1/x/2", 200, None, ids[2]
        )
        older = storage.get_audit_entries(before_id=ids[2], limit=1)
        assert [e.entry_id for e in older] == [ids[1]]
        assert storage.get_audit_entries(before_id=ids[0]) == []
