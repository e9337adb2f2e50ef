"""The seam between declarations and execution.

Declarations offer ``my_op(...)`` (direct invocation) and ``job.execute_in_process(...)``,
but running anything is the execution layer's job, and a lower layer never imports a higher
one. The execution layer registers its implementation here when it is imported; the ``knoll``
package registers a loader that imports the execution layer the first time a declaration
needs it, so that declaring assets does not load it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from knoll.errors import InvalidInvocationError

if TYPE_CHECKING:
    from knoll.defs.asset import AssetsDefinition
    from knoll.defs.job import JobDefinition
    from knoll.defs.op import OpDefinition


class Runtime(Protocol):
    def invoke(
        self,
        op_def: OpDefinition,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        assets_def: AssetsDefinition | None = None,
    ) -> Any:
        """Call an op's or asset's function directly with plain values."""

    def execute_job(self, job: JobDefinition, options: Mapping[str, Any]) -> Any:
        """Execute a job in this process and return its result."""


_runtime: Runtime | None = None
_loader: Callable[[], None] | None = None


def install_runtime(implementation: Runtime) -> None:
    global _runtime
    _runtime = implementation


def install_runtime_loader(loader: Callable[[], None]) -> None:
    """Register what imports the execution layer (which then calls :func:`install_runtime`)."""
    global _loader
    _loader = loader


def runtime() -> Runtime:
    if _runtime is None and _loader is not None:
        _loader()
    if _runtime is None:
        raise InvalidInvocationError(
            "knoll's execution layer is not loaded: import knoll.execution first."
        )
    return _runtime
