"""Executors: how a run's steps execute. Declared here, implemented by the execution layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knoll._serdes import RAW, serializable


@serializable()
@dataclass(frozen=True)
class ExecutorDefinition:
    """Names an executor and its config, for ``Definitions(executor=...)`` or ``@job``."""

    name: str
    config: Mapping[str, Any] = field(default_factory=dict, metadata=RAW)
    description: str | None = None

    def configured(self, config: Mapping[str, Any]) -> ExecutorDefinition:
        return ExecutorDefinition(self.name, {**self.config, **config}, self.description)


in_process_executor = ExecutorDefinition(
    "in_process", description="Runs every step one after another in the run's own process."
)
