"""The seam between declarations and execution.

Declarations offer ``my_op(...)`` (direct invocation) and ``job.execute_in_process(...)``,
but running anything is the execution layer's job, and a lower layer never imports a higher
one. The execution layer registers its implementation here when it is imported (which
``import knoll`` always does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from knoll.errors import InvalidInvocationError

if TYPE_CHECKING:
    from knoll.definitions.asset import AssetsDefinition
    from knoll.definitions.job import JobDefinition
    from knoll.definitions.op import OpDefinition


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


def install_runtime(implementation: Runtime) -> None:
    global _runtime
    _runtime = implementation


def runtime() -> Runtime:
    if _runtime is None:
        raise InvalidInvocationError(
            "knoll's execution layer is not loaded: import knoll (or knoll.execution) first."
        )
    return _runtime
