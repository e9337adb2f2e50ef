"""Reading a user's compute function: which parameters are the context, config, resources, inputs.

An asset's parameters are its upstream assets; a parameter annotated with a ``Config`` class is
its config; one annotated with a resource class (or ``ResourceParam[T]``) is a resource; a first
parameter named ``context`` is the execution context.
"""

from __future__ import annotations

import collections.abc
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from knoll._utils import source_location
from knoll.errors import DefinitionError

T = TypeVar("T")

_RESOURCE_MARKER = "knoll/resource_param"

ResourceParam = Annotated[T, _RESOURCE_MARKER]
"""Mark a parameter of a plain class as a resource: ``db: ResourceParam[Conn]``."""

CONTEXT_NAMES = frozenset({"context", "_context", "_"})
_EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any  # the resolved type hint, or inspect.Parameter.empty
    has_default: bool
    default: Any


@dataclass(frozen=True)
class ComputeSignature:
    """The parameters of a compute function, sorted by role."""

    context_param: str | None
    config_param: Param | None
    resource_params: tuple[Param, ...]
    input_params: tuple[Param, ...]
    return_annotation: Any
    is_async: bool
    is_generator: bool
    accepts_kwargs: bool

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.input_params)


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        # Forward references that cannot be resolved (a name imported under TYPE_CHECKING):
        # fall back to what is resolvable parameter by parameter.
        raw = getattr(fn, "__annotations__", {})
        out: dict[str, Any] = {}
        module = sys.modules.get(getattr(fn, "__module__", ""), None)
        namespace = vars(module) if module else {}
        for name, value in raw.items():
            if isinstance(value, str):
                try:
                    out[name] = eval(value, namespace)
                except Exception:
                    continue
            else:
                out[name] = value
        return out


def is_config_class(annotation: Any) -> bool:
    """True for a ``Config`` subclass. Without pydantic imported, nothing can be one."""
    config_mod = sys.modules.get("knoll.definitions.config")
    if config_mod is None or not isinstance(annotation, type):
        return False
    base = getattr(config_mod, "Config", None)
    return base is not None and issubclass(annotation, base) and annotation is not base


def is_resource_annotation(annotation: Any) -> bool:
    """True for a resource class, an IO manager class or ``ResourceParam[T]``."""
    if typing.get_origin(annotation) is Annotated:
        return _RESOURCE_MARKER in getattr(annotation, "__metadata__", ())
    if not isinstance(annotation, type):
        return False
    resource_mod = sys.modules.get("knoll.definitions.resource")
    if resource_mod is not None:
        base = getattr(resource_mod, "ConfigurableResource", None)
        if base is not None and issubclass(annotation, base):
            return True
    io_mod = sys.modules.get("knoll.definitions.io_manager")
    if io_mod is not None:
        base = getattr(io_mod, "IOManager", None)
        if base is not None and issubclass(annotation, base):
            return True
    return False


def _is_context_annotation(annotation: Any) -> bool:
    return isinstance(annotation, type) and getattr(annotation, "__knoll_context__", False)


def read_signature(fn: Callable[..., Any], owner: str) -> ComputeSignature:
    """Sort ``fn``'s parameters into context, config, resources and inputs."""
    if not callable(fn):
        raise DefinitionError(f"{owner} must decorate a function, got {type(fn).__name__}.")
    sig = inspect.signature(fn)
    hints = _type_hints(fn)
    context_param: str | None = None
    config_param: Param | None = None
    resources: list[Param] = []
    inputs: list[Param] = []
    accepts_kwargs = False
    for index, parameter in enumerate(sig.parameters.values()):
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            accepts_kwargs = True
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            raise DefinitionError(
                f"{owner} ({source_location(fn)}) takes *{parameter.name}: knoll passes inputs "
                "by name, so give each input its own parameter."
            )
        annotation = hints.get(parameter.name, _EMPTY)
        param = Param(
            parameter.name,
            annotation,
            parameter.default is not _EMPTY,
            None if parameter.default is _EMPTY else parameter.default,
        )
        if index == 0 and (parameter.name in CONTEXT_NAMES or _is_context_annotation(annotation)):
            context_param = parameter.name
        elif _is_context_annotation(annotation) or parameter.name == "context":
            # Taken as an input, a late "context" would silently become an upstream asset.
            raise DefinitionError(
                f"{owner} ({source_location(fn)}): the context parameter {parameter.name!r} must "
                "come first."
            )
        elif is_config_class(annotation) or (
            parameter.name == "config" and annotation is not _EMPTY and is_config_class(annotation)
        ):
            if config_param is not None:
                raise DefinitionError(
                    f"{owner} ({source_location(fn)}) has two Config parameters "
                    f"({config_param.name!r} and {parameter.name!r}); merge them into one class."
                )
            config_param = param
        elif is_resource_annotation(annotation):
            resources.append(param)
        else:
            inputs.append(param)
    return_annotation = hints.get("return", _EMPTY)
    return ComputeSignature(
        context_param=context_param,
        config_param=config_param,
        resource_params=tuple(resources),
        input_params=tuple(inputs),
        return_annotation=return_annotation,
        is_async=inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn),
        is_generator=inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn),
        accepts_kwargs=accepts_kwargs,
    )


def unwrap_annotation(annotation: Any) -> Any:
    """``Annotated[T, ...]`` → ``T``; ``Output[T]`` → ``T``."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return unwrap_annotation(typing.get_args(annotation)[0])
    if origin is not None and getattr(origin, "__name__", "") == "Output":
        args = typing.get_args(annotation)
        return args[0] if args else _EMPTY
    if annotation is not _EMPTY and getattr(annotation, "__name__", "") == "Output":
        return _EMPTY  # a bare Output: any value
    return annotation


_GENERATOR_ORIGINS = frozenset(
    {
        collections.abc.Iterator,
        collections.abc.Iterable,
        collections.abc.Generator,
        collections.abc.AsyncIterator,
        collections.abc.AsyncIterable,
        collections.abc.AsyncGenerator,
    }
)


def output_annotation(return_annotation: Any, is_generator: bool) -> Any:
    """The type of a function's single output, from its return annotation.

    For a generator (``-> Iterator[Output[int]]``) the yielded type is used; a generator that
    may yield several kinds of events has no single output type (``Any``).
    """
    if not is_generator:
        return unwrap_annotation(return_annotation)
    if typing.get_origin(return_annotation) in _GENERATOR_ORIGINS:
        args = typing.get_args(return_annotation)
        if args:
            yielded = unwrap_annotation(args[0])
            origin = typing.get_origin(args[0])
            if origin is not None and getattr(origin, "__name__", "") == "Output":
                return yielded
    return _EMPTY
