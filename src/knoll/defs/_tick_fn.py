"""Calling a schedule's or sensor's evaluation function and reading what it returned.

Shared by :mod:`knoll.defs.schedule` and :mod:`knoll.defs.sensor`: the first
parameter (named ``context``, ``_context`` or ``_``, or annotated with a context class) gets
the evaluation context; every other parameter is a resource, looked up by its name.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from knoll._utils import did_you_mean, source_location
from knoll.defs.keys import AssetKey
from knoll.defs.run_request import RunRequest, SkipReason
from knoll.errors import DefinitionError, InvalidInvocationError, UserCodeError

CONTEXT_NAMES = frozenset({"context", "_context", "_"})
_CONTEXT_CLASS_NAMES = frozenset({"ScheduleEvaluationContext", "SensorEvaluationContext"})


class ResourcesView:
    """The resources a tick function can use, by attribute: ``context.resources.warehouse``."""

    __slots__ = ("_resources",)

    def __init__(self, resources: Mapping[str, Any] | None = None) -> None:
        if resources is not None and not isinstance(resources, Mapping):
            raise InvalidInvocationError(
                f"resources must be a dict of resource name to resource, got "
                f"{type(resources).__name__}; for example resources={{'warehouse': Warehouse()}}."
            )
        for key in resources or {}:
            if not isinstance(key, str):
                raise InvalidInvocationError(
                    f"resource names must be strings, got {type(key).__name__} {key!r}."
                )
        self._resources: dict[str, Any] = dict(resources or {})

    def __getattr__(self, name: str) -> Any:
        resources: dict[str, Any] = object.__getattribute__(self, "_resources")
        try:
            return resources[name]
        except KeyError:
            available = ", ".join(sorted(resources)) or "none"
            hint = did_you_mean(name, resources)
            raise AttributeError(
                f"no resource named {name!r} (available: {available}).{hint}"
                " Give it in build_schedule_context/build_sensor_context(resources=...) or in "
                "Definitions(resources=...)."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._resources

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._resources))

    def as_dict(self) -> dict[str, Any]:
        return dict(self._resources)

    def __repr__(self) -> str:
        return f"ResourcesView({', '.join(sorted(self._resources))})"


def _is_context_annotation(annotation: Any) -> bool:
    if isinstance(annotation, str):  # postponed annotations: compare the class name
        return annotation.rpartition(".")[2] in _CONTEXT_CLASS_NAMES
    return isinstance(annotation, type) and bool(getattr(annotation, "__knoll_context__", False))


@dataclass(frozen=True)
class TickFunction:
    """A user's evaluation function with its parameters sorted into context and resources."""

    fn: Callable[..., Any]
    kind: str  # "schedule" or "sensor", for messages
    name: str
    context_param: str | None
    resource_params: tuple[str, ...]
    optional_resources: frozenset[str]

    @staticmethod
    def read(fn: Callable[..., Any], kind: str, name: str) -> TickFunction:
        if not callable(fn):
            raise DefinitionError(
                f"{kind} {name!r} needs a function to evaluate, got {type(fn).__name__} {fn!r}."
            )
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            raise DefinitionError(
                f"{kind} {name!r} ({source_location(fn)}) is an async function: {kind} "
                "functions run synchronously, so define it with plain 'def'."
            )
        context_param: str | None = None
        resources: list[str] = []
        optional: set[str] = set()
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for index, param in enumerate(inspect.signature(fn).parameters.values()):
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                continue
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                raise DefinitionError(
                    f"{kind} {name!r} ({source_location(fn)}) takes *{param.name}: give the "
                    "context and each resource a parameter of its own."
                )
            if (
                index == 0
                and param.kind in positional
                and (param.name in CONTEXT_NAMES or _is_context_annotation(param.annotation))
            ):
                context_param = param.name
                continue
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise DefinitionError(
                    f"{kind} {name!r} ({source_location(fn)}): parameter {param.name!r} is "
                    "positional-only, but resources are passed by name; remove the '/'."
                )
            resources.append(param.name)
            if param.default is not inspect.Parameter.empty:
                optional.add(param.name)
        return TickFunction(fn, kind, name, context_param, tuple(resources), frozenset(optional))

    @property
    def required_resource_keys(self) -> frozenset[str]:
        return frozenset(self.resource_params) - self.optional_resources

    def _arguments(self, context: Any, overrides: Mapping[str, Any]) -> dict[str, Any]:
        resources: ResourcesView = context.resources
        kwargs: dict[str, Any] = {}
        for param in self.resource_params:
            if param in overrides:
                kwargs[param] = overrides[param]
            elif param in resources:
                kwargs[param] = getattr(resources, param)
            elif param not in self.optional_resources:
                available = ", ".join(resources.names()) or "none"
                raise InvalidInvocationError(
                    f"{self.kind} {self.name!r} needs resource {param!r}, but its context has "
                    f"no such resource (available: {available})."
                    f"{did_you_mean(param, resources.names())} Give it in "
                    f"build_{self.kind}_context(resources={{{param!r}: ...}}) or in "
                    "Definitions(resources=...)."
                )
        return kwargs

    def _call(self, context: Any, kwargs: dict[str, Any]) -> Any:
        if self.context_param is not None:
            return self.fn(context, **kwargs)
        return self.fn(**kwargs)

    def evaluate(self, context: Any) -> Any:
        """Call the function for a tick; consume a generator; wrap whatever the user raised."""
        kwargs = self._arguments(context, {})
        try:
            result = self._call(context, kwargs)
            if isinstance(result, Iterator):
                result = list(result)
        except Exception as exc:
            raise UserCodeError(
                f"error in {self.kind} {self.name!r} evaluation function: "
                f"{type(exc).__name__}: {exc}",
                exc,
            ) from exc
        return result

    def invoke(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        context_type: type[Any],
        default_context: Callable[[], Any],
    ) -> Any:
        """A direct call, ``my_schedule(context, db=...)``: the function's own return value."""
        call = f"{self.name}(build_{self.kind}_context())"
        if len(args) > 1:
            raise InvalidInvocationError(
                f"{self.kind} {self.name!r} was called with {len(args)} positional arguments; it "
                f"takes only the context positionally, and resources by name: {call}."
            )
        context = args[0] if args else None
        context_names = {"context", *([self.context_param] if self.context_param else [])}
        for key in sorted(context_names & kwargs.keys() - set(self.resource_params)):
            if context is not None:
                raise InvalidInvocationError(
                    f"{self.kind} {self.name!r} got its context twice; pass it once: {call}."
                )
            context = kwargs.pop(key)
        if context is not None and not isinstance(context, context_type):
            raise InvalidInvocationError(
                f"{self.kind} {self.name!r} was called with a {type(context).__name__} where its "
                f"{context_type.__name__} goes; build one with build_{self.kind}_context(): {call}."
            )
        if context is None and self.context_param is not None:
            raise InvalidInvocationError(
                f"{self.kind} {self.name!r} takes a context argument ({self.context_param!r}) "
                f"but was called without one; call it as {call}."
            )
        unknown = sorted(kwargs.keys() - set(self.resource_params))
        if unknown:
            params = ", ".join(self.resource_params) or "none"
            raise InvalidInvocationError(
                f"{self.kind} {self.name!r} got unexpected argument {unknown[0]!r} (its resource "
                f"parameters: {params}).{did_you_mean(unknown[0], self.resource_params)}"
            )
        if context is None:
            context = default_context()
        return self._call(context, self._arguments(context, kwargs))


