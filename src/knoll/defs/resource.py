"""``ConfigurableResource``: a resource declared as a class with typed, validated fields.

Fields hold config (``host: str``), secrets read when a run starts (``password: str =
EnvVar("DB_PASSWORD")``) and other resources (``client: ApiClient`` or
``ResourceDependency[T]``). The class's lifecycle hooks run once per run. This module is the
pydantic side of resources; ``knoll/__init__.py`` imports it lazily.
"""

from __future__ import annotations

import contextlib
import enum
import os
import types
import typing
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any, Self, TypeAlias, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SecretBytes,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_core import core_schema

from knoll._utils import did_you_mean
from knoll.defs.config import annotation_name, check_config_class, strict_scalar_fields
from knoll.defs.config_schema import ConfigPath, describe_value, format_path
from knoll.defs.env_var import AnyEnvVar, EnvVar, IntEnvVar, is_env_var
from knoll.defs.io_manager import IOManager, is_io_manager
from knoll.defs.resource_definition import (
    InitResourceContext,
    ResourceDefinition,
)
from knoll.errors import DefinitionError, EnvVarNotSetError, InvalidInvocationError

T = TypeVar("T")


class _ResourceDependencyMarker:
    """Marks a field as holding another resource of any type; its value is not validated."""

    def __get_pydantic_core_schema__(
        self, source: object, handler: Callable[[object], core_schema.CoreSchema]
    ) -> core_schema.CoreSchema:
        return core_schema.any_schema()

    def __repr__(self) -> str:
        return "ResourceDependency"


ResourceDependency: TypeAlias = Annotated[T, _ResourceDependencyMarker()]
"""A field holding another resource whose type is a plain class: ``conn: ResourceDependency[Conn]``.

The field may hold the object itself, a ``ResourceDefinition`` or a ``ConfigurableResource``;
knoll initialises the latter two before the resource that holds them.
"""


