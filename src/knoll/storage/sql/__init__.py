"""The SQL storage: one implementation on SQLAlchemy Core, for SQLite and PostgreSQL."""

from knoll.storage.sql.storage import SqlStorage as SqlStorage

__all__ = ["SqlStorage"]
