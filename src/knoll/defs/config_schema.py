"""Config schemas without pydantic: ``Field``, the dict-schema types, normalisation, validation.

A config schema is what ``@op(config_schema=...)``, ``@resource(config_schema=...)`` or a
``config: MyConfig`` parameter declares. Users write it loosely (``int``, ``[str]``,
``{"a": Field(int, default_value=1)}``, a ``Config`` class); :func:`normalize_config_schema`
turns any of these into one ``Field`` whose ``config_type`` is a :class:`ConfigType`.

This module never imports pydantic: a schema that is a ``Config`` class is handed to
``knoll.defs.config``, imported only when such a class exists (and so pydantic is loaded).
"""

from __future__ import annotations

import copy
import enum
import json
import re
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, TypeGuard

from knoll._utils import did_you_mean
from knoll.errors import DefinitionError, InvalidConfigError

PathSegment: TypeAlias = str | int
ConfigPath: TypeAlias = tuple[PathSegment, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_MAX_REPR = 60


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Final = _NoDefault()
"""The ``default_value`` of a ``Field`` that has none (``None`` is a real default)."""


# --- messages ------------------------------------------------------------------------------


def format_path(path: Sequence[PathSegment]) -> str:
    """``at the root`` or ``at path ops:knob:config:limits[2]``: where a config error is."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f":{segment}" if text else segment
    return f"at path {text}" if text else "at the root"


def describe_value(value: Any) -> str:
    """``str 'abc'``: a value's type and a short repr, for 'got ...' in messages."""
    if value is None:
        return "None"
    text = repr(value)
    if len(text) > _MAX_REPR:
        text = text[: _MAX_REPR - 3] + "..."
    return f"{type(value).__name__} {text}"


def yaml_key(key: str) -> str:
    """A mapping key as it can be written in YAML flow style."""
    return key if _PLAIN_KEY.match(key) else json.dumps(key)


def flow_yaml(value: Any) -> str:
    """A one-line YAML (flow style) rendering of plain data, for examples in messages."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Mapping):
        return (
            "{" + ", ".join(f"{yaml_key(str(k))}: {flow_yaml(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow_yaml(v) for v in value) + "]"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return json.dumps(value)
    return json.dumps(str(value))


def _quote_hint(value: Any) -> str:
    # YAML turns unquoted 2024-01-01, yes, 12 into a date, a bool, an int.
    if value is not None and not isinstance(value, (Mapping, list, tuple)):
        return f". Quote it in YAML to pass a string, for example: {json.dumps(str(value))}"
    return ""


def _add(errors: list[str], path: ConfigPath, message: str) -> None:
    errors.append(f"{format_path(path)}: {message}")


def unknown_field_message(name: object, known: Sequence[str], what: str = "field") -> str:
    """``unknown field 'dealy'. Did you mean 'delay'?`` (or the list of known fields)."""
    suggestion = did_you_mean(str(name), known)
    if suggestion:
        return f"unknown {what} {name!r}.{suggestion}"
    if known:
        listed = ", ".join(repr(k) for k in known)
        return f"unknown {what} {name!r}. Remove it; the known {what}s are {listed}."
    return f"unknown {what} {name!r}. Remove it; no {what}s are expected here."


# --- config types --------------------------------------------------------------------------


class ConfigType:
    """A normalised config type: knows its name, how to check a value, a sample and JSON Schema."""

    @property
    def name(self) -> str:
        raise NotImplementedError

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        """Validate ``value``, append one error per problem to ``errors``; return it resolved."""
        raise NotImplementedError

    def sample(self) -> str:
        """A short YAML example of a valid value."""
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def implicit_default(self) -> tuple[bool, Any]:
        """``(True, value)`` if this type has a value when config gives nothing."""
        return False, None

    def _eq_key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ConfigType)
            and type(other) is type(self)
            and (self._eq_key() == other._eq_key())
        )

    def __hash__(self) -> int:
        return hash((type(self), self._eq_key()))

    def __repr__(self) -> str:
        return self.name


class _Scalar(ConfigType):
    _SAMPLES: Final = {"int": "0", "float": "0.0", "str": '"..."', "bool": "false", "Any": '"..."'}
    _JSON: Final[dict[str, dict[str, Any]]] = {
        "int": {"type": "integer"},
        "float": {"type": "number"},
        "str": {"type": "string"},
        "bool": {"type": "boolean"},
        "Any": {},
    }

    def __init__(self, kind: str) -> None:
        self.kind = kind

    @property
    def name(self) -> str:
        return self.kind

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        kind = self.kind
        if kind == "Any":
            return value
        if kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok:
                return float(value)
        else:
            ok = isinstance(value, str)
        if not ok:
            hint = _quote_hint(value) if kind == "str" else ""
            _add(errors, path, f"expected {kind}, got {describe_value(value)}{hint}")
        return value

    def sample(self) -> str:
        return self._SAMPLES[self.kind]

    def json_schema(self) -> dict[str, Any]:
        return dict(self._JSON[self.kind])

    def implicit_default(self) -> tuple[bool, Any]:
        return (True, None) if self.kind == "Any" else (False, None)

    def _eq_key(self) -> tuple[Any, ...]:
        return (self.kind,)


_INT, _FLOAT, _STR, _BOOL, _ANY = (_Scalar(k) for k in ("int", "float", "str", "bool", "Any"))
_SCALARS: Final[dict[object, _Scalar]] = {
    int: _INT,
    float: _FLOAT,
    str: _STR,
    bool: _BOOL,
    Any: _ANY,
}


class Array(ConfigType):
    """A list of values of one config type: ``Array(int)``, also written ``[int]``."""

    def __init__(self, inner_type: object) -> None:
        self.inner = to_config_type(inner_type, "the item type of Array(...)")

    @property
    def name(self) -> str:
        return f"list[{self.inner.name}]"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        if not isinstance(value, (list, tuple)):
            _add(
                errors,
                path,
                f"expected {self.name}, got {describe_value(value)}. Write a list, for example: "
                f"{self.sample()}",
            )
            return value
        return [self.inner.check(item, (*path, i), errors) for i, item in enumerate(value)]

    def sample(self) -> str:
        return f"[{self.inner.sample()}]"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.inner.json_schema()}

    def _eq_key(self) -> tuple[Any, ...]:
        return (self.inner,)


class Noneable(ConfigType):
    """A value of a config type, or ``None``; when config leaves it out, it is ``None``."""

    def __init__(self, inner_type: object) -> None:
        self.inner = to_config_type(inner_type, "the type of Noneable(...)")

    @property
    def name(self) -> str:
        return f"{self.inner.name} | None"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        return None if value is None else self.inner.check(value, path, errors)

    def sample(self) -> str:
        return self.inner.sample()

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [self.inner.json_schema(), {"type": "null"}]}

    def implicit_default(self) -> tuple[bool, Any]:
        return True, None

    def _eq_key(self) -> tuple[Any, ...]:
        return (self.inner,)


class Shape(ConfigType):
    """A mapping with named fields: ``Shape({"a": int, "b": Field(str, default_value="x")})``.

    A plain dict in a schema means the same thing. Unknown keys are errors.
    """

    permissive: bool = False

    def __init__(self, fields: Mapping[str, object], description: str | None = None) -> None:
        if not isinstance(fields, Mapping):
            raise DefinitionError(
                f"{type(self).__name__}(...) takes a dict of field names to types, got "
                f"{describe_value(fields)}. Write for example {type(self).__name__}({{'a': int}})."
            )
        self.fields: dict[str, Field] = {}
        loose: Mapping[Any, object] = fields  # users' keys may be anything
        for key, field in loose.items():
            if not isinstance(key, str) or not key:
                raise DefinitionError(
                    f"config field name {key!r} is not valid: field names must be non-empty "
                    f"strings, for example {suggest_field_name(key)!r}."
                )
            self.fields[key] = (
                field if isinstance(field, Field) else Field(field, _where=f"field {key!r}")
            )
        self.description = description

    @property
    def name(self) -> str:
        return "dict"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        if not isinstance(value, Mapping):
            _add(errors, path, f"expected a dict like {self.sample()}, got {describe_value(value)}")
            return value
        out: dict[str, Any] = {}
        for key, item in value.items():
            field = self.fields.get(key) if isinstance(key, str) else None
            if field is None:
                if self.permissive:
                    out[key] = item
                else:
                    _add(errors, path, unknown_field_message(key, list(self.fields)))
                continue
            if item is None and field.has_default_value and not _accepts_none(field.config_type):
                _add(
                    errors,
                    (*path, key),
                    f"expected {field.config_type.name}, got None. Give a value, or remove "
                    f"{key!r} to use its default {flow_yaml(field.default_value)}",
                )
                continue
            out[key] = field.config_type.check(item, (*path, key), errors)
        for key, field in self.fields.items():
            if key in value:
                continue
            present, default = field.absent_value()
            if present:
                out[key] = default
            elif field.is_required:
                _add(
                    errors,
                    path,
                    f"missing required field {key!r} ({field.config_type.name}). "
                    f"Add it, for example: {yaml_key(key)}: {field.config_type.sample()}",
                )
        return out

    def sample(self) -> str:
        parts = [
            f"{yaml_key(k)}: {f.config_type.sample()}"
            for k, f in self.fields.items()
            if f.is_required
        ]
        return "{" + ", ".join(parts) + "}"

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {k: f.json_schema() for k, f in self.fields.items()},
            "additionalProperties": self.permissive,
        }
        required = [k for k, f in self.fields.items() if f.is_required]
        if required:
            schema["required"] = required
        if self.description:
            schema["description"] = self.description
        return schema

    def implicit_default(self) -> tuple[bool, Any]:
        if any(f.is_required for f in self.fields.values()):
            return False, None
        errors: list[str] = []
        value = self.check({}, (), errors)
        return not errors, value

    def _eq_key(self) -> tuple[Any, ...]:
        return (tuple(self.fields.items()), self.description)


class Permissive(Shape):
    """A mapping that checks the fields it names and keeps any other keys as they are."""

    permissive = True

    def __init__(
        self, fields: Mapping[str, object] | None = None, description: str | None = None
    ) -> None:
        super().__init__(fields or {}, description)

    @property
    def name(self) -> str:
        return "dict" if not self.fields else "dict (permissive)"


class Selector(ConfigType):
    """A mapping that gives exactly one of its fields: ``Selector({"a": int, "b": str})``.

    Config writes ``{a: 1}`` or ``{b: "x"}``; the resolved value is that one-key dict.
    """

    def __init__(self, fields: Mapping[str, object], description: str | None = None) -> None:
        self.shape = Shape(fields, description)
        self.fields = self.shape.fields
        self.description = description

    @property
    def name(self) -> str:
        return "one of " + ", ".join(repr(k) for k in self.fields)

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        known = list(self.fields)
        listed = ", ".join(repr(k) for k in known)
        if not isinstance(value, Mapping) or len(value) != 1:
            got = f"{len(value)} keys" if isinstance(value, Mapping) else describe_value(value)
            _add(
                errors,
                path,
                f"expected a dict with exactly one of {listed}, got {got}. Write for "
                f"example: {self.sample()}",
            )
            return value
        key, item = next(iter(value.items()))
        field = self.fields.get(key) if isinstance(key, str) else None
        if field is None:
            _add(errors, path, unknown_field_message(key, known))
            return value
        if item is None and field.absent_value()[0]:
            return {key: field.absent_value()[1]}
        return {key: field.config_type.check(item, (*path, key), errors)}

    def sample(self) -> str:
        key, field = next(iter(self.fields.items()))
        return f"{{{yaml_key(key)}: {field.config_type.sample()}}}"

    def json_schema(self) -> dict[str, Any]:
        choices = [
            {
                "type": "object",
                "properties": {key: field.json_schema()},
                "required": [key],
                "additionalProperties": False,
            }
            for key, field in self.fields.items()
        ]
        schema: dict[str, Any] = {"oneOf": choices}
        if self.description:
            schema["description"] = self.description
        return schema

    def _eq_key(self) -> tuple[Any, ...]:
        return (self.shape,)


class ScalarUnion(ConfigType):
    """A scalar, or a dict or list of another schema: ``ScalarUnion(str, {"path": str})``.

    Config writes the short form (``x``) or the long one (``{path: x}``); the resolved value
    is whichever was written.
    """

    def __init__(self, scalar_type: object, non_scalar_schema: object) -> None:
        scalar = to_config_type(scalar_type, "the scalar type of ScalarUnion(...)")
        if not isinstance(scalar, _Scalar) or scalar is _ANY:
            raise DefinitionError(
                f"ScalarUnion(...) takes a scalar type first (int, float, str or bool), got "
                f"{scalar.name}. Write for example ScalarUnion(str, {{'path': str}})."
            )
        self.scalar = scalar
        self.non_scalar = to_config_type(non_scalar_schema, "the schema of ScalarUnion(...)")

    @property
    def name(self) -> str:
        return f"{self.scalar.name} | {self.non_scalar.name}"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        if isinstance(value, (Mapping, list, tuple)):
            return self.non_scalar.check(value, path, errors)
        found: list[str] = []
        resolved = self.scalar.check(value, path, found)
        if found:
            _add(
                errors,
                path,
                f"expected {self.scalar.name} or a dict like {self.non_scalar.sample()}, got "
                f"{describe_value(value)}",
            )
        return resolved

    def sample(self) -> str:
        return self.scalar.sample()

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [self.scalar.json_schema(), self.non_scalar.json_schema()]}

    def _eq_key(self) -> tuple[Any, ...]:
        return (self.scalar, self.non_scalar)


class Map(ConfigType):
    """A mapping from keys of one type (``str`` or ``int``) to values of one config type."""

    def __init__(self, key_type: type[Any], inner_type: object) -> None:
        if key_type not in (str, int):
            raise DefinitionError(
                f"Map(...) key type {key_type!r} is not supported: use str or int, for example "
                f"Map(str, {getattr(inner_type, '__name__', 'int')})."
            )
        self.key = _SCALARS[key_type]
        self.inner = to_config_type(inner_type, "the value type of Map(...)")

    @property
    def name(self) -> str:
        return f"dict[{self.key.name}, {self.inner.name}]"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        if not isinstance(value, Mapping):
            _add(errors, path, f"expected {self.name}, got {describe_value(value)}")
            return value
        out: dict[Any, Any] = {}
        for key, item in value.items():
            key_errors: list[str] = []
            self.key.check(key, path, key_errors)
            if key_errors:
                _add(errors, path, f"key {key!r} is not a {self.key.name}")
                continue
            out[key] = self.inner.check(item, (*path, str(key)), errors)
        return out

    def sample(self) -> str:
        key = "key" if self.key is _STR else "0"
        return f"{{{key}: {self.inner.sample()}}}"

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "additionalProperties": self.inner.json_schema(),
        }
        if self.key is _INT:
            schema["propertyNames"] = {"pattern": "^-?[0-9]+$"}
        return schema

    def _eq_key(self) -> tuple[Any, ...]:
        return (self.key, self.inner)


class EnumType(ConfigType):
    """A Python ``enum.Enum`` class used as a config type: config gives a member's name."""

    def __init__(self, enum_class: type[enum.Enum]) -> None:
        self.enum_class = enum_class

    @property
    def name(self) -> str:
        return self.enum_class.__name__

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        if isinstance(value, self.enum_class):
            return value
        names = list(self.enum_class.__members__)
        if isinstance(value, str) and value in self.enum_class.__members__:
            return self.enum_class[value]
        listed = ", ".join(repr(n) for n in names)
        message = f"expected one of {listed} ({self.name}), got {describe_value(value)}"
        hint = did_you_mean(value, names) if isinstance(value, str) else ""
        _add(errors, path, f"{message}.{hint}" if hint else message)
        return value

    def sample(self) -> str:
        names = list(self.enum_class.__members__)
        return names[0] if names else '"..."'

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.enum_class.__members__), "title": self.name}

    def _eq_key(self) -> tuple[Any, ...]:
        return (self.enum_class,)


