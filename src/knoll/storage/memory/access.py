"""Users, API tokens, sessions, failed logins and the audit log in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from knoll.errors import AccountExistsError, StorageError, UnknownAccountError
from knoll.storage.access import ApiToken, AuditEntry, Session, User, check_user
from knoll.storage.memory._state import MemoryState


class MemoryAccessStorage(MemoryState):
    """Logins and the audit log under the store's one lock."""

    # ---- users

    def add_user(self, user: User) -> None:
        check_user(user)
        with self._lock:
            if user.name in self._users:
                raise AccountExistsError(
                    f"there is a user {user.name!r} already; pick another name, or change "
                    f"that user (knoll user passwd {user.name})."
                )
            self._users[user.name] = replace(user, grants=dict(user.grants))

    def get_user(self, name: str) -> User | None:
        with self._lock:
            return self._users.get(name)

    def get_users(self, *, after: str | None = None, limit: int | None = None) -> Sequence[User]:
        with self._lock:
            found = [self._users[name] for name in sorted(self._users)]
        if after is not None:
            found = [user for user in found if user.name > after]
        return found if limit is None else found[: max(limit, 0)]

    def update_user(self, user: User) -> None:
        check_user(user)
        with self._lock:
            if user.name not in self._users:
                raise UnknownAccountError(f"there is no user {user.name!r} to update.")
            self._users[user.name] = replace(user, grants=dict(user.grants))

    def delete_user(self, name: str) -> bool:
        with self._lock:
            for token in [t for t in self._tokens.values() if t.user == name]:
                del self._tokens[token.token_id]
            for session in [s for s in self._sessions.values() if s.user == name]:
                del self._sessions[session.id_hash]
            return self._users.pop(name, None) is not None

    # ---- API tokens

    def add_token(self, token: ApiToken) -> None:
        with self._lock:
            if token.user not in self._users:
                raise UnknownAccountError(
                    f"there is no user {token.user!r} to own API token {token.name!r}."
                )
            if token.token_id in self._tokens:
                raise StorageError(f"there is an API token {token.token_id!r} already.")
            self._tokens[token.token_id] = token

    def get_token(self, token_id: str) -> ApiToken | None:
        with self._lock:
            return self._tokens.get(token_id)

    def get_tokens(
        self, *, user: str | None = None, after: str | None = None, limit: int | None = None
    ) -> Sequence[ApiToken]:
        with self._lock:
            found = [self._tokens[token_id] for token_id in sorted(self._tokens)]
        found = [
            token
            for token in found
            if (user is None or token.user == user) and (after is None or token.token_id > after)
        ]
        return found if limit is None else found[: max(limit, 0)]

    def revoke_token(self, token_id: str, at: float) -> ApiToken | None:
        with self._lock:
            token = self._tokens.get(token_id)
            if token is not None and token.revoked is None:
                token = self._tokens[token_id] = replace(token, revoked=at)
            return token

    def touch_token(self, token_id: str, at: float) -> None:
        with self._lock:
            token = self._tokens.get(token_id)
            if token is not None and (token.last_used is None or token.last_used < at):
                self._tokens[token_id] = replace(token, last_used=at)

    # ---- sessions

    def add_session(self, session: Session) -> None:
        with self._lock:
            self._sessions[session.id_hash] = session

    def get_session(self, id_hash: str) -> Session | None:
        with self._lock:
            return self._sessions.get(id_hash)

    def delete_session(self, id_hash: str) -> bool:
        with self._lock:
            return self._sessions.pop(id_hash, None) is not None

    def delete_sessions(
        self, *, user: str | None = None, expired_before: float | None = None
    ) -> int:
        if user is None and expired_before is None:
            return 0
        with self._lock:
            gone = [
                session.id_hash
                for session in self._sessions.values()
                if (user is None or session.user == user)
                and (expired_before is None or session.expires < expired_before)
            ]
            for id_hash in gone:
                del self._sessions[id_hash]
            return len(gone)

    # ---- failed logins

    def add_login_failure(self, user_name: str, address: str, at: float) -> None:
        with self._lock:
            self._login_failures.append((user_name, address, at))

    def get_login_failures(
        self, *, since: float, user_name: str | None = None, address: str | None = None
    ) -> Sequence[float]:
        with self._lock:
            return sorted(
                at
                for name, where, at in self._login_failures
                if at >= since
                and (user_name is None or name == user_name)
                and (address is None or where == address)
            )

    def clear_login_failures(self, user_name: str) -> int:
        with self._lock:
            kept = [failure for failure in self._login_failures if failure[0] != user_name]
            cleared = len(self._login_failures) - len(kept)
            self._login_failures = kept
            return cleared

    def delete_login_failures(self, before: float) -> int:
        with self._lock:
            kept = [failure for failure in self._login_failures if failure[2] >= before]
            deleted = len(self._login_failures) - len(kept)
            self._login_failures = kept
            return deleted

    # ---- the audit log

    def add_audit_entry(self, entry: AuditEntry) -> int:
        with self._lock:
            entry_id = len(self._audit) + 1
            self._audit.append(replace(entry, entry_id=entry_id))
            return entry_id

    def get_audit_entries(
        self, *, before_id: int | None = None, limit: int = 100
    ) -> Sequence[AuditEntry]:
        with self._lock:
            end = len(self._audit) if before_id is None else min(before_id - 1, len(self._audit))
            newest_first = self._audit[max(end, 0) - 1 :: -1] if end > 0 else []
            return newest_first[: max(limit, 0)]
