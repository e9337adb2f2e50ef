"""Reading a user's compute function: which parameters are the context, config, resources, inputs.

An asset's parameters are its upstream assets; a parameter annotated with a ``Config`` class is
its config; one annotated with a resource class (or ``ResourceParam[T]``) is a resource; a first
parameter named ``context`` is the execution context.
"""

from __future__ import annotations

import collections.abc
import inspect
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple, TypeVar

from knoll._utils import source_location
from knoll.errors import DefinitionError

T = TypeVar("T")

_RESOURCE_MARKER = "knoll/resource_param"

ResourceParam = Annotated[T, _RESOURCE_MARKER]
"""Mark a parameter of a plain class as a resource: ``db: ResourceParam[Conn]``."""

CONTEXT_NAMES = frozenset({"context", "_context", "_"})
_EMPTY = inspect.Parameter.empty
_NONE_TYPE = type(None)


class Param(NamedTuple):
    """One parameter of a compute function (a tuple: ``@asset`` builds one per parameter)."""

    name: str
    annotation: Any  # the resolved type hint, or inspect.Parameter.empty
    has_default: bool
    default: Any


@dataclass(frozen=True)
class ComputeSignature:
    """The parameters of a compute function that execution fills in, sorted by role.

    The input parameters are not kept here: they become the op's ``input_defs``.
    """

    context_param: str | None
    config_param: Param | None
    resource_params: tuple[Param, ...]
    return_annotation: Any
    is_async: bool
    is_generator: bool
    accepts_kwargs: bool


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    raw = getattr(fn, "__annotations__", None)
    if isinstance(raw, dict) and isinstance(fn, types.FunctionType):
        # The common case, cheaply: plain classes, or strings naming module-level classes.
        try:
            return {
                name: _NONE_TYPE
                if value is None
                else (eval(value, fn.__globals__) if isinstance(value, str) else value)
                for name, value in raw.items()
            }
        except Exception:
            pass
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
    config_mod = sys.modules.get("knoll.defs.config")
    if config_mod is None or not isinstance(annotation, type):
        return False
    base = getattr(config_mod, "Config", None)
    return base is not None and issubclass(annotation, base) and annotation is not base


def is_resource_annotation(annotation: Any) -> bool:
    """True for a resource class, an IO manager class or ``ResourceParam[T]``."""
    if annotation.__class__ is type and annotation.__module__ == "builtins":
        return False  # int, str, list...: the common case
    if typing.get_origin(annotation) is Annotated:
        return _RESOURCE_MARKER in getattr(annotation, "__metadata__", ())
    if not isinstance(annotation, type):
        return False
    resource_mod = sys.modules.get("knoll.defs.resource")
    if resource_mod is not None:
        base = getattr(resource_mod, "ConfigurableResource", None)
        if base is not None and issubclass(annotation, base):
            return True
    io_mod = sys.modules.get("knoll.defs.io_manager")
    if io_mod is not None:
        base = getattr(io_mod, "IOManager", None)
        if base is not None and issubclass(annotation, base):
            return True
    return False


def _is_context_annotation(annotation: Any) -> bool:
    if annotation is _EMPTY:
        return False
    if annotation.__class__ is type and annotation.__module__ == "builtins":
        return False  # int, str...: the common case, without a failing attribute lookup
    return isinstance(annotation, type) and getattr(annotation, "__knoll_context__", False)


_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD
_CO_VARARGS = inspect.CO_VARARGS
_CO_VARKEYWORDS = inspect.CO_VARKEYWORDS


