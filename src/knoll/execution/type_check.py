"""Run-time checks of values against the type annotations of inputs and outputs.

Checks the outer type (``list[int]`` checks that the value is a list, not every element), so
the cost stays constant whatever the size of the data.
"""

from __future__ import annotations

import collections.abc
import contextlib
import inspect
import types
import typing
from typing import Any

from knoll.defs.op import Nothing
from knoll.defs.output import Output

_EMPTY = inspect.Parameter.empty
_cache: dict[Any, Any] = {}


def _unwrap_output(annotation: Any) -> Any:
    """``-> Output[int]`` declares an int output; a bare ``-> Output`` declares any value."""
    if annotation is Output:
        return _EMPTY
    if typing.get_origin(annotation) is Output:
        args = typing.get_args(annotation)
        return args[0] if args else _EMPTY
    return annotation


_GENERATORS = frozenset(
    {
        collections.abc.Iterator,
        collections.abc.Iterable,
        collections.abc.Generator,
        collections.abc.AsyncIterator,
        collections.abc.AsyncIterable,
        collections.abc.AsyncGenerator,
    }
)


def yielded_type(annotation: Any) -> Any:
    """What a generator annotated ``-> Iterator[Output[int]]`` yields (``Output[int]``): for a
    generator function, the return annotation describes the generator, not its outputs."""
    if typing.get_origin(annotation) in _GENERATORS:
        args = typing.get_args(annotation)
        return args[0] if args else _EMPTY
    if any(annotation is g for g in _GENERATORS):
        return _EMPTY
    return annotation


def type_name(annotation: Any) -> str:
    annotation = _unwrap_output(annotation)
    if annotation is _EMPTY or annotation is Any:
        return "Any"
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def _checker(annotation: Any) -> Any:
    """A predicate for ``annotation``, or None when anything passes."""
    annotation = _unwrap_output(annotation)
    if annotation is _EMPTY or annotation is Any or annotation is Nothing:
        return None
    if isinstance(annotation, (str, typing.ForwardRef, typing.TypeVar)):
        return None
    if annotation is None or annotation is type(None):
        return lambda v: v is None
    origin = typing.get_origin(annotation)
    if origin is not None:
        return _generic_checker(annotation, origin)
    if annotation is float:
        # as in Python's own numeric tower: an int is acceptable where a float is expected
        return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    if isinstance(annotation, type):
        if getattr(annotation, "_is_protocol", False) and not getattr(
            annotation, "_is_runtime_protocol", False
        ):
            return None
        return lambda v: isinstance(v, annotation)
    return None


def _generic_checker(annotation: Any, origin: Any) -> Any:
    """A predicate for a subscripted annotation (``list[int]``, ``int | None``, ...)."""
    if origin is typing.Annotated:
        return _checker(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        parts = [_checker(a) for a in typing.get_args(annotation)]
        if any(p is None for p in parts):
            return None
        return lambda v: any(p(v) for p in parts)
    if origin is typing.Literal:
        allowed = typing.get_args(annotation)
        return lambda v: v in allowed
    if origin in (collections.abc.Callable,):
        return callable
    if origin is type:
        return lambda v: isinstance(v, type)
    if isinstance(origin, type):
        return lambda v: isinstance(v, origin)
    return None


def check_value(value: Any, annotation: Any) -> bool:
    """True when ``value`` fits ``annotation`` (unknown or unsupported annotations pass)."""
    try:
        checker = _cache[annotation]
    except KeyError:
        checker = _checker(annotation)
        with contextlib.suppress(TypeError):  # an unhashable annotation: do not cache
            _cache[annotation] = checker
    except TypeError:
        checker = _checker(annotation)
    return checker is None or bool(checker(value))


def value_type_name(value: Any) -> str:
    return type(value).__name__


def a_type_name(value: Any) -> str:
    """The type of ``value`` with its article, for messages: "an int", "a str"."""
    name = value_type_name(value)
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