def split_outputs(
    items: Sequence[object], kind: str, name: str, allowed: str
) -> tuple[list[RunRequest], SkipReason | None]:
    """Sort a list a tick function returned or yielded into run requests and one skip reason."""
    requests: list[RunRequest] = []
    skips: list[SkipReason] = []
    for item in items:
        if isinstance(item, RunRequest):
            requests.append(item)
        elif isinstance(item, SkipReason):
            skips.append(item)
        else:
            raise wrong_output(item, kind, name, allowed, "a list holding ")
    if skips and requests:
        raise DefinitionError(
            f"{kind} {name!r} evaluation function returned both RunRequests and a SkipReason: "
            "a tick either requests runs or says why it skipped, so return one or the other."
        )
    if len(skips) > 1:
        raise DefinitionError(
            f"{kind} {name!r} evaluation function returned {len(skips)} SkipReasons; return "
            "at most one."
        )
    return requests, (skips[0] if skips else None)


def wrong_output(value: object, kind: str, name: str, allowed: str, where: str = "") -> Exception:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return DefinitionError(
        f"{kind} {name!r} evaluation function returned {where}a {type(value).__name__} "
        f"({shown}): return {allowed}."
    )


def finish_requests(
    requests: Sequence[RunRequest],
    *,
    kind: str,
    name: str,
    tags: Mapping[str, str],
    job_names: Sequence[str],
) -> tuple[RunRequest, ...]:
    """Fill in each request's job name and merge tags: the owner's, the request's, the system's."""
    finished: list[RunRequest] = []
    for request in requests:
        job_name = request.job_name
        if not job_names:
            raise DefinitionError(
                f"{kind} {name!r} returned a RunRequest but targets no job: give the {kind} "
                "job=, jobs= or target= so that knoll knows what to run."
            )
        if job_name is None:
            if len(job_names) > 1:
                raise DefinitionError(
                    f"{kind} {name!r} targets several jobs ({', '.join(job_names)}): set "
                    "job_name= on each RunRequest it returns to say which one to run."
                )
            job_name = job_names[0]
        elif job_name not in job_names:
            raise DefinitionError(
                f"{kind} {name!r} returned a RunRequest for job {job_name!r}, which it does not "
                f"target (it targets {', '.join(job_names)}).{did_you_mean(job_name, job_names)}"
            )
        merged = {**tags, **request.tags, f"knoll/{kind}_name": name}
        finished.append(dataclasses.replace(request, job_name=job_name, tags=merged))
    return tuple(finished)


