"""The problem of a route naming a code location the workspace does not have."""

from __future__ import annotations

from knoll._utils import did_you_mean
from knoll.server.context import ServerContext
from knoll.server.problems import Problem


def unknown_location(context: ServerContext, name: str) -> Problem:
    """The 404 for code location ``name``, with the close names and those there are."""
    names = context.locations.names
    return Problem(
        404,
        "Not Found",
        f"There is no code location {name!r}.{did_you_mean(name, names)} The workspace's "
        f"locations: {', '.join(names) or 'none'}.",
        object=name,
        fix="Name one of the workspace's code locations (its workspace.yaml lists them).",
    )
