"""The Alembic environment: runs the migrations on the connection its caller passed in.

``knoll.storage.version.migrate`` opens the connection and its transaction (holding the
migration lock), so the migrations commit or roll back as one with the check before them.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "knoll's migrations run on a connection passed by knoll.storage.version.migrate; "
        "run them with `knoll instance migrate`, not with the alembic command line."
    )
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
