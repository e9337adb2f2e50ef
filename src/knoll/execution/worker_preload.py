"""Imported by the multiprocess executor's forkserver before it forks any worker.

It loads the run's code location (named by ``$KNOLL_WORKER_ORIGIN``) once, so that every worker
forked from the forkserver starts with the user's code imported: no worker imports it again.
"""

from knoll.execution import multiprocess as _multiprocess  # noqa: F401  (what workers run)
from knoll.execution import step as _step  # noqa: F401
from knoll.execution.spawned import preload_from_environment

preload_from_environment()
