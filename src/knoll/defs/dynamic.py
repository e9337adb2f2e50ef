"""Dynamic outputs: an op yields ``DynamicOutput`` values, each under a mapping key, and the
ops wired with ``.map(fn)`` run once per key (``DynamicOut`` declares such an output)."""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from knoll._utils import RESERVED_NAMES
from knoll.defs.op import DynamicOut

__all__ = ["DynamicOut", "DynamicOutput", "check_mapping_key", "dynamic_value_type"]

T = TypeVar("T")

_MAPPING_KEY = re.compile(r"^[A-Za-z0-9_]+$")


def check_mapping_key(key: object, owner: str) -> str | None:
    """Why ``key`` cannot be a mapping key (None when it can): letters, digits, underscores."""
    if not isinstance(key, str):
        return (
            f"{owner} yielded a DynamicOutput with mapping_key {key!r} "
            f"({type(key).__name__}); a mapping key is a string"
        )
    if not _MAPPING_KEY.match(key):
        return (
            f"{owner} yielded a DynamicOutput with mapping_key {key!r}; a mapping key may hold "
            "only letters, digits and underscores (replace the other characters, e.g. with _)"
        )
    if key in RESERVED_NAMES:
        return (
            f"{owner} yielded a DynamicOutput with mapping_key {key!r}, a Python keyword or "
            "reserved word that Dagster and knoll do not take as a mapping key (use another "
            f"key, for example {key + '_1'!r})"
        )
    return None


@dataclass(frozen=True)
class DynamicOutput(Generic[T]):
    """One value of a dynamic output, under its ``mapping_key`` (unique within the output)."""

    value: T
    mapping_key: str
    output_name: str = "result"
    metadata: Mapping[str, Any] = field(default_factory=dict)


def dynamic_value_type(annotation: Any) -> Any:
    """The type of each value of a dynamic output annotated ``annotation``."""
    if annotation is DynamicOutput:
        return Any
    origin = typing.get_origin(annotation)
    if origin is DynamicOutput:
        args = typing.get_args(annotation)
        return args[0] if args else Any
    if origin is list:
        args = typing.get_args(annotation)
        return dynamic_value_type(args[0]) if args else Any
    return annotation
