"""The Dagster door: ``import knoll.compat.dagster as dg`` in place of ``import dagster as dg``.

Every public name of knoll is here, loaded on first use as ``knoll`` itself loads it, and so
are the names Dagster spells with its brand, each bound to the knoll object with the same
meaning (``DagsterInstance`` is ``knoll.Instance``, ``DagsterInvalidConfigError`` is
``knoll.InvalidConfigError``, ...). A name that knoll does not offer raises an
``AttributeError`` naming it and pointing to docs/porting.md, which lists what differs.

Knoll's own API keeps its own names: the brand names live only in this module.
"""

from typing import TYPE_CHECKING, Any

import knoll

if TYPE_CHECKING:
    from knoll import *  # noqa: F403

    # what a type checker sees; at run time __getattr__ gives the same objects
    DagsterError = KnollError  # noqa: F405
    DagsterEventType = EventType  # noqa: F405
    DagsterExecutionStepExecutionError = UserCodeError  # noqa: F405
    DagsterInstance = Instance  # noqa: F405
    DagsterInvalidConfigError = InvalidConfigError  # noqa: F405
    DagsterInvalidDefinitionError = DefinitionError  # noqa: F405
    DagsterInvalidInvocationError = InvalidInvocationError  # noqa: F405
    DagsterInvalidSubsetError = SelectionError  # noqa: F405
    DagsterRun = Run  # noqa: F405
    DagsterRunStatus = RunStatus  # noqa: F405
    DagsterTypeCheckDidNotPass = TypeCheckError  # noqa: F405
    DagsterUnknownPartitionError = PartitionKeyError  # noqa: F405
    DagsterUserCodeExecutionError = UserCodeError  # noqa: F405
    get_dagster_logger = get_knoll_logger  # noqa: F405

# Dagster's brand-named public names, each mapped to the knoll name with the same meaning.
BRAND_NAMES: dict[str, str] = {
    "DagsterError": "KnollError",
    "DagsterEventType": "EventType",
    "DagsterExecutionStepExecutionError": "UserCodeError",
    "DagsterInstance": "Instance",
    "DagsterInvalidConfigError": "InvalidConfigError",
    "DagsterInvalidDefinitionError": "DefinitionError",
    "DagsterInvalidInvocationError": "InvalidInvocationError",
    "DagsterInvalidSubsetError": "SelectionError",
    "DagsterRun": "Run",
    "DagsterRunStatus": "RunStatus",
    "DagsterTypeCheckDidNotPass": "TypeCheckError",
    "DagsterUnknownPartitionError": "PartitionKeyError",
    "DagsterUserCodeExecutionError": "UserCodeError",
    "get_dagster_logger": "get_knoll_logger",
}

_PORTING_DOC = "docs/porting.md"
_KNOLL_NAMES = frozenset(knoll.__all__)


def __getattr__(name: str) -> Any:
    target = BRAND_NAMES.get(name, name)
    if target not in _KNOLL_NAMES:
        raise AttributeError(_no_attribute(name))
    value = getattr(knoll, target)
    globals()[name] = value
    return value


def _no_attribute(name: str) -> str:
    message = f"module 'knoll.compat.dagster' has no attribute {name!r}"
    if name.startswith("__"):
        return message  # probed by tools (copy, pickle, inspect): no suggestion to compute
    from knoll._utils import did_you_mean

    hint = did_you_mean(name, sorted(_KNOLL_NAMES | BRAND_NAMES.keys()))
    return (
        f"{message}: knoll does not offer this Dagster name (yet).{hint} {_PORTING_DOC} lists "
        "the names knoll maps and what differs from Dagster."
    )


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = sorted([*knoll.__all__, *BRAND_NAMES])  # noqa: PLE0605
