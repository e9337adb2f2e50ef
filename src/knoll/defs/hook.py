"""Hooks: functions that run after a step succeeds (``@success_hook``) or fails (``@failure_hook``).

A hook is attached to a job (``@job(hooks={...})``, ``graph.to_job(hooks=...)``,
``define_asset_job(hooks=...)``) or to one op (``my_op.with_hooks({...})``). It runs in the
step's own process once the step has finished, with a ``HookContext``; an error it raises is
recorded as a ``HOOK_ERRORED`` event and never fails the step or the run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal, overload

from knoll._utils import check_name, check_node_name
from knoll.errors import DefinitionError

HookTrigger = Literal["success", "failure"]


@dataclass(frozen=True, eq=False)
class HookDefinition:
    """A hook: ``hook_fn(context)`` runs after a step ends with the outcome ``trigger`` names.

    ``@success_hook`` and ``@failure_hook`` build one; call it with a ``HookContext``
    (``build_hook_context(...)``) to test it directly.
    """

    name: str
    hook_fn: Callable[[Any], Any]
    trigger: HookTrigger
    required_resource_keys: frozenset[str] = frozenset()
    description: str | None = None

    def describe(self) -> str:
        return f"{self.trigger} hook {self.name!r}"

    def should_run(self, succeeded: bool) -> bool:
        return succeeded if self.trigger == "success" else not succeeded

    def __call__(self, context: Any) -> Any:
        return self.hook_fn(context)


HookFunction = Callable[[Any], Any]


def _make(
    fn: HookFunction, name: str | None, keys: Collection[str] | None, trigger: HookTrigger
) -> HookDefinition:
    decorator = f"@{trigger}_hook"
    if not callable(fn):
        raise DefinitionError(
            f"{decorator} decorates a function taking a HookContext, got "
            f"{type(fn).__name__} {fn!r}."
        )
    hook_name = check_node_name(name or fn.__name__, f"{trigger} hook")
    owner = f"{trigger} hook {hook_name!r}"
    if inspect.iscoroutinefunction(fn):
        raise DefinitionError(f"{owner} is async: hooks must be plain functions.")
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) != 1:
        raise DefinitionError(
            f"{owner}: its function takes {len(params)} required parameters; a hook function "
            f"takes exactly one, the HookContext: def {fn.__name__}(context): ..."
        )
    return HookDefinition(
        name=hook_name,
        hook_fn=fn,
        trigger=trigger,
        required_resource_keys=_required_keys(keys, owner),
        description=inspect.getdoc(fn),
    )


def _required_keys(keys: Collection[str] | None, owner: str) -> frozenset[str]:
    if keys is None:
        return frozenset()
    if isinstance(keys, str) or not isinstance(keys, Collection):
        raise DefinitionError(
            f"required_resource_keys of {owner} must be a set of resource keys, got {keys!r}: "
            f"write required_resource_keys={{{keys!r}}}."
        )
    return frozenset(check_name(k, f"resource key required by {owner}") for k in keys)


@overload
def success_hook(name: HookFunction, /) -> HookDefinition: ...


@overload
def success_hook(
    name: str | None = None, required_resource_keys: Collection[str] | None = None
) -> Callable[[HookFunction], HookDefinition]: ...


def success_hook(
    name: str | HookFunction | None = None,
    required_resource_keys: Collection[str] | None = None,
) -> HookDefinition | Callable[[HookFunction], HookDefinition]:
    """Declare a hook that runs after a step succeeds."""
    if callable(name):
        return _make(name, None, None, "success")
    return lambda fn: _make(fn, name, required_resource_keys, "success")


@overload
def failure_hook(name: HookFunction, /) -> HookDefinition: ...


@overload
def failure_hook(
    name: str | None = None, required_resource_keys: Collection[str] | None = None
) -> Callable[[HookFunction], HookDefinition]: ...


def failure_hook(
    name: str | HookFunction | None = None,
    required_resource_keys: Collection[str] | None = None,
) -> HookDefinition | Callable[[HookFunction], HookDefinition]:
    """Declare a hook that runs after a step fails (after its last retry)."""
    if callable(name):
        return _make(name, None, None, "failure")
    return lambda fn: _make(fn, name, required_resource_keys, "failure")


def check_hooks(hooks: Iterable[object] | None, owner: str) -> frozenset[HookDefinition]:
    """``hooks=`` as a set of hook definitions, or a clear error naming ``owner``."""
    if hooks is None:
        return frozenset()
    if isinstance(hooks, (HookDefinition, str)) or not isinstance(hooks, Iterable):
        raise DefinitionError(
            f"hooks of {owner} must be a set of hooks, got {hooks!r}: write hooks={{my_hook}}."
        )
    found = frozenset(hooks)
    for hook in found:
        if not isinstance(hook, HookDefinition):
            raise DefinitionError(
                f"hooks of {owner}: {hook!r} is a {type(hook).__name__}, not a hook. Decorate "
                "the function with @success_hook or @failure_hook."
            )
    return found  # type: ignore[return-value]
