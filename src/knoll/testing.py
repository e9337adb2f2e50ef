"""Testing helpers: run assets and ops in this process, build contexts, keep outputs in memory."""

from knoll.execution.direct import build_asset_context, build_op_context
from knoll.execution.materialize import materialize, materialize_to_memory

__all__ = ["build_asset_context", "build_op_context", "materialize", "materialize_to_memory"]