class ConfigClassType(ConfigType):
    """A ``Config`` class (a pydantic model) used as a config type; checked by pydantic."""

    def __init__(self, config_class: type[Any]) -> None:
        self.config_class = config_class

    @property
    def name(self) -> str:
        return str(self.config_class.__name__)

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        from knoll.defs import config

        return config.check_config_class(self.config_class, value, path, errors)

    def sample(self) -> str:
        from knoll.defs import config

        return config.config_class_sample(self.config_class)

    def json_schema(self) -> dict[str, Any]:
        from knoll.defs import config

        return config.config_class_json_schema(self.config_class)

    def implicit_default(self) -> tuple[bool, Any]:
        from knoll.defs import config

        return config.config_class_default(self.config_class)

    def _eq_key(self) -> tuple[Any, ...]:
        return (self.config_class,)


def _accepts_none(config_type: ConfigType) -> bool:
    return isinstance(config_type, Noneable) or config_type is _ANY


def suggest_field_name(key: object) -> str:
    cleaned = re.sub(r"\W+", "_", str(key)).strip("_")
    return cleaned or "my_field"


def is_config_class(obj: object) -> TypeGuard[type[Any]]:
    """True for a subclass of ``knoll.Config``. If pydantic was never imported, nothing is."""
    if sys.modules.get("pydantic") is None:
        return False
    config_module = sys.modules.get("knoll.defs.config")
    base = getattr(config_module, "Config", None)
    permissive = getattr(config_module, "PermissiveConfig", None)
    if base is None or not isinstance(obj, type):
        return False
    return issubclass(obj, base) and obj is not base and obj is not permissive


