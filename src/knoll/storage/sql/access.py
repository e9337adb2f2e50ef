"""Users, API tokens, sessions, failed logins and the audit log in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll.errors import AccountExistsError, StorageError, UnknownAccountError
from knoll.storage.access import (
    AccessStorage,
    ApiToken,
    AuditEntry,
    Session,
    User,
    check_user,
)
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import api_tokens, audit_log, login_failures, sessions, users


def _user_row(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "password_hash": user.password_hash,
        "grants": json.dumps(dict(user.grants), sort_keys=True),
        "created": user.created,
        "disabled": user.disabled,
    }


def _user(row: Any) -> User:
    return User(
        name=row.name,
        role=row.role,
        created=row.created,
        password_hash=row.password_hash,
        grants=json.loads(row.grants),
        disabled=bool(row.disabled),
    )


def _token(row: Any) -> ApiToken:
    return ApiToken(
        token_id=row.token_id,
        name=row.name,
        user=row.user_name,
        secret_hash=row.secret_hash,
        created=row.created,
        expires=row.expires,
        last_used=row.last_used,
        revoked=row.revoked,
    )


def _session(row: Any) -> Session:
    return Session(row.id_hash, row.user_name, row.created, row.expires, row.csrf_token)


def _audit(row: Any) -> AuditEntry:
    return AuditEntry(
        timestamp=row.timestamp,
        actor=row.actor,
        via=row.via,
        method=row.method,
        route=row.route,
        target=row.target,
        status=row.status,
        address=row.address,
        entry_id=row.id,
    )


class SqlAccessStorage(AccessStorage):
    """``AccessStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    # ---- users

    def add_user(self, user: User) -> None:
        check_user(user)

        def add(conn: Connection) -> None:
            found = conn.execute(sa.select(users.c.name).where(users.c.name == user.name))
            if found.first() is not None:
                raise AccountExistsError(
                    f"there is a user {user.name!r} already; pick another name, or change "
                    f"that user (knoll user passwd {user.name})."
                )
            conn.execute(sa.insert(users).values(_user_row(user)))

        self._db.write(add)

    def get_user(self, name: str) -> User | None:
        with self._db.read() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        return None if row is None else _user(row)

    def get_users(self, *, after: str | None = None, limit: int | None = None) -> Sequence[User]:
        query = sa.select(users).order_by(users.c.name)
        if after is not None:
            query = query.where(users.c.name > after)
        if limit is not None:
            query = query.limit(max(limit, 0))
        with self._db.read() as conn:
            return [_user(row) for row in conn.execute(query)]

    def update_user(self, user: User) -> None:
        check_user(user)
        row = _user_row(user)
        del row["name"]

        def update(conn: Connection) -> None:
            done = conn.execute(sa.update(users).where(users.c.name == user.name).values(row))
            if done.rowcount == 0:
                raise UnknownAccountError(f"there is no user {user.name!r} to update.")

        self._db.write(update)

    def delete_user(self, name: str) -> bool:
        def delete(conn: Connection) -> bool:
            conn.execute(sa.delete(api_tokens).where(api_tokens.c.user_name == name))
            conn.execute(sa.delete(sessions).where(sessions.c.user_name == name))
            return bool(conn.execute(sa.delete(users).where(users.c.name == name)).rowcount)

        return bool(self._db.write(delete))

    # ---- API tokens

    def add_token(self, token: ApiToken) -> None:
        def add(conn: Connection) -> None:
            owner = conn.execute(sa.select(users.c.name).where(users.c.name == token.user))
            if owner.first() is None:
                raise UnknownAccountError(
                    f"there is no user {token.user!r} to own API token {token.name!r}."
                )
            taken = conn.execute(
                sa.select(api_tokens.c.token_id).where(api_tokens.c.token_id == token.token_id)
            )
            if taken.first() is not None:
                raise StorageError(f"there is an API token {token.token_id!r} already.")
            conn.execute(
                sa.insert(api_tokens).values(
                    token_id=token.token_id,
                    name=token.name,
                    user_name=token.user,
                    secret_hash=token.secret_hash,
                    created=token.created,
                    expires=token.expires,
                    last_used=token.last_used,
                    revoked=token.revoked,
                )
            )

        self._db.write(add)

    def get_token(self, token_id: str) -> ApiToken | None:
        query = sa.select(api_tokens).where(api_tokens.c.token_id == token_id)
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _token(row)

    def get_tokens(
        self, *, user: str | None = None, after: str | None = None, limit: int | None = None
    ) -> Sequence[ApiToken]:
        query = sa.select(api_tokens).order_by(api_tokens.c.token_id)
        if user is not None:
            query = query.where(api_tokens.c.user_name == user)
        if after is not None:
            query = query.where(api_tokens.c.token_id > after)
        if limit is not None:
            query = query.limit(max(limit, 0))
        with self._db.read() as conn:
            return [_token(row) for row in conn.execute(query)]

    def revoke_token(self, token_id: str, at: float) -> ApiToken | None:
        def revoke(conn: Connection) -> ApiToken | None:
            conn.execute(
                sa.update(api_tokens)
                .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked.is_(None))
                .values(revoked=at)
            )
            row = conn.execute(
                sa.select(api_tokens).where(api_tokens.c.token_id == token_id)
            ).first()
            return None if row is None else _token(row)

        token: ApiToken | None = self._db.write(revoke)
        return token

    def touch_token(self, token_id: str, at: float) -> None:
        later = sa.or_(api_tokens.c.last_used.is_(None), api_tokens.c.last_used < at)
        statement = (
            sa.update(api_tokens)
            .where(api_tokens.c.token_id == token_id, later)
            .values(last_used=at)
        )
        self._db.write(lambda conn: conn.execute(statement))

    # ---- sessions

    def add_session(self, session: Session) -> None:
        statement = sa.insert(sessions).values(
            id_hash=session.id_hash,
            user_name=session.user,
            created=session.created,
            expires=session.expires,
            csrf_token=session.csrf_token,
        )
        self._db.write(lambda conn: conn.execute(statement))

    def get_session(self, id_hash: str) -> Session | None:
        with self._db.read() as conn:
            row = conn.execute(sa.select(sessions).where(sessions.c.id_hash == id_hash)).first()
        return None if row is None else _session(row)

    def delete_session(self, id_hash: str) -> bool:
        statement = sa.delete(sessions).where(sessions.c.id_hash == id_hash)
        return bool(self._db.write(lambda conn: conn.execute(statement).rowcount))

    def delete_sessions(
        self, *, user: str | None = None, expired_before: float | None = None
    ) -> int:
        if user is None and expired_before is None:
            return 0
        statement = sa.delete(sessions)
        if user is not None:
            statement = statement.where(sessions.c.user_name == user)
        if expired_before is not None:
            statement = statement.where(sessions.c.expires < expired_before)
        return int(self._db.write(lambda conn: conn.execute(statement).rowcount))

    # ---- failed logins

    def add_login_failure(self, user_name: str, address: str, at: float) -> None:
        statement = sa.insert(login_failures).values(
            user_name=user_name, address=address, timestamp=at
        )
        self._db.write(lambda conn: conn.execute(statement))

    def get_login_failures(
        self, *, since: float, user_name: str | None = None, address: str | None = None
    ) -> Sequence[float]:
        query = (
            sa.select(login_failures.c.timestamp)
            .where(login_failures.c.timestamp >= since)
            .order_by(login_failures.c.timestamp)
        )
        if user_name is not None:
            query = query.where(login_failures.c.user_name == user_name)
        if address is not None:
            query = query.where(login_failures.c.address == address)
        with self._db.read() as conn:
            return [float(value) for value in conn.execute(query).scalars()]

    def clear_login_failures(self, user_name: str) -> int:
        statement = sa.delete(login_failures).where(login_failures.c.user_name == user_name)
        return int(self._db.write(lambda conn: conn.execute(statement).rowcount))

    def delete_login_failures(self, before: float) -> int:
        statement = sa.delete(login_failures).where(login_failures.c.timestamp < before)
        return int(self._db.write(lambda conn: conn.execute(statement).rowcount))

    # ---- the audit log

    def add_audit_entry(self, entry: AuditEntry) -> int:
        statement = (
            sa.insert(audit_log)
            .values(
                timestamp=entry.timestamp,
                actor=entry.actor,
                via=entry.via,
                method=entry.method,
                route=entry.route,
                target=entry.target,
                status=entry.status,
                address=entry.address,
            )
            .returning(audit_log.c.id)
        )
        return int(self._db.write(lambda conn: conn.execute(statement).scalar_one()))

    def get_audit_entries(
        self, *, before_id: int | None = None, limit: int = 100
    ) -> Sequence[AuditEntry]:
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(max(limit, 0))
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        with self._db.read() as conn:
            return [_audit(row) for row in conn.execute(query)]
