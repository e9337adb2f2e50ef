"""The storage interfaces of who may use the webserver: users, API tokens, login sessions,
failed logins (for rate limiting) and the audit log of every change made through it.

Storage keeps no secret in the clear: a user has an argon2 hash of its password, an API token
and a session a SHA-256 hash of their secret (both are long random strings, so a fast hash is
enough and lets a lookup use the index). Roles are stored by their label; what a role allows
is the webserver's business.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from knoll.errors import AccountError

USER_ROLES = ("viewer", "launcher", "editor", "admin")
"""The roles a user may hold, weakest first."""


def check_role(role: str, what: str) -> None:
    """Raise ``AccountError`` unless ``role`` is one of :data:`USER_ROLES`."""
    if role not in USER_ROLES:
        raise AccountError(f"{what}: {role!r} is not a role; use one of {', '.join(USER_ROLES)}.")


# ---- users -------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A person or robot that logs in to the webserver. ``grants`` gives a different role on
    some code locations (location name -> role); ``password_hash`` is None for a user that
    only uses API tokens."""

    name: str
    role: str
    created: float
    password_hash: str | None = None
    grants: Mapping[str, str] = field(default_factory=dict)
    disabled: bool = False


def check_user(user: User) -> None:
    check_role(user.role, f"user {user.name!r}")
    for location, role in user.grants.items():
        check_role(role, f"user {user.name!r}, grant on code location {location!r}")


class UserStorage(ABC):
    """Users by name."""

    @abstractmethod
    def add_user(self, user: User) -> None:
        """Store a new user; ``AccountExistsError`` when one has that name already."""

    @abstractmethod
    def get_user(self, name: str) -> User | None:
        """The user called ``name``, or None."""

    @abstractmethod
    def get_users(self, *, after: str | None = None, limit: int | None = None) -> Sequence[User]:
        """Users by name, those after ``after`` only, at most ``limit``."""

    @abstractmethod
    def update_user(self, user: User) -> None:
        """Replace the stored user of ``user.name``; ``UnknownAccountError`` when none."""

    @abstractmethod
    def delete_user(self, name: str) -> bool:
        """Delete the user ``name`` with its API tokens and sessions: whether it existed."""


# ---- API tokens --------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiToken:
    """An API token of ``user``: its public ``token_id`` and the hash of its secret (the
    secret itself is shown once, when the token is created). ``expires`` None: never."""

    token_id: str
    name: str
    user: str
    secret_hash: str
    created: float
    expires: float | None = None
    last_used: float | None = None
    revoked: float | None = None

    def usable(self, now: float) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked is None and (self.expires is None or now < self.expires)


class TokenStorage(ABC):
    """API tokens by id."""

    @abstractmethod
    def add_token(self, token: ApiToken) -> None:
        """Store a new token (its user must exist: ``UnknownAccountError`` otherwise)."""

    @abstractmethod
    def get_token(self, token_id: str) -> ApiToken | None:
        """The token ``token_id``, or None."""

    @abstractmethod
    def get_tokens(
        self, *, user: str | None = None, after: str | None = None, limit: int | None = None
    ) -> Sequence[ApiToken]:
        """Tokens (of ``user`` only, when given) by id, those after ``after``, at most
        ``limit``."""

    @abstractmethod
    def revoke_token(self, token_id: str, at: float) -> ApiToken | None:
        """Revoke the token at ``at`` (a token revoked already keeps its first revocation):
        the token as stored now, or None when there is none."""

    @abstractmethod
    def touch_token(self, token_id: str, at: float) -> None:
        """Record that the token was used at ``at``."""


# ---- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A login session of ``user``, found by the hash of the id its cookie carries; requests
    it authenticates that change something must send ``csrf_token`` back in a header."""

    id_hash: str
    user: str
    created: float
    expires: float
    csrf_token: str


class SessionStorage(ABC):
    """Login sessions by the hash of their id."""

    @abstractmethod
    def add_session(self, session: Session) -> None:
        """Store a new session."""

    @abstractmethod
    def get_session(self, id_hash: str) -> Session | None:
        """The session whose id hashes to ``id_hash``, or None."""

    @abstractmethod
    def delete_session(self, id_hash: str) -> bool:
        """Delete one session (a logout): whether it existed."""

    @abstractmethod
    def delete_sessions(
        self, *, user: str | None = None, expired_before: float | None = None
    ) -> int:
        """Delete every session of ``user`` (a new password, a disabled user) and/or every
        session that expired before ``expired_before``: how many were deleted."""


# ---- failed logins -----------------------------------------------------------------------


class LoginAttemptStorage(ABC):
    """Failed logins, by user name and by client address, to limit how fast passwords can be
    guessed."""

    @abstractmethod
    def add_login_failure(self, user_name: str, address: str, at: float) -> None:
        """Record a failed login as ``user_name`` from ``address`` at ``at``."""

    @abstractmethod
    def get_login_failures(
        self, *, since: float, user_name: str | None = None, address: str | None = None
    ) -> Sequence[float]:
        """When the failed logins as ``user_name`` (or from ``address``) since ``since``
        happened, oldest first."""

    @abstractmethod
    def clear_login_failures(self, user_name: str) -> int:
        """Forget the failed logins as ``user_name`` (after it logged in): how many."""

    @abstractmethod
    def delete_login_failures(self, before: float) -> int:
        """Forget the failed logins before ``before``: how many."""


# ---- the audit log -----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    """One request that could change something: who (``actor``, None when it was nobody
    known, and ``via`` how it proved it), what (``method``, the ``route`` template and the
    ``target`` path it was called on), when, from where, and the response ``status``."""

    timestamp: float
    actor: str | None
    via: str
    method: str
    route: str
    target: str
    status: int
    address: str | None = None
    entry_id: int | None = None


class AuditStorage(ABC):
    """The audit log, in the order entries were added."""

    @abstractmethod
    def add_audit_entry(self, entry: AuditEntry) -> int:
        """Append ``entry``: its id (ids grow with each entry)."""

    @abstractmethod
    def get_audit_entries(
        self, *, before_id: int | None = None, limit: int = 100
    ) -> Sequence[AuditEntry]:
        """The newest entries first, those with an id below ``before_id`` only."""


class AccessStorage(UserStorage, TokenStorage, SessionStorage, LoginAttemptStorage, AuditStorage):
    """Everything the webserver's logins and audit log store."""