def _types_hint() -> str:
    return (
        "Use int, float, str, bool, Any, a list like [int], a dict of fields like "
        '{"a": int}, Field(...), Noneable(...), Permissive(...), Map(...), an Enum class or a '
        "Config class."
    )


def to_config_type(obj: object, where: str) -> ConfigType:
    """Normalise one user-written config type (``int``, ``[str]``, ``{...}``, ...)."""
    if isinstance(obj, ConfigType):
        return obj
    if isinstance(obj, Field):
        raise DefinitionError(
            f"{where} is a Field(...), which only goes as a value in a dict schema or as the "
            f"whole schema. Use its type ({obj.config_type.name}) here instead."
        )
    try:
        scalar = _SCALARS.get(obj)
    except TypeError:  # unhashable, e.g. a list or dict literal
        scalar = None
    if scalar is not None:
        return scalar
    if obj is dict:
        return Permissive()
    if obj is list:
        return Array(Any)
    if isinstance(obj, list):
        if len(obj) != 1:
            raise DefinitionError(
                f"{where} is a list with {len(obj)} items: a list schema names exactly one item "
                f"type, for example [int]."
            )
        return Array(obj[0])
    if isinstance(obj, Mapping):
        return Shape(obj)
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        return EnumType(obj)
    if is_config_class(obj):
        return ConfigClassType(obj)
    hinted = _from_type_hint(obj)
    if hinted is not None:
        return hinted
    raise DefinitionError(f"{where} is {obj!r}, which is not a config type. {_types_hint()}")


