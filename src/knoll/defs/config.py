"""``Config``: typed config for assets, ops and resources, declared as a pydantic model.

This module imports pydantic, so ``knoll`` imports it lazily. The rest of the definitions
layer reaches it only through ``knoll.defs.config_schema`` once a Config class exists.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import pydantic
import pydantic_core
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from knoll._utils import did_you_mean
from knoll.defs.config_schema import (
    ConfigPath,
    describe_value,
    format_path,
    unknown_field_message,
    yaml_key,
)

# --- strict scalars ------------------------------------------------------------------------

# Pydantic's lax mode would read `true` as 1 and "10" as 10 for an int field; config never
# does (as in Dagster). An int is still accepted for a float field.
_STRICT_SCALARS: dict[object, object] = {
    kind: Annotated[kind, pydantic.Strict()] for kind in (int, float, bool, str)
}
_COLLECTIONS = (list, set, frozenset, tuple, dict, Sequence, Mapping)


def _strict_annotation(annotation: Any) -> Any:
    """``annotation`` with every int, float, bool and str in it checked strictly."""
    try:
        strict = _STRICT_SCALARS.get(annotation)
    except TypeError:  # an unhashable annotation holds no scalar of its own
        return annotation
    if strict is not None:
        return strict
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return Annotated[(_strict_annotation(args[0]), *annotation.__metadata__)]
    if not args or origin is Literal:
        return annotation
    new_args = tuple(arg if arg is Ellipsis else _strict_annotation(arg) for arg in args)
    if new_args == args:
        return annotation
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new_args]  # noqa: UP007  (a union built from a tuple)
    if origin in _COLLECTIONS:
        return origin[new_args]
    return annotation


def strict_scalar_fields(model: type[BaseModel]) -> bool:
    """Make the int, float, bool and str fields of ``model`` strict (also inside lists,
    dicts and unions); True if any changed, and the model must then be rebuilt."""
    changed = False
    for field in model.model_fields.values():
        if field.annotation is None:
            continue
        strict = _strict_annotation(field.annotation)
        if strict is not field.annotation:
            field.annotation = strict
            changed = True
    return changed


class Config(BaseModel):
    """Base class of typed config: subclass it and take an instance as the ``config`` parameter.

    Instances are frozen and unknown keys are errors. Fields typed ``X | None`` default to
    ``None``; enum fields take a member's name in run config.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        changed = strict_scalar_fields(cls)
        for field in cls.model_fields.values():
            if field.is_required() and _is_optional(field.annotation):
                field.default = None
                changed = True
        if changed:
            cls.model_rebuild(force=True, raise_errors=False)

    @model_validator(mode="before")
    @classmethod
    def _knoll_enum_names(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out: dict[Any, Any] | None = None
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key in data and _mentions_enum(field.annotation):
                converted = _enum_names_to_members(field.annotation, data[key])
                if converted is not data[key]:
                    out = dict(data) if out is None else out
                    out[key] = converted
        return data if out is None else out


class PermissiveConfig(Config):
    """A ``Config`` that also accepts keys it does not declare (kept as extra fields)."""

    model_config = ConfigDict(extra="allow")


# --- annotations ---------------------------------------------------------------------------


def _strip(annotation: Any) -> Any:
    """Drop ``Annotated`` and the ``None`` of ``X | None`` (pydantic reports neither in paths)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(rest) == 1:
                annotation = rest[0]
                continue
        return annotation


def _is_optional(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        return _is_optional(typing.get_args(annotation)[0])
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(annotation)


def _is_enum(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _mentions_enum(annotation: Any, depth: int = 0) -> bool:
    if _is_enum(annotation):
        return True
    if depth > 8:
        return False
    return any(_mentions_enum(arg, depth + 1) for arg in typing.get_args(annotation))


def _enum_names_to_members(annotation: Any, value: Any) -> Any:
    """Turn enum member names in ``value`` into members, following ``annotation``."""
    annotation = _strip(annotation)
    if _is_enum(annotation):
        if isinstance(value, str) and value in annotation.__members__:
            return annotation[value]
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            converted = _enum_names_to_members(arg, value)
            if converted is not value:
                return converted
        return value
    if origin in (list, set, frozenset, tuple, Sequence) and isinstance(value, (list, tuple)):
        if not args:
            return value
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return [_enum_names_to_members(a, v) for a, v in zip(args, value, strict=False)]
        return [_enum_names_to_members(args[0], v) for v in value]
    if origin in (dict, Mapping) and isinstance(value, Mapping) and len(args) == 2:
        return {k: _enum_names_to_members(args[1], v) for k, v in value.items()}
    return value


def annotation_name(annotation: Any) -> str:
    """A short readable name for a type annotation: ``list[int]``, ``int | None``, ``Mode``."""
    if annotation is type(None) or annotation is None:
        return "None"
    if annotation is Any:
        return "Any"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return annotation_name(args[0])
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(annotation_name(a) for a in args)
    if origin is not None:
        base = getattr(origin, "__name__", str(origin))
        return f"{base}[{', '.join(annotation_name(a) for a in args)}]" if args else base
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _expected(annotation: Any) -> str:
    stripped = _strip(annotation)
    if typing.get_origin(stripped) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(stripped))
    if _is_enum(stripped):
        names = ", ".join(repr(n) for n in stripped.__members__)
        return f"one of {names} ({stripped.__name__})"
    if _is_model(stripped):
        return f"{stripped.__name__} (a dict of its fields)"
    return annotation_name(annotation)


def _choices(annotation: Any) -> list[str]:
    stripped = _strip(annotation)
    if typing.get_origin(stripped) is Literal:
        return [a for a in typing.get_args(stripped) if isinstance(a, str)]
    if _is_enum(stripped):
        return list(stripped.__members__)
    return []


def _sample(annotation: Any, depth: int = 0) -> str:
    """A one-line YAML example value for ``annotation``."""
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    simple = {int: "0", float: "0.0", str: '"..."', bool: "false"}
    if annotation in simple:
        return simple[annotation]
    if origin is Literal:
        return json.dumps(args[0]) if args else "null"
    if _is_enum(annotation):
        names = list(annotation.__members__)
        return names[0] if names else '"..."'
    if _is_model(annotation):
        if depth > 4:
            return "{...}"
        parts = [
            f"{yaml_key(f.alias or name)}: {_sample(f.annotation, depth + 1)}"
            for name, f in annotation.model_fields.items()
            if f.is_required()
        ]
        return "{" + ", ".join(parts) + "}"
    if origin in (list, set, frozenset, tuple, Sequence):
        return f"[{_sample(args[0], depth + 1)}]" if args else "[]"
    if origin in (dict, Mapping):
        return f"{{key: {_sample(args[1], depth + 1)}}}" if len(args) == 2 else "{}"
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in args if a is not type(None)), depth + 1)
    return '"..."'


def _model_field(model: type[BaseModel], key: Any) -> pydantic.fields.FieldInfo | None:
    field = model.model_fields.get(key) if isinstance(key, str) else None
    if field is not None:
        return field
    return next((f for f in model.model_fields.values() if f.alias == key), None)


def _walk(model: type[BaseModel], loc: Sequence[Any]) -> tuple[ConfigPath, Any, tuple[Any, ...]]:
    """Follow a pydantic error location through annotations.

    Returns the path as knoll shows it, the annotation found there, and the part of ``loc``
    that could not be followed (a union member's tag, for example).
    """
    annotation: Any = model
    path: list[str | int] = []
    for index, segment in enumerate(loc):
        base = _strip(annotation)
        origin = typing.get_origin(base)
        args = typing.get_args(base)
        if _is_model(base):
            field = _model_field(base, segment)
            if field is None:
                return tuple(path), annotation, tuple(loc[index:])
            annotation = field.annotation
        elif origin in (list, set, frozenset, tuple, Sequence) and isinstance(segment, int):
            if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
                annotation = args[segment] if segment < len(args) else Any
            else:
                annotation = args[0] if args else Any
        elif origin in (dict, Mapping) and segment != "[key]":
            annotation = args[1] if len(args) == 2 else Any
        else:
            return tuple(path), annotation, tuple(loc[index:])
        path.append(segment if isinstance(segment, int) else str(segment))
    return tuple(path), annotation, ()


# Pydantic error types that mean "this is the wrong kind of value" (as opposed to a constraint
# or a custom validator rejecting a value of the right kind).
_KIND_ERRORS = frozenset(
    {
        "literal_error",
        "enum",
        "model_type",
        "model_attributes_type",
        "is_instance_of",
        "none_required",
    }
)


def _translate(
    model: type[BaseModel], error: Mapping[str, Any], prefix: ConfigPath
) -> tuple[ConfigPath, str]:
    kind = str(error["type"])
    loc = tuple(error["loc"])
    value = error.get("input")
    if kind in ("missing", "extra_forbidden") and loc:
        parent_path, parent, rest = _walk(model, loc[:-1])
        name = loc[-1]
        parent_model = _strip(parent)
        if not rest and _is_model(parent_model):
            if kind == "extra_forbidden":
                known = [f.alias or n for n, f in parent_model.model_fields.items()]
                return (*prefix, *parent_path), unknown_field_message(name, known)
            field = _model_field(parent_model, name)
            if field is not None:
                return (*prefix, *parent_path), (
                    f"missing required field {name!r} ({annotation_name(field.annotation)}). "
                    f"Add it, for example: {yaml_key(str(name))}: {_sample(field.annotation)}"
                )
    path, annotation, rest = _walk(model, loc)
    where = (*prefix, *path)
    stripped = _strip(annotation)
    is_union = typing.get_origin(stripped) in (typing.Union, types.UnionType)
    if (rest and is_union) or kind in _KIND_ERRORS or kind.endswith(("_type", "_parsing")):
        message = f"expected {_expected(annotation)}, got {describe_value(value)}"
        choices = _choices(annotation)
        if choices and isinstance(value, str):
            suggestion = did_you_mean(value, choices)
            message += f".{suggestion}" if suggestion else ""
        elif kind == "string_type" and not isinstance(value, (Mapping, list, tuple)):
            message += f". Quote it in YAML to pass a string, for example: {json.dumps(str(value))}"
        return where, message
    return where, f"invalid value {describe_value(value)}: {error['msg']}"


def check_config_class(
    model: type[BaseModel], value: Any, path: ConfigPath, errors: list[str]
) -> Any:
    """Validate run config against a Config class; append knoll-style errors to ``errors``."""
    if isinstance(value, model):
        return value
    if value is None:
        value = {}
    if isinstance(value, BaseModel):
        errors.append(
            f"{format_path(path)}: expected {model.__name__} or a dict of its fields, got a "
            f"{type(value).__name__} instance"
        )
        return value
    if not isinstance(value, Mapping):
        errors.append(
            f"{format_path(path)}: expected {model.__name__} (a dict of its fields), got "
            f"{describe_value(value)}"
        )
        return value
    try:
        return model.model_validate(dict(value))
    except pydantic.ValidationError as failure:
        seen: set[str] = set()
        for error in failure.errors(include_url=False):
            where, message = _translate(model, error, path)
            line = f"{format_path(where)}: {message}"
            if line not in seen:  # one line per union, not one per union member
                seen.add(line)
                errors.append(line)
        return value


def config_class_sample(model: type[BaseModel]) -> str:
    """A one-line YAML example that fills the required fields of ``model``."""
    return _sample(model)


def config_class_default(model: type[BaseModel]) -> tuple[bool, Any]:
    """``(True, instance)`` when ``model`` can be built with no config at all."""
    if any(f.is_required() for f in model.model_fields.values()):
        return False, None
    try:
        return True, model()
    except pydantic.ValidationError:
        return False, None


def config_to_plain(value: Any) -> Any:
    """A Config instance as plain data that validates back to it (enum members by name)."""
    if isinstance(value, BaseModel):
        out = {
            (f.alias or name): config_to_plain(getattr(value, name))
            for name, f in type(value).model_fields.items()
        }
        out.update({k: config_to_plain(v) for k, v in (value.model_extra or {}).items()})
        return out
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Mapping):
        return {k: config_to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [config_to_plain(v) for v in value]
    return value


class _KnollJsonSchema(GenerateJsonSchema):
    """Enum members by name (as run config writes them), defaults as plain data."""

    def enum_schema(self, schema: core_schema.EnumSchema) -> JsonSchemaValue:
        enum_class = schema["cls"]
        out: JsonSchemaValue = {
            "type": "string",
            "enum": list(enum_class.__members__),
            "title": enum_class.__name__,
        }
        return out

    def encode_default(self, dft: Any) -> Any:
        return pydantic_core.to_jsonable_python(config_to_plain(dft))


def _inline_refs(node: Any, definitions: Mapping[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline_refs(item, definitions, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        rest = {k: _inline_refs(v, definitions, stack) for k, v in node.items() if k != "$ref"}
        if name in stack:
            # A recursive Config cannot be inlined; say so instead of looping.
            return {"type": "object", "description": f"recursive {name}", **rest}
        target = _inline_refs(definitions.get(name, {}), definitions, (*stack, name))
        return {**target, **rest}
    return {k: _inline_refs(v, definitions, stack) for k, v in node.items() if k != "$defs"}


def config_class_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a Config class with every ``$ref`` inlined, to embed anywhere."""
    schema = model.model_json_schema(schema_generator=_KnollJsonSchema)
    inlined = _inline_refs(schema, schema.get("$defs", {}), ())
    assert isinstance(inlined, dict)
    return inlined