class _Shown:
    """A value whose repr is fixed text: how a secret field appears in a resource's repr."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class ConfigurableResource(BaseModel):
    """Base class of resources declared with typed fields (a frozen pydantic model).

    Override ``setup_for_execution`` and ``teardown_after_execution`` (or
    ``yield_for_execution``) to manage state for the duration of a run; keep that state in
    pydantic ``PrivateAttr`` attributes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    _knoll_env_vars: dict[str, AnyEnvVar] = PrivateAttr(default_factory=dict)
    _knoll_at_launch: bool = PrivateAttr(default=False)
    _knoll_context: InitResourceContext | None = PrivateAttr(default=None)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if strict_scalar_fields(cls):  # `true` is no int and "10" no number, as in run config
            cls.model_rebuild(force=True, raise_errors=False)

    @model_validator(mode="wrap")
    @classmethod
    def _knoll_capture_env_vars(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # Pydantic turns an EnvVar into a plain str (and EnvVar.int into 0), so the markers
        # are recorded here: they are resolved when a run starts and hide the value in reprs.
        found: dict[str, AnyEnvVar] = {}
        if isinstance(data, Mapping):
            converted = dict(data)
            for name, value in data.items():
                if isinstance(value, EnvVar) and _annotation_kind(cls, name) == "int":
                    converted[name] = found[name] = IntEnvVar(value.env_var_name)
                elif is_env_var(value):
                    found[name] = value
            data = converted
        instance = handler(data)
        if found:
            instance._knoll_env_vars = found
        return instance

    if not typing.TYPE_CHECKING:
        # Hidden from type checkers so that they keep checking the fields pydantic declares.

        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except ValidationError as exc:
                env_fields = {name for name, value in data.items() if is_env_var(value)}
                if not env_fields or any(
                    not e["loc"] or e["loc"][0] not in env_fields for e in exc.errors()
                ):
                    raise
                # A field validator rejected the placeholder an EnvVar stands in for (its name,
                # or 0): the real value is validated when a run starts.
                built = type(self).configure_at_launch(**data)
                for slot in (
                    "__dict__",
                    "__pydantic_fields_set__",
                    "__pydantic_extra__",
                    "__pydantic_private__",
                ):
                    object.__setattr__(self, slot, getattr(built, slot))
                self._knoll_at_launch = False

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Called once when a run starts, before anything uses the resource."""

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Called once when the run ends, even when it failed."""

    @contextlib.contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[Self]:
        """Set up, hand out the resource for the run, then tear down.

        Override it (as a ``@contextlib.contextmanager``) to keep setup and teardown in one
        place; the default calls ``setup_for_execution`` and ``teardown_after_execution``.
        """
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)

    def get_resource_context(self) -> InitResourceContext:
        """The ``InitResourceContext`` this resource was initialised with for the current run."""
        if self._knoll_context is None:
            raise InvalidInvocationError(
                f"{type(self).__name__}.get_resource_context(): the resource is not initialised "
                "for a run. It is available from setup_for_execution on, in a run."
            )
        return self._knoll_context

    @classmethod
    def configure_at_launch(cls, **values: Any) -> Self:
        """This resource with its fields (except those given here) supplied by run config.

        Run config gives them under ``resources: {key: {config: {...}}}`` when the run starts.
        """
        unknown = [name for name in values if name not in cls.model_fields]
        if unknown:
            fields = ", ".join(cls.model_fields) or "none"
            raise DefinitionError(
                f"{cls.__name__}.configure_at_launch() got unknown field {unknown[0]!r}. "
                f"Fields: {fields}.{did_you_mean(unknown[0], cls.model_fields)}"
            )
        env: dict[str, AnyEnvVar] = {}
        for name, value in values.items():
            if isinstance(value, EnvVar) and _annotation_kind(cls, name) == "int":
                values[name] = env[name] = IntEnvVar(value.env_var_name)
            elif is_env_var(value):
                env[name] = value
        instance = cls.model_construct(**values)
        instance._knoll_env_vars = env
        instance._knoll_at_launch = True
        return instance

    @property
    def is_configured_at_launch(self) -> bool:
        """True for a resource made by ``configure_at_launch()``."""
        return self._knoll_at_launch

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        env = self._knoll_env_vars
        for name, value in super().__repr_args__():
            if name is not None and name in env:
                yield name, _Shown(repr(env[name]))
            else:
                yield name, value

    def __repr__(self) -> str:
        if self._knoll_at_launch:
            args = ", ".join(f"{k}={v!r}" for k, v in self.__repr_args__() if k is not None)
            return f"{type(self).__name__}.configure_at_launch({args})"
        return super().__repr__()


class ConfigurableIOManager(ConfigurableResource, IOManager):
    """An IO manager declared with typed fields: implement ``handle_output`` and ``load_input``."""


class ConfigurableIOManagerFactory(ConfigurableResource):
    """Typed config that makes an IO manager: implement ``create_io_manager(context)``.

    Use it when the IO manager itself is a plain class (or comes from a library) and only its
    settings should be declared as fields. The object ``create_io_manager`` returns is what
    outputs and inputs go through for the run.
    """

    @abstractmethod
    def create_io_manager(self, context: InitResourceContext) -> IOManager:
        """Return the IO manager for one run, built from this object's fields."""

    @contextlib.contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[Any]:
        self.setup_for_execution(context)
        try:
            made = self.create_io_manager(context)
            if not is_io_manager(made):
                raise DefinitionError(
                    f"{type(self).__name__}.create_io_manager returned "
                    f"{type(made).__name__} {made!r}, not an IOManager: return an instance of "
                    "an IOManager subclass (with handle_output and load_input)."
                )
            yield made
        finally:
            self.teardown_after_execution(context)


R = TypeVar("R", bound=ConfigurableResource)


# --- run time: what the execution core calls to configure a resource for one run ---------------