def _from_type_hint(obj: object) -> ConfigType | None:
    """The config type of ``list[int]``, ``dict[str, int]`` or ``X | None``; None otherwise."""
    origin = typing.get_origin(obj)
    args = typing.get_args(obj)
    if origin in (list, Sequence) and len(args) == 1:
        return Array(args[0])
    if origin in (dict, Mapping) and len(args) == 2 and args[0] in (str, int):
        return Map(args[0], args[1])
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return Noneable(rest[0])
    return None


# --- Field ---------------------------------------------------------------------------------


class Field:
    """One entry of a dict config schema: its type, default, whether it is required, a description.

    A field with a default is optional. ``is_required=False`` without a default means the key
    may be left out, and is then absent from the resolved config.
    """

    def __init__(
        self,
        config: object = Any,
        default_value: Any = NO_DEFAULT,
        is_required: bool | None = None,
        description: str | None = None,
        *,
        _where: str = "Field(...)",
    ) -> None:
        self.config_type = to_config_type(config, f"the type of {_where}")
        self.description = description
        self.has_default_value = default_value is not NO_DEFAULT
        if self.has_default_value:
            if is_required:
                raise DefinitionError(
                    f"{_where} has a default_value and is_required=True: a field with a default "
                    f"is never required. Remove is_required=True or the default."
                )
            errors: list[str] = []
            resolved = self.config_type.check(default_value, (), errors)
            if errors:
                problems = "; ".join(e.removeprefix("at the root: ") for e in errors)
                raise DefinitionError(
                    f"{_where} has default_value {default_value!r}, which does not match its "
                    f"type {self.config_type.name} ({problems}). Fix the default."
                )
            default_value = resolved
        self.default_value = default_value
        if is_required is None:
            is_required = not self.has_default_value and not self.config_type.implicit_default()[0]
        self.is_required = is_required

    def absent_value(self) -> tuple[bool, Any]:
        """``(True, value)`` when config leaving this field out still gives it a value."""
        if self.has_default_value:
            return True, _copy_default(self.default_value)
        if self.is_required:
            return False, None
        return self.config_type.implicit_default()

    def json_schema(self) -> dict[str, Any]:
        schema = self.config_type.json_schema()
        if self.has_default_value:
            schema["default"] = json_default(self.default_value)
        if self.description:
            schema["description"] = self.description
        return schema

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Field):
            return NotImplemented
        return (
            self.config_type == other.config_type
            and self.has_default_value == other.has_default_value
            and (not self.has_default_value or self.default_value == other.default_value)
            and self.is_required == other.is_required
            and self.description == other.description
        )

    def __hash__(self) -> int:
        return hash((self.config_type, self.is_required, self.description))

    def __repr__(self) -> str:
        parts = [self.config_type.name]
        if self.has_default_value:
            parts.append(f"default_value={self.default_value!r}")
        parts.append(f"is_required={self.is_required}")
        if self.description:
            parts.append(f"description={self.description!r}")
        return f"Field({', '.join(parts)})"


