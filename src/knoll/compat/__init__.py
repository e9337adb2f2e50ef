"""Compatibility doors for code written against other orchestrators' APIs.

``knoll.compat.dagster`` offers every public name of knoll plus the names Dagster spells with
its brand (``DagsterInstance``, ``get_dagster_logger``, ``DagsterInvalidConfigError``, ...),
so that ``import knoll.compat.dagster as dg`` is the whole port of Dagster code.
"""