def _unwrap(annotation: object) -> tuple[object, ...]:
    """The types an annotation admits, with ``Annotated`` and ``Optional`` peeled off."""
    if typing.get_origin(annotation) is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        out: list[object] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(_unwrap(arg))
        return tuple(out)
    return (annotation,)


def _annotation_kind(cls: type[BaseModel], name: str) -> str | None:
    """'str' or 'int' when a field holds that scalar type (so an EnvVar fits it), else None."""
    field = cls.model_fields.get(name)
    if field is None:
        return None
    kinds = _unwrap(field.annotation)
    if str in kinds:
        return "str"
    if int in kinds:
        return "int"
    return None


def is_resource_field(cls: type[ConfigurableResource], name: str) -> bool:
    """True when field ``name`` declares another resource rather than config."""
    field = cls.model_fields[name]
    if any(isinstance(m, _ResourceDependencyMarker) for m in field.metadata):
        return True
    return any(
        isinstance(t, type) and issubclass(t, (ConfigurableResource, IOManager))
        for t in _unwrap(field.annotation)
    )


def nested_resources(resource: ConfigurableResource) -> list[tuple[str, object]]:
    """(field, value) for each field holding a resource that knoll must initialise first."""
    out: list[tuple[str, object]] = []
    for name in type(resource).model_fields:
        value = resource.__dict__.get(name)
        if isinstance(value, (ConfigurableResource, ResourceDefinition)):
            out.append((name, value))
    return out


def configure_for_run(
    resource: R,
    run_config: object,
    *,
    label: str,
    config_path: ConfigPath,
    resolve_env: bool = True,
) -> tuple[R | None, list[str]]:
    """A fresh copy of ``resource`` with run config applied and EnvVars resolved.

    Returns the copy and no errors, or None and the config errors (each with its path).
    Raises ``EnvVarNotSetError`` for an EnvVar whose variable is not set. With
    ``resolve_env=False`` the environment is not read and EnvVar fields are assumed valid.
    """
    cls = type(resource)
    values = {name: resource.__dict__[name] for name in resource.model_fields_set}
    env: dict[str, AnyEnvVar] = dict(resource._knoll_env_vars)
    if run_config is not None and not isinstance(run_config, Mapping):
        return None, [
            f"{format_path(config_path)}: expected {cls.__name__} (a dict of its fields), got "
            f"{describe_value(run_config)}"
        ]
    errors = _apply_run_config(cls, run_config or {}, config_path, values, env)
    errors += _read_env_vars(env, values, label, config_path, resolve_env=resolve_env)
    if errors:
        return None, errors
    try:
        fresh = cls.model_validate(values)
    except ValidationError as exc:
        return None, _describe_errors(exc, cls, values, config_path, env, report_env=resolve_env)
    fresh._knoll_env_vars = env
    return fresh, []


def _apply_run_config(
    cls: type[ConfigurableResource],
    run_config: Mapping[Any, object],
    config_path: ConfigPath,
    values: dict[str, Any],
    env: dict[str, AnyEnvVar],
) -> list[str]:
    """Put run config's field values into ``values`` (``{"env": ...}`` ones into ``env``);
    the errors for fields it cannot set."""
    errors: list[str] = []
    for name, value in run_config.items():
        if name in cls.model_fields and is_resource_field(cls, name):
            errors.append(
                f"{format_path((*config_path, name))}: field {name!r} of {cls.__name__} holds a "
                "resource, which run config cannot set. Configure that resource under its own "
                "key instead"
            )
            continue
        env.pop(name, None)
        kind = _annotation_kind(cls, name) if isinstance(name, str) else None
        if kind is not None and _is_env_reference(value):
            var = value["env"]
            env[name] = IntEnvVar(var) if kind == "int" else EnvVar(var)
        else:
            values[name] = value
    return errors