ConfigSchema: TypeAlias = Field
"""A normalised config schema: a ``Field`` for the whole config of an op, asset or resource."""


def _copy_default(value: Any) -> Any:
    # Config instances are frozen; lists and dicts must not be shared between runs.
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


def json_default(value: Any) -> Any:
    """A default value as JSON data: enum members by name, Config instances as dicts."""
    return json.loads(json.dumps(config_to_plain(value), default=str))


# --- the functions other modules call ------------------------------------------------------


def normalize_config_schema(schema: object, owner: str) -> Field | None:
    """Turn a user-written config schema into a ``Field``; ``None`` means "takes no config".

    ``owner`` names what declared it (``"op 'knob'"``) for the error a bad schema raises.
    """
    if schema is None:
        return None
    if isinstance(schema, Field):
        return schema
    try:
        return Field(schema, _where=f"config schema of {owner}")
    except DefinitionError as error:
        message = str(error)
        if owner in message:
            raise
        raise DefinitionError(f"config schema of {owner}: {message}") from None


def _as_schema(schema: object) -> Field:
    normalized = normalize_config_schema(schema, "this config")
    if normalized is None:
        raise TypeError("a config schema is required here, got None")
    return normalized


@dataclass(frozen=True)
class ConfigCheck:
    """The outcome of checking config: the resolved value and every error found (with paths)."""

    value: Any
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_config(
    schema: object, value: Any, *, path_prefix: Sequence[PathSegment] = ()
) -> ConfigCheck:
    """Check ``value`` against ``schema`` without raising; ``None`` means "no config given"."""
    field = _as_schema(schema)
    path: ConfigPath = tuple(path_prefix)
    errors: list[str] = []
    config_type = field.config_type
    if value is None:
        if not field.is_required:
            return ConfigCheck(field.absent_value()[1], ())
        if isinstance(config_type, (Shape, ConfigClassType)):
            # Report each missing field by name rather than the whole mapping at once.
            value = {}
        else:
            _add(
                errors,
                path,
                f"missing required config ({config_type.name}). "
                f"Add it, for example: {config_type.sample()}",
            )
            return ConfigCheck(None, tuple(errors))
    resolved = config_type.check(value, path, errors)
    return ConfigCheck(resolved, tuple(errors))


