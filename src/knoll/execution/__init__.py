"""Execution: plans, contexts, the user-code boundary, executors and events.

Importing this package installs the runtime that declarations use for direct invocation and
``execute_in_process``.
"""

from knoll.execution import direct as _direct  # noqa: F401 - installs the runtime
