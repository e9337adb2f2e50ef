"""Versioned JSON for every record that is persisted or crosses a process boundary.

A frozen dataclass or an enum registered with :func:`serializable` is written as a JSON
object that carries its registered name and version::

    {"__class__": "AssetKey", "__v": 1, "path": ["raw", "orders"]}

Reading a record written by a newer version of a class fails with a clear error; an older
version is brought up to date by the class's ``upgrade`` hook. Nothing is ever pickled.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from knoll.errors import KnollError, SerializationError

T = TypeVar("T")

Upgrade = Callable[[dict[str, Any], int], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class _Entry:
    cls: type[Any]
    version: int
    upgrade: Upgrade | None
    # Fields whose value is arbitrary JSON and must come back exactly as written.
    raw_fields: frozenset[str]
    field_names: tuple[str, ...]


_BY_NAME: dict[str, _Entry] = {}
_BY_CLASS: dict[type[Any], tuple[str, _Entry]] = {}

RAW = {"serdes": "raw"}
"""Field metadata: ``dataclasses.field(metadata=RAW)`` keeps a JSON value as written."""


def serializable(
    name: str | None = None, *, version: int = 1, upgrade: Upgrade | None = None
) -> Callable[[type[T]], type[T]]:
    """Register a frozen dataclass or an enum for versioned JSON under ``name``."""

    def register(cls: type[T]) -> type[T]:
        key = name or cls.__name__
        if key in _BY_NAME and _BY_NAME[key].cls is not cls:
            raise SerializationError(f"two classes are registered for JSON as {key!r}")
        if dataclasses.is_dataclass(cls):
            fields = dataclasses.fields(cls)
            raw = frozenset(f.name for f in fields if f.metadata.get("serdes") == "raw")
            names = tuple(f.name for f in fields if f.init)
        elif issubclass(cls, enum.Enum):
            raw, names = frozenset(), ()
        else:
            raise SerializationError(f"{cls.__name__} must be a dataclass or an enum")
        entry = _Entry(cls, version, upgrade, raw, names)
        _BY_NAME[key] = entry
        _BY_CLASS[cls] = (key, entry)
        return cls

    return register


def pack(value: Any) -> Any:
    """Turn a value into plain JSON data (dicts, lists, strings, numbers, booleans, None)."""
    if isinstance(value, enum.Enum):
        return _pack_enum(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    registered = _BY_CLASS.get(type(value))
    if registered is not None:
        key, entry = registered
        out: dict[str, Any] = {"__class__": key, "__v": entry.version}
        for field_name in entry.field_names:
            field_value = getattr(value, field_name)
            out[field_name] = field_value if field_name in entry.raw_fields else pack(field_value)
        return out
    if isinstance(value, (list, tuple)):
        return [pack(v) for v in value]
    if isinstance(value, (frozenset, set)):
        return sorted((pack(v) for v in value), key=_sort_key)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SerializationError(
                    f"cannot write a mapping with a {type(k).__name__} key {k!r} as JSON: "
                    "keys must be strings"
                )
            out[k] = pack(v)
        return out
    raise SerializationError(
        f"cannot write a {type(value).__name__} as JSON: register it with @serializable "
        "or convert it to plain data first"
    )


def _pack_enum(value: enum.Enum) -> dict[str, Any]:
    registered = _BY_CLASS.get(type(value))
    if registered is None:
        raise SerializationError(f"enum {type(value).__name__} is not registered as serializable")
    return {"__enum__": f"{registered[0]}.{value.name}"}


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def unpack(data: Any) -> Any:
    """The inverse of :func:`pack`. JSON lists become tuples, except in raw fields."""
    if isinstance(data, dict):
        class_name = data.get("__class__")
        if class_name is not None:
            return _unpack_record(class_name, data)
        enum_name = data.get("__enum__")
        if enum_name is not None and len(data) == 1:
            cls_name, _, member = str(enum_name).rpartition(".")
            entry = _BY_NAME.get(cls_name)
            if entry is None:
                raise SerializationError(f"unknown enum {cls_name!r} in JSON record")
            try:
                return entry.cls[member]
            except KeyError:
                raise SerializationError(f"{cls_name} has no member {member!r}") from None
        return {k: unpack(v) for k, v in data.items()}
    if isinstance(data, list):
        return tuple(unpack(v) for v in data)
    return data


def _unpack_record(class_name: str, data: dict[str, Any]) -> Any:
    entry = _BY_NAME.get(class_name)
    if entry is None:
        raise SerializationError(
            f"unknown record type {class_name!r}: it was written by a knoll that knows it; "
            "upgrade knoll to read it"
        )
    stored_version = int(data.get("__v", 1))
    if stored_version > entry.version:
        raise SerializationError(
            f"{class_name} record has version {stored_version}, but this knoll reads up to "
            f"version {entry.version}: upgrade knoll to read it"
        )
    fields = {k: v for k, v in data.items() if k not in ("__class__", "__v")}
    if stored_version < entry.version and entry.upgrade is not None:
        fields = entry.upgrade(fields, stored_version)
    kwargs = {}
    for k, v in fields.items():
        if k not in entry.field_names:
            continue  # a field dropped in a later version
        kwargs[k] = v if k in entry.raw_fields else unpack(v)
    try:
        return entry.cls(**kwargs)
    except (TypeError, ValueError, KnollError) as exc:
        # A record that its own class rejects (a missing field, an invalid value) is bad
        # input at a trust boundary: report it as such, whatever the class raised.
        raise SerializationError(f"cannot read {class_name} record: {exc}") from exc


def serialize(value: Any) -> str:
    """Compact versioned JSON text for ``value``."""
    try:
        return json.dumps(pack(value), separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        raise SerializationError(
            f"cannot write a {type(value).__name__} as JSON: it holds NaN or infinity, which "
            "JSON cannot represent; use None or a string instead"
        ) from exc


def deserialize(text: str | bytes, as_type: type[T] | None = None) -> T:
    """Read back what :func:`serialize` wrote; with ``as_type``, check the result's type."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SerializationError(f"not valid JSON: {exc}") from exc
    value = unpack(data)
    if as_type is not None and not isinstance(value, as_type):
        raise SerializationError(
            f"expected a {as_type.__name__} record, got {type(value).__name__}"
        )
    return value  # type: ignore[no-any-return]
