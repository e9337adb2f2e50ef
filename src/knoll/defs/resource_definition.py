"""Function-style resources, the context they are initialised with, and ``context.resources``.

This module stays free of pydantic so that the execution core can import it cheaply; the
pydantic-based ``ConfigurableResource`` lives in :mod:`knoll.defs.resource`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, Protocol, Self, TypeVar, overload

from knoll._utils import check_name, did_you_mean
from knoll.defs.config_schema import ConfigSchema, normalize_config_schema, validate_config
from knoll.errors import DefinitionError, InvalidInvocationError, UserCodeError

ResourceFunction = Callable[..., Any]
"""A resource function: takes an ``InitResourceContext`` (or nothing), returns or yields a value."""


class LoggerLike(Protocol):
    """What knoll needs from a logger: ``logging.Logger`` and knoll's run logger both fit."""

    def debug(self, msg: str, /) -> None: ...
    def info(self, msg: str, /) -> None: ...
    def warning(self, msg: str, /) -> None: ...
    def error(self, msg: str, /) -> None: ...


DEFAULT_LOGGER: LoggerLike = logging.getLogger("knoll.resources")


class Resources:
    """The initialised resources available to an op, asset or resource: ``context.resources.db``.

    Attribute access, ``get(key)``, ``key in resources`` and iteration over the keys all work.
    Asking for a key that is not available raises ``InvalidInvocationError`` naming the owner.
    """

    __slots__ = ("_hint", "_owner", "_values", "teardown_errors")

    def __init__(
        self,
        values: Mapping[str, object],
        owner: str = "this run",
        *,
        hint: str = "Add it to required_resource_keys or as a parameter.",
    ) -> None:
        self._values = dict(values)
        self._owner = owner
        self._hint = hint
        # Filled by the execution core when a run's resources are torn down.
        self.teardown_errors: list[UserCodeError] = []

    def get(self, key: str) -> Any:
        """The resource under ``key``; raises ``InvalidInvocationError`` when it is missing."""
        try:
            return self._values[key]
        except KeyError:
            available = ", ".join(self._values) or "none"
            raise InvalidInvocationError(
                f"resource {key!r} is not available to {self._owner}. Available: {available}."
                f"{did_you_mean(key, self._values)} {self._hint}"
            ) from None

    def keys(self) -> Sequence[str]:
        """The available resource keys."""
        return tuple(self._values)

    def as_dict(self) -> dict[str, Any]:
        """A new dict of key to resource value."""
        return dict(self._values)

    def for_owner(self, keys: Collection[str], owner: str, *, hint: str | None = None) -> Resources:
        """A view holding only ``keys`` (those that exist), whose errors name ``owner``."""
        return Resources(
            {k: v for k, v in self._values.items() if k in keys},
            owner,
            hint=self._hint if hint is None else hint,
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            # Keeps copy, pickle and debuggers from probing dunder names as resource keys.
            raise AttributeError(name)
        return self.get(name)

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Resources({', '.join(self._values)})"


class InitResourceContext:
    """What a resource receives when it is initialised for a run.

    ``resource_config`` is its validated config, ``resources`` the other resources it declared
    in ``required_resource_keys``, ``log`` the run's logger and ``run_id`` the run's id.
    """

    def __init__(
        self,
        resource_config: Any = None,
        resources: Resources | None = None,
        *,
        log: LoggerLike | None = None,
        run_id: str | None = None,
        resource_def: object | None = None,
        instance: object | None = None,
    ) -> None:
        self.resource_config = resource_config
        self.resources = resources if resources is not None else Resources({}, "this resource")
        self.log: LoggerLike = log if log is not None else DEFAULT_LOGGER
        self.run_id = run_id
        self.resource_def = resource_def
        self.instance = instance

    def __repr__(self) -> str:
        return f"InitResourceContext(run_id={self.run_id!r}, resources={self.resources!r})"


def build_init_resource_context(
    config: Any = None,
    resources: Mapping[str, object] | None = None,
    *,
    run_id: str | None = None,
    log: LoggerLike | None = None,
    instance: object | None = None,
) -> InitResourceContext:
    """An ``InitResourceContext`` for testing a resource directly.

    ``resources`` are used as they are: pass ready values (clients, fakes), not definitions.
    """
    values = dict(resources or {})
    for key, value in values.items():
        if isinstance(value, ResourceDefinition):
            raise InvalidInvocationError(
                f"build_init_resource_context(resources=...): resource {key!r} is a "
                f"{type(value).__name__}; pass the value it makes instead, for example "
                f"{{{key!r}: {value.name}(build_init_resource_context())}}."
            )
    return InitResourceContext(
        resource_config=config,
        resources=Resources(values, "this resource", hint="Pass it in resources=..."),
        log=log,
        run_id=run_id,
        instance=instance,
    )


def _count_required_params(fn: Callable[..., Any]) -> tuple[int, int]:
    """(positional parameters without defaults, all positional parameters)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return (1, 1)
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    has_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    return (len(required), 1 if has_varargs else len(positional))


def _check_required_keys(keys: object, owner: str) -> frozenset[str]:
    if keys is None:
        return frozenset()
    if isinstance(keys, str) or not isinstance(keys, Collection):
        raise DefinitionError(
            f"required_resource_keys of {owner} must be a set of resource keys, got {keys!r}: "
            f"write required_resource_keys={{{keys!r}}}."
        )
    return frozenset(check_name(k, f"resource key required by {owner}") for k in keys)


class ResourceDefinition:
    """A resource made by a function: ``@resource`` builds one.

    The function takes an ``InitResourceContext`` (or nothing) and returns the resource, or
    yields it once: code after the ``yield`` runs when the run ends, even when the run failed.
    """

    def __init__(
        self,
        resource_fn: ResourceFunction,
        config_schema: object | None = None,
        description: str | None = None,
        required_resource_keys: Collection[str] | None = None,
        version: str | None = None,
    ) -> None:
        if not callable(resource_fn):
            raise DefinitionError(
                f"{type(self).__name__}(resource_fn=...) must be a function taking an "
                f"InitResourceContext, got {type(resource_fn).__name__} {resource_fn!r}."
            )
        name = getattr(resource_fn, "__name__", type(resource_fn).__name__)
        owner = f"resource function {name!r}"
        if inspect.iscoroutinefunction(resource_fn) or inspect.isasyncgenfunction(resource_fn):
            raise DefinitionError(
                f"{owner} is async: resource functions must be plain functions or generators. "
                "Create the async client inside it and return it instead."
            )
        required, total = _count_required_params(resource_fn)
        if required > 1:
            raise DefinitionError(
                f"{owner} takes {required} required parameters: a resource function takes one "
                "InitResourceContext parameter (or none)."
            )
        self.resource_fn = resource_fn
        self.name: str = name
        self.takes_context = total >= 1
        self.is_generator = inspect.isgeneratorfunction(resource_fn)
        self.config_schema: ConfigSchema | None = normalize_config_schema(config_schema, owner)
        self.description = description if description is not None else _doc(resource_fn)
        self.required_resource_keys = _check_required_keys(required_resource_keys, owner)
        self.version = version

    @classmethod
    def hardcoded_resource(cls, value: object, description: str | None = None) -> Self:
        """A resource that is always ``value``."""

        def hardcoded() -> object:
            return value

        return cls(hardcoded, description=description)

    @classmethod
    def none_resource(cls, description: str | None = None) -> Self:
        """A resource whose value is ``None``: a placeholder for a key nothing really uses."""
        return cls.hardcoded_resource(None, description)

    def configured(self, config: Any, description: str | None = None) -> Self:
        """A copy of this definition whose config is fixed to ``config`` (checked now)."""
        subject = f"resource {self.name!r}"
        if self.config_schema is None:
            raise DefinitionError(
                f"{self.name}.configured(...): {subject} declares no config_schema, so there is "
                "nothing to configure. Remove the .configured(...) call."
            )
        fixed = validate_config(self.config_schema, config, subject=subject)
        original = self

        def with_config(context: InitResourceContext) -> InitResourceContext:
            return InitResourceContext(
                fixed,
                context.resources,
                log=context.log,
                run_id=context.run_id,
                resource_def=original,
                instance=context.instance,
            )

        def call(context: InitResourceContext) -> Any:
            fn = original.resource_fn
            return fn(with_config(context)) if original.takes_context else fn()

        def call_generator(context: InitResourceContext) -> Any:
            return (yield from call(context))

        chosen = call_generator if self.is_generator else call
        chosen.__name__ = self.name
        return type(self)(
            chosen,
            description=description if description is not None else self.description,
            required_resource_keys=self.required_resource_keys,
            version=self.version,
        )

    def __call__(self, context: InitResourceContext | None = None) -> Any:
        """Make the resource directly, for tests: ``my_resource(build_init_resource_context())``."""
        if self.is_generator:
            raise InvalidInvocationError(
                f"resource {self.name!r} is a generator function, so calling it cannot run its "
                "teardown: use it in a run (materialize) or drive "
                f"{self.name}.resource_fn(context) yourself."
            )
        ctx = context if context is not None else build_init_resource_context()
        if self.config_schema is not None:
            config = validate_config(
                self.config_schema, ctx.resource_config, subject=f"resource {self.name!r}"
            )
            ctx = InitResourceContext(
                config,
                ctx.resources,
                log=ctx.log,
                run_id=ctx.run_id,
                resource_def=self,
                instance=ctx.instance,
            )
        return self.resource_fn(ctx) if self.takes_context else self.resource_fn()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _doc(fn: Callable[..., Any]) -> str | None:
    doc = getattr(fn, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


@overload
def resource(  # type: ignore[overload-overlap]
    config_schema: ResourceFunction,
) -> ResourceDefinition: ...


@overload
def resource(
    config_schema: object | None = None,
    *,
    description: str | None = None,
    required_resource_keys: Collection[str] | None = None,
    version: str | None = None,
) -> Callable[[ResourceFunction], ResourceDefinition]: ...


def resource(
    config_schema: object | None = None,
    *,
    description: str | None = None,
    required_resource_keys: Collection[str] | None = None,
    version: str | None = None,
) -> ResourceDefinition | Callable[[ResourceFunction], ResourceDefinition]:
    """Declare a function-style resource: ``@resource`` or ``@resource(config_schema=...)``."""
    return make_resource_decorator(
        ResourceDefinition, config_schema, description, required_resource_keys, version
    )


def _is_plain_function(value: object) -> bool:
    return inspect.isfunction(value) or inspect.ismethod(value)


D = TypeVar("D", bound=ResourceDefinition)


def make_resource_decorator(
    cls: type[D],
    config_schema: object | None,
    description: str | None,
    required_resource_keys: Collection[str] | None,
    version: str | None,
) -> D | Callable[[ResourceFunction], D]:
    if _is_plain_function(config_schema):
        fn: ResourceFunction = config_schema  # type: ignore[assignment]
        return cls(
            fn,
            description=description,
            required_resource_keys=required_resource_keys,
            version=version,
        )

    def decorator(fn: ResourceFunction) -> D:
        return cls(
            fn,
            config_schema=config_schema,
            description=description,
            required_resource_keys=required_resource_keys,
            version=version,
        )

    return decorator
