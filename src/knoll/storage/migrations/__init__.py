"""Alembic migrations of the SQL storage, run by ``knoll.storage.version.migrate``.

No ``alembic.ini`` is needed: the environment (``env.py``) takes its connection from the
caller. A migration writes its tables out in full and never imports the runtime schema
(``knoll.storage.sql.schema``), so that it keeps creating what it created when it was
written. To change the schema: change ``schema.py``, add ``versions/NNNN_what.py`` with
``down_revision`` set to the previous head, and move ``HEAD_REVISION`` and ``REVISIONS`` in
``knoll.storage.version``; the tests check that the three agree.
"""
