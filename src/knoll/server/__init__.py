"""The webserver: a REST/JSON API under ``/api/v1`` with its OpenAPI document, live updates by
Server-Sent Events, authentication and roles.

One door for the UI, scripts and other tools. :func:`create_app` builds the FastAPI app from a
:class:`ServerContext` (the instance, the code servers of the workspace, the auth settings);
:func:`serving` runs it on uvicorn in a thread (tests, ``knoll dev``) and ``knoll webserver``
in the foreground.

Layout: ``api/`` one router per area (its routes and its pydantic response models),
``auth/`` principals, roles and how a request proves who it is, ``problems`` the JSON problem
documents every error becomes, ``pagination`` the opaque cursors of every list.
"""

from __future__ import annotations

from knoll.server.app import create_app
from knoll.server.context import ServerContext
from knoll.server.serve import Serving, serving

__all__ = ["ServerContext", "Serving", "create_app", "serving"]