def _parameters(fn: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter, in order.

    Plain functions are read from their code object: ``inspect.signature`` builds objects per
    parameter and costs more than everything else ``@asset`` does.
    """
    code = getattr(fn, "__code__", None)
    if not isinstance(fn, types.FunctionType) or code is None:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
    positional = code.co_argcount
    names = code.co_varnames
    defaults = fn.__defaults__ or ()
    kwdefaults = fn.__kwdefaults__ or {}
    first_default = positional - len(defaults)
    out: list[tuple[str, Any, Any]] = []
    for i in range(positional):
        default = defaults[i - first_default] if i >= first_default else _EMPTY
        out.append((names[i], inspect.Parameter.POSITIONAL_OR_KEYWORD, default))
    index = positional
    if code.co_flags & _CO_VARARGS:
        out.append((names[positional + code.co_kwonlyargcount], _VAR_POSITIONAL, _EMPTY))
    for name in names[index : index + code.co_kwonlyargcount]:
        out.append((name, inspect.Parameter.KEYWORD_ONLY, kwdefaults.get(name, _EMPTY)))
    if code.co_flags & _CO_VARKEYWORDS:
        extra = 1 if code.co_flags & _CO_VARARGS else 0
        out.append((names[positional + code.co_kwonlyargcount + extra], _VAR_KEYWORD, _EMPTY))
    return out


_CO_ASYNC = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
_CO_GENERATORS = inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR


def _code_flags(fn: Callable[..., Any]) -> int:
    code = (
        getattr(inspect.unwrap(fn), "__code__", None)
        if not isinstance(fn, types.FunctionType)
        else fn.__code__
    )
    return 0 if code is None else code.co_flags


def read_signature(fn: Callable[..., Any], owner: str) -> tuple[ComputeSignature, list[Param]]:
    """Sort ``fn``'s parameters into context, config, resources and inputs (returned apart)."""
    if not callable(fn):
        raise DefinitionError(f"{owner} must decorate a function, got {type(fn).__name__}.")
    hints = _type_hints(fn)
    context_param: str | None = None
    config_param: Param | None = None
    resources: list[Param] = []
    inputs: list[Param] = []
    accepts_kwargs = False
    for index, (name, kind, default) in enumerate(_parameters(fn)):
        if kind is _VAR_KEYWORD:
            accepts_kwargs = True
            continue
        if kind is _VAR_POSITIONAL:
            raise DefinitionError(
                f"{owner} ({source_location(fn)}) takes *{name}: knoll passes inputs "
                "by name, so give each input its own parameter."
            )
        annotation = hints.get(name, _EMPTY)
        param = (
            Param(name, annotation, False, None)
            if default is _EMPTY
            else Param(name, annotation, True, default)
        )
        if (
            annotation.__class__ is type
            and annotation.__module__ == "builtins"
            and name != "context"
            and (index > 0 or name not in CONTEXT_NAMES)
        ):
            # A builtin class (``x: int``): an input, the common case decided at once.
            inputs.append(param)
            continue
        is_context = _is_context_annotation(annotation)
        if index == 0 and (name in CONTEXT_NAMES or is_context):
            context_param = name
        elif is_context or name == "context":
            # Taken as an input, a late "context" would silently become an upstream asset.
            raise DefinitionError(
                f"{owner} ({source_location(fn)}): the context parameter {name!r} must come first."
            )
        elif is_config_class(annotation) or (
            name == "config" and annotation is not _EMPTY and is_config_class(annotation)
        ):
            if config_param is not None:
                raise DefinitionError(
                    f"{owner} ({source_location(fn)}) has two Config parameters "
                    f"({config_param.name!r} and {name!r}); merge them into one class."
                )
            config_param = param
        elif is_resource_annotation(annotation):
            resources.append(param)
        else:
            inputs.append(param)
    return_annotation = hints.get("return", _EMPTY)
    flags = _code_flags(fn)
    if context_param is None and config_param is None and not resources and not accepts_kwargs:
        return _plain_signature(return_annotation, flags), inputs
    signature = ComputeSignature(
        context_param=context_param,
        config_param=config_param,
        resource_params=tuple(resources),
        return_annotation=return_annotation,
        is_async=bool(flags & _CO_ASYNC),
        is_generator=bool(flags & _CO_GENERATORS),
        accepts_kwargs=accepts_kwargs,
    )
    return signature, inputs


# The signature of a function that takes only inputs depends on its return annotation and
# flags alone: one (immutable) object serves every such function.
_PLAIN_SIGNATURES: dict[tuple[int, bool, bool], ComputeSignature] = {}


def _plain_signature(return_annotation: Any, flags: int) -> ComputeSignature:
    is_async, is_generator = bool(flags & _CO_ASYNC), bool(flags & _CO_GENERATORS)
    # Keyed by the annotation's identity, which the cached signature keeps alive.
    key = (id(return_annotation), is_async, is_generator)
    found = _PLAIN_SIGNATURES.get(key)
    if found is None:
        found = ComputeSignature(None, None, (), return_annotation, is_async, is_generator, False)
        if len(_PLAIN_SIGNATURES) < 100_000:
            _PLAIN_SIGNATURES[key] = found
    return found


def unwrap_annotation(annotation: Any) -> Any:
    """``Annotated[T, ...]`` → ``T``; ``Output[T]`` → ``T``."""
    if annotation.__class__ is type and annotation.__name__ != "Output":
        return annotation  # a plain class: the common case
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