def validate_config(
    schema: object, value: Any, *, subject: str, path_prefix: Sequence[PathSegment] = ()
) -> Any:
    """Validate config and return the resolved value, or raise ``InvalidConfigError``.

    A Config class gives an instance; a dict schema gives a dict with defaults filled in; a
    scalar schema gives the value. ``subject`` names what the config is for (``"op 'knob'"``).
    """
    result = check_config(schema, value, path_prefix=path_prefix)
    if result.errors:
        raise InvalidConfigError(subject, result.errors)
    return result.value


def coerce_config_arg(schema: object, value: Any, subject: str) -> Any:
    """For direct invocation: take a Config instance or plain config; return it validated."""
    field = _as_schema(schema)
    config_type = field.config_type
    if isinstance(config_type, ConfigClassType):
        if isinstance(value, config_type.config_class):
            return value
        if is_config_class(type(value)):
            raise InvalidConfigError(
                subject,
                [
                    f"at the root: expected a {config_type.name} instance or a dict of its "
                    f"fields, got a {type(value).__name__} instance. Pass "
                    f"{config_type.name}(...) instead."
                ],
            )
    return validate_config(field, value, subject=subject)


def default_config_value(schema: object) -> Any:
    """The config value when none is given; ``None`` also when the config is required."""
    field = _as_schema(schema)
    return None if field.is_required else field.absent_value()[1]


def config_schema_is_required(schema: object) -> bool:
    """True if a run must give this config (some required value has no default)."""
    return _as_schema(schema).is_required


def config_sample(schema: object) -> str:
    """A one-line YAML example of config that fills the required values of ``schema``."""
    return _as_schema(schema).config_type.sample()


def config_json_schema(schema: object) -> dict[str, Any]:
    """A self-contained JSON Schema for ``schema``, with defaults and descriptions."""
    return _as_schema(schema).json_schema()


def config_to_plain(value: Any) -> Any:
    """Config given in Python (Config instances, enum members) as plain YAML-like data."""
    if is_config_class(type(value)):
        from knoll.defs import config

        return config.config_to_plain(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Mapping):
        return {k: config_to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [config_to_plain(v) for v in value]
    return value