def _read_env_vars(
    env: Mapping[str, AnyEnvVar],
    values: dict[str, Any],
    label: str,
    config_path: ConfigPath,
    *,
    resolve_env: bool,
) -> list[str]:
    """Put each EnvVar field's value from the environment into ``values``; the errors."""
    errors: list[str] = []
    for name, marker in env.items():
        if not resolve_env:
            values[name] = marker  # a placeholder of the field's type
            continue
        raw = os.environ.get(marker.env_var_name)
        if raw is None:
            raise EnvVarNotSetError(marker.env_var_name, f"resource {label!r}, field {name!r}")
        if isinstance(marker, IntEnvVar):
            try:
                values[name] = int(raw.strip())
            except ValueError:
                errors.append(
                    f"{format_path((*config_path, name))}: environment variable "
                    f"{marker.env_var_name!r} must hold an integer (for example 5432); its "
                    "value (not shown) is not one"
                )
        else:
            values[name] = raw
    return errors


def _is_env_reference(value: object) -> typing.TypeGuard[Mapping[str, str]]:
    """Run config's way of naming an environment variable: ``{"env": "DB_PASSWORD"}``."""
    return (
        isinstance(value, Mapping)
        and len(value) == 1
        and isinstance(value.get("env"), str)
        and bool(value["env"])
    )


def _describe_errors(
    exc: ValidationError,
    cls: type[BaseModel],
    values: Mapping[str, object],
    config_path: ConfigPath,
    env: Mapping[str, AnyEnvVar],
    *,
    report_env: bool,
) -> list[str]:
    """Knoll-style config errors; a field read from the environment never shows its value."""
    errors: list[str] = []
    check_config_class(cls, values, config_path, errors)
    secret_paths = {name: format_path((*config_path, name)) for name in env}
    out = [
        line
        for line in errors
        if not any(line.startswith((f"{p}:", f"{p}[")) for p in secret_paths.values())
    ]
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if report_env and loc and loc[0] in env:
            marker = env[str(loc[0])]
            where = format_path((*config_path, *(str(p) for p in loc)))
            out.append(
                f"{where}: the value of {marker!r} is not valid: {error['msg']} (value not shown)"
            )
    return out


# --- snapshots ---------------------------------------------------------------------------------


def snapshot_fields(
    resource: ConfigurableResource, key_of: Callable[[object], str | None]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(config fields, resource dependencies) of ``resource`` as JSON data, secrets hidden."""
    cls = type(resource)
    config: list[dict[str, Any]] = []
    dependencies: list[dict[str, Any]] = []
    env = resource._knoll_env_vars
    for name, field in cls.model_fields.items():
        has_value = name in resource.__dict__
        value = resource.__dict__.get(name)
        if is_resource_field(cls, name) or isinstance(
            value, (ConfigurableResource, ResourceDefinition)
        ):
            dependencies.append({"field": name, "key": key_of(value), "type": _class_path(value)})
            continue
        entry: dict[str, Any] = {
            "name": name,
            "type": annotation_name(field.annotation),
            "required": field.is_required(),
            "description": field.description,
        }
        if name in env:
            entry["value"] = {"env_var": env[name].env_var_name}
            entry["rendered"] = repr(env[name])
        elif has_value:
            entry["value"], entry["rendered"] = _json_value(value)
        else:
            entry["value"], entry["rendered"] = None, None
        entry["has_value"] = has_value or name in env
        config.append(entry)
    return config, dependencies


def _class_path(value: object) -> str:
    if isinstance(value, ResourceDefinition):
        fn = value.resource_fn
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', value.name)}"
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _json_value(value: object) -> tuple[Any, str]:
    """(JSON data, display text) for a config value; pydantic secrets stay masked."""
    if isinstance(value, (SecretStr, SecretBytes)):
        return None, repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value, repr(value)
    if isinstance(value, enum.Enum):
        return _json_value(value.value)[0], repr(value)
    if isinstance(value, BaseModel):
        try:
            return value.model_dump(mode="json"), repr(value)
        except Exception:
            return None, repr(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_value(v)[0] for v in value], repr(value)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v)[0] for k, v in value.items()}, repr(value)
    return None, repr(value)
