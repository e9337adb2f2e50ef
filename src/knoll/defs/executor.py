"""Executors: how a run's steps execute. Declared here, implemented by the execution layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knoll._serdes import RAW, serializable
from knoll._utils import did_you_mean
from knoll.errors import DefinitionError

# The config each executor accepts, by executor name (checked when it is configured or run).
EXECUTOR_CONFIG_KEYS: Mapping[str, frozenset[str]] = {
    "in_process": frozenset(),
    "multiprocess": frozenset({"max_concurrent", "start_method"}),
}
START_METHODS = ("fork", "forkserver", "spawn")


@serializable()
@dataclass(frozen=True)
class ExecutorDefinition:
    """Names an executor and its config, for ``Definitions(executor=...)`` or ``@job``.

    Calling it with keyword arguments returns a configured copy:
    ``multiprocess_executor(max_concurrent=4)``.
    """

    name: str
    config: Mapping[str, Any] = field(default_factory=dict, metadata=RAW)
    description: str | None = None

    def configured(self, config: Mapping[str, Any]) -> ExecutorDefinition:
        merged = {**self.config, **config}
        check_executor_config(self.name, merged, f"executor {self.name!r}")
        return ExecutorDefinition(self.name, merged, self.description)

    def __call__(self, **config: Any) -> ExecutorDefinition:
        return self.configured(config)


def check_executor_config(name: str, config: Any, where: str) -> None:
    """Raise ``DefinitionError`` unless ``config`` is valid config for executor ``name``."""
    known = EXECUTOR_CONFIG_KEYS.get(name)
    if known is None:
        raise DefinitionError(
            f"{where}: knoll has no executor named {name!r}."
            f"{did_you_mean(name, EXECUTOR_CONFIG_KEYS)} "
            f"Use one of: {', '.join(EXECUTOR_CONFIG_KEYS)}."
        )
    if not isinstance(config, Mapping):
        raise DefinitionError(
            f"{where}: the config of executor {name!r} must be a dict, got {type(config).__name__}."
        )
    for key in config:
        if key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise DefinitionError(
                f"{where}: executor {name!r} has no config key {key!r}."
                f"{did_you_mean(str(key), known)} Its keys: {allowed}."
            )
    value = config.get("max_concurrent")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise DefinitionError(
            f"{where}: max_concurrent must be a whole number >= 1 (or 0 for one worker per CPU), "
            f"got {value!r}."
        )
    method = config.get("start_method")
    if method is not None and method not in START_METHODS:
        raise DefinitionError(
            f"{where}: start_method must be one of {', '.join(START_METHODS)}, got {method!r}."
        )


in_process_executor = ExecutorDefinition(
    "in_process", description="Runs every step one after another in the run's own process."
)

multiprocess_executor = ExecutorDefinition(
    "multiprocess",
    description="Runs steps in parallel in a pool of warm worker processes, forked once per run "
    "after the code is loaded (max_concurrent workers; default: one per CPU).",
)