def is_job_like(value: object) -> bool:
    """A job definition or an unresolved asset job: anything with a string ``name`` that is
    not an asset (assets have ``key``/``keys``) or a selection string or list."""
    return (
        isinstance(getattr(value, "name", None), str)
        and not isinstance(value, (str, Sequence))
        and not hasattr(value, "key")
        and not hasattr(value, "keys")
    )


def check_asset_target(target: object, owner: str) -> None:
    """Reject asset targets that cannot name assets; the Definitions resolve the rest."""
    if target is None or isinstance(target, str) or not isinstance(target, Sequence):
        return
    if not target:
        raise DefinitionError(f"target of {owner} is an empty list: name at least one asset.")
    for item in target:
        if isinstance(item, (str, AssetKey)) or hasattr(item, "key") or hasattr(item, "keys"):
            continue
        if isinstance(item, Sequence) and all(isinstance(part, str) for part in item):
            continue
        raise DefinitionError(
            f"target of {owner} holds a {type(item).__name__} ({item!r}): a target list holds "
            "assets, AssetKeys or asset key strings such as 'raw/orders'."
        )


def describe_target(target: object) -> str | None:
    """A short text for snapshots and the UI: ``orders, raw/customers`` or the selection."""
    if target is None:
        return None
    if isinstance(target, str):
        return target
    if isinstance(target, Sequence):
        return ", ".join(_describe_item(item) for item in target)
    return _describe_item(target)


def _describe_item(item: object) -> str:
    if isinstance(item, AssetKey):
        return item.to_user_string()
    if isinstance(item, str):
        return item
    key = getattr(item, "key", None)
    if isinstance(key, AssetKey):
        return key.to_user_string()
    keys = getattr(item, "keys", None)
    if isinstance(keys, (Sequence, frozenset, set)) and not callable(keys):
        return ", ".join(sorted(_describe_item(k) for k in keys))
    if isinstance(item, Sequence):
        return "/".join(str(part) for part in item)
    return str(item)
