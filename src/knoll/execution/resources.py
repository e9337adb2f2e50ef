"""Initialising a run's resources: config, EnvVars, dependency order, setup and teardown.

:func:`build_resources` is what the execution core enters around a run. It checks every
resource's config first (reporting all errors at once), resolves ``EnvVar`` fields, then sets
resources up so that a resource's dependencies come before it, each once, and tears them down
in reverse order when the run ends, whether it succeeded or not.

Nothing here imports pydantic: a ``ConfigurableResource`` can only exist once its module (which
does) has been imported, so that module is looked up in ``sys.modules``.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from knoll._utils import check_name, did_you_mean
from knoll.defs.config_schema import (
    ConfigPath,
    check_config,
    config_json_schema,
    format_path,
    unknown_field_message,
)
from knoll.defs.io_manager import IOManager, IOManagerDefinition, is_io_manager
from knoll.defs.resource_definition import (
    DEFAULT_LOGGER,
    InitResourceContext,
    LoggerLike,
    ResourceDefinition,
    Resources,
)
from knoll.errors import CycleError, DefinitionError, InvalidConfigError, UserCodeError

if TYPE_CHECKING:
    from knoll.defs.resource import ConfigurableResource

__all__ = [
    "Resources",
    "build_resources",
    "check_resource_config",
    "check_resource_dependencies",
    "coerce_resource",
    "resource_config_schema",
    "resource_dependencies",
    "resource_snapshot",
]

_CONFIGURABLE_MODULE = "knoll.defs.resource"
T = TypeVar("T")


def _is_configurable(value: object) -> TypeGuard[ConfigurableResource]:
    if _CONFIGURABLE_MODULE not in sys.modules:
        return False
    from knoll.defs.resource import ConfigurableResource

    return isinstance(value, ConfigurableResource)


def _is_configurable_class(value: object) -> bool:
    if not isinstance(value, type) or _CONFIGURABLE_MODULE not in sys.modules:
        return False
    from knoll.defs.resource import ConfigurableResource

    return issubclass(value, ConfigurableResource)


# --- the per-resource questions the rest of knoll asks ------------------------------------------


def coerce_resource(key: str, value: object) -> object:
    """Check a resource key and value as given to ``Definitions(resources=...)``; return the value.

    Any object is a valid resource; a resource *class* given instead of an instance is not.
    """
    check_name(key, "resource key")
    if isinstance(value, type) and (
        _is_configurable_class(value) or issubclass(value, (IOManager, ResourceDefinition))
    ):
        raise DefinitionError(
            f"resource {key!r} is the class {value.__name__}, not an instance of it: write "
            f"{key!r}: {value.__name__}(...) to give it its fields."
        )
    return value


def resource_config_schema(value: object) -> object | None:
    """What run config for this resource is checked against; ``None``: it takes no config.

    A ``ConfigurableResource`` gives its class (a pydantic model whose field values set in
    Python act as defaults); a function-style resource its normalised ``config_schema``.
    Use :func:`check_resource_config` to check run config.
    """
    if _is_configurable(value):
        return type(value)
    if isinstance(value, ResourceDefinition):
        return value.config_schema
    return None


def resource_dependencies(value: object) -> Sequence[str]:
    """The resource keys ``value`` requires: its ``required_resource_keys``, and those of the
    function-style resources held in its fields."""
    keys: set[str] = set()
    pending = [value]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ResourceDefinition):
            keys.update(current.required_resource_keys)
        elif _is_configurable(current):
            from knoll.defs.resource import nested_resources

            pending.extend(nested for _, nested in nested_resources(current))
    return sorted(keys)


def _describe(value: object) -> str:
    if isinstance(value, ResourceDefinition):
        return f"{type(value).__name__} {value.name!r}"
    return type(value).__name__


# --- the dependency graph ------------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    label: str  # the key, or "holder.field" for a resource that only lives in a field
    key: str | None
    value: object
    config_path: ConfigPath
    deps: list[_Node] = field(default_factory=list)
    # (field name, node) for the resources a ConfigurableResource holds in its fields
    field_deps: list[tuple[str, _Node]] = field(default_factory=list)


def _plan(resources: Mapping[str, object], selected: Sequence[str]) -> list[_Node]:
    """The nodes needed for ``selected`` and their dependencies, dependencies first."""
    planner = _Planner(resources)
    for key in selected:
        planner.visit_key(key)
    return planner.order


class _Planner:
    """A depth-first walk of resources, their required keys and their resource fields."""

    def __init__(self, resources: Mapping[str, object]) -> None:
        self.resources = resources
        self.key_of_object: dict[int, str] = {}
        for key, value in resources.items():
            self.key_of_object.setdefault(id(value), key)
        self.done: dict[object, _Node] = {}
        self.visiting: list[tuple[object, str]] = []
        self.order: list[_Node] = []

    def visit_key(self, key: str) -> _Node:
        return self.visit(("key", key), key, key, self.resources[key], ("resources", key, "config"))

    def visit(
        self, node_id: object, label: str, key: str | None, value: object, path: ConfigPath
    ) -> _Node:
        if node_id in self.done:
            return self.done[node_id]
        ids = [i for i, _ in self.visiting]
        if node_id in ids:
            loop = [name for _, name in self.visiting[ids.index(node_id) :]] + [label]
            raise CycleError(
                f"resources depend on each other in a loop: {' -> '.join(loop)}. Remove one of "
                "these dependencies (required_resource_keys or a resource field)."
            )
        self.visiting.append((node_id, label))
        node = _Node(label, key, value, path)
        if isinstance(value, ResourceDefinition):
            self._add_required(node, value)
        elif _is_configurable(value):
            self._add_fields(node, value)
        self.visiting.pop()
        self.done[node_id] = node
        self.order.append(node)
        return node

    def _add_required(self, node: _Node, value: ResourceDefinition) -> None:
        resources, label = self.resources, node.label
        for required in sorted(value.required_resource_keys):
            if required not in resources:
                available = ", ".join(resources) or "none"
                raise DefinitionError(
                    f"resource {label!r} requires resource {required!r}, which is not "
                    f"provided. Available: {available}.{did_you_mean(required, resources)} "
                    f"Add {required!r} to the resources, or remove it from the "
                    f"required_resource_keys of {label!r}."
                )
            node.deps.append(self.visit_key(required))

    def _add_fields(self, node: _Node, value: ConfigurableResource) -> None:
        from knoll.defs.resource import nested_resources

        for field_name, nested in nested_resources(value):
            shared_key = self.key_of_object.get(id(nested))
            if shared_key is not None:
                dep = self.visit_key(shared_key)
            else:
                dep = self.visit(
                    ("object", id(nested)),
                    f"{node.label}.{field_name}",
                    None,
                    nested,
                    (*node.config_path, field_name),
                )
            node.deps.append(dep)
            node.field_deps.append((field_name, dep))


def check_resource_dependencies(resources: Mapping[str, object]) -> None:
    """Raise ``DefinitionError`` for a missing required resource key, ``CycleError`` for a loop."""
    for key, value in resources.items():
        coerce_resource(key, value)
    _plan(resources, list(resources))


def _select(resources: Mapping[str, object], only: Collection[str] | None) -> list[str]:
    if only is None:
        return list(resources)
    missing = [key for key in only if key not in resources]
    if missing:
        available = ", ".join(resources) or "none"
        raise DefinitionError(
            f"resource {missing[0]!r} is required but not provided. Available: {available}."
            f"{did_you_mean(missing[0], resources)} Add it to the resources (for example in "
            "Definitions(resources=...))."
        )
    return [key for key in resources if key in only]


# --- config ------------------------------------------------------------------------------------


def _configure(
    nodes: Sequence[_Node],
    resources: Mapping[str, object],
    resource_config: Mapping[str, Any],
    *,
    resolve_env: bool,
) -> tuple[dict[int, object], list[str]]:
    """Check every node's config. Returns the prepared value or config per node, and errors."""
    errors: list[str] = []
    for key in resource_config:
        if key not in resources:
            errors.append(
                f"{format_path(('resources',))}: "
                + unknown_field_message(key, list(resources), "resource")
            )
    prepared: dict[int, object] = {}
    for node in nodes:
        run_config = resource_config.get(node.key) if node.key is not None else None
        value = node.value
        if _is_configurable(value):
            from knoll.defs.resource import configure_for_run

            if value.is_configured_at_launch and node.key is None:
                holder, _, field_name = node.label.rpartition(".")
                raise DefinitionError(
                    f"resource {holder!r}, field {field_name!r} holds "
                    f"{type(value).__name__}.configure_at_launch(), which only run config can "
                    "complete: give that object its own key in the resources, for example "
                    f"resources={{'{field_name}': res, '{holder}': ...({field_name}=res)}}."
                )
            fresh, problems = configure_for_run(
                value,
                run_config,
                label=node.label,
                config_path=node.config_path,
                resolve_env=resolve_env,
            )
            errors.extend(problems)
            prepared[id(node)] = fresh
        elif isinstance(value, ResourceDefinition):
            if value.config_schema is None:
                if run_config is not None:
                    errors.append(
                        f"{format_path(node.config_path)}: resource {node.label!r} takes no "
                        f"config (its function {value.name!r} declares no config_schema). "
                        "Remove this config or add a config_schema."
                    )
                prepared[id(node)] = None
                continue
            checked = check_config(value.config_schema, run_config, path_prefix=node.config_path)
            errors.extend(checked.errors)
            prepared[id(node)] = checked.value
        else:
            if run_config is not None:
                errors.append(
                    f"{format_path(node.config_path)}: resource {node.label!r} is a plain Python "
                    f"object ({type(value).__name__}), which takes no config. Remove this config."
                )
            prepared[id(node)] = value
    return prepared, errors


def _raise_config_errors(errors: Sequence[str], nodes: Sequence[_Node]) -> None:
    if not errors:
        return
    paths = {n.label: format_path(n.config_path) for n in nodes if n.key is not None}
    involved = {
        label
        for label, path in paths.items()
        for error in errors
        if error.startswith((f"{path}:", f"{path}["))
    }
    everything_placed = all(any(e.startswith(paths[k]) for k in involved) for e in errors)
    if len(involved) == 1 and everything_placed:
        raise InvalidConfigError(f"resource {involved.pop()!r}", errors)
    raise InvalidConfigError("resources", errors)


def check_resource_config(
    resources: Mapping[str, object],
    resource_config: Mapping[str, Any] | None = None,
    *,
    only: Collection[str] | None = None,
) -> None:
    """Raise the ``InvalidConfigError`` that ``build_resources`` would raise for the config of
    ``resources``, without setting any of them up (``EnvVar`` fields are not read: the
    environment a run starts in may differ)."""
    for key, value in resources.items():
        coerce_resource(key, value)
    nodes = _plan(resources, _select(resources, only))
    _, errors = _configure(nodes, resources, resource_config or {}, resolve_env=False)
    _raise_config_errors(errors, nodes)


# --- setup and teardown --------------------------------------------------------------------------


@contextlib.contextmanager
def build_resources(
    resources: Mapping[str, object],
    *,
    resource_config: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    log: LoggerLike | None = None,
    only: Collection[str] | None = None,
) -> Iterator[Resources]:
    """Initialise ``resources`` for a run, yield them, and tear them down on exit.

    ``resource_config`` maps a resource key to its run config (``resources:<key>:config``).
    ``only`` limits initialisation to those keys and what they depend on. Config errors raise
    ``InvalidConfigError`` (all of them at once) before any resource is set up; an exception
    from a resource's own code raises ``UserCodeError`` naming the resource.
    """
    logger: LoggerLike = log if log is not None else DEFAULT_LOGGER
    for key, value in resources.items():
        coerce_resource(key, value)
    nodes = _plan(resources, _select(resources, only))
    prepared, errors = _configure(nodes, resources, resource_config or {}, resolve_env=True)
    _raise_config_errors(errors, nodes)

    teardown_errors: list[UserCodeError] = []
    teardowns: list[tuple[str, Callable[[], object]]] = []
    try:
        ready: dict[int, object] = {}
        for node in nodes:
            ready[id(node)] = _initialise(
                node, prepared[id(node)], ready, teardowns, log=logger, run_id=run_id
            )
        result = Resources(
            {node.key: ready[id(node)] for node in nodes if node.key is not None}, "this run"
        )
        result.teardown_errors = teardown_errors
        yield result
    finally:
        _teardown(teardowns, logger, teardown_errors)


def _initialise(
    node: _Node,
    prepared: object,
    ready: Mapping[int, object],
    teardowns: list[tuple[str, Callable[[], object]]],
    *,
    log: LoggerLike,
    run_id: str | None,
) -> object:
    value = node.value
    if isinstance(value, ResourceDefinition):
        deps = Resources(
            {dep.label: ready[id(dep)] for dep in node.deps},
            f"resource {node.label!r}",
            hint="Add it to the required_resource_keys of the resource.",
        )
        context = InitResourceContext(prepared, deps, log=log, run_id=run_id, resource_def=value)
        made = _call_user(node.label, lambda: _call_resource_fn(value, context, node, teardowns))
        if isinstance(value, IOManagerDefinition) and not is_io_manager(made):
            raise DefinitionError(
                f"IO manager {node.label!r}: its function {value.name!r} returned "
                f"{_describe(made)}, not an IOManager. Return an instance of an IOManager "
                "subclass (with handle_output and load_input)."
            )
        log.debug(f"resource {node.label!r} initialized")
        return made
    if _is_configurable(prepared):
        from knoll.defs.resource import is_resource_field

        instance = prepared
        updates = {name: ready[id(dep)] for name, dep in node.field_deps}
        if updates:
            instance = instance.model_copy(update=updates)
        cls = type(instance)
        config = {
            name: instance.__dict__.get(name)
            for name in cls.model_fields
            if not is_resource_field(cls, name) and name not in updates
        }
        context = InitResourceContext(
            config,
            Resources({}, f"resource {node.label!r}"),
            log=log,
            run_id=run_id,
            resource_def=node.value,
        )
        instance._knoll_context = context
        manager = instance.yield_for_execution(context)
        made = _call_user(node.label, manager.__enter__)
        teardowns.append((node.label, lambda: manager.__exit__(None, None, None)))
        log.debug(f"resource {node.label!r} initialized")
        return made
    return prepared


def _call_resource_fn(
    definition: ResourceDefinition,
    context: InitResourceContext,
    node: _Node,
    teardowns: list[tuple[str, Callable[[], object]]],
) -> object:
    fn = definition.resource_fn
    result = fn(context) if definition.takes_context else fn()
    if not inspect.isgenerator(result):
        return result
    try:
        made = next(result)
    except StopIteration:
        raise DefinitionError(
            f"resource {node.label!r}: its function {definition.name!r} returned without "
            "yielding. A generator resource must yield its value exactly once."
        ) from None
    teardowns.append((node.label, lambda: _finish_generator(result, definition, node)))
    return made


def _finish_generator(
    generator: Generator[object, Any, object], definition: ResourceDefinition, node: _Node
) -> None:
    # Resume rather than throw the run's exception in: the code after `yield` is the teardown
    # and must run whether or not the run failed.
    try:
        next(generator)
    except StopIteration:
        return
    generator.close()
    raise DefinitionError(
        f"resource {node.label!r}: its function {definition.name!r} yielded more than once. "
        "A generator resource must yield its value exactly once."
    )


def _call_user(label: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except DefinitionError:
        raise
    except Exception as exc:
        raise UserCodeError(
            f"error while initializing resource {label!r}: {type(exc).__name__}: {exc}", exc
        ) from exc


def _teardown(
    teardowns: list[tuple[str, Callable[[], object]]],
    log: LoggerLike,
    errors: list[UserCodeError],
) -> None:
    while teardowns:
        label, finish = teardowns.pop()
        try:
            finish()
        except Exception as exc:
            error = UserCodeError(
                f"error while tearing down resource {label!r}: {type(exc).__name__}: {exc}", exc
            )
            error.__cause__ = exc
            errors.append(error)
            log.error(str(error))


# --- snapshots -----------------------------------------------------------------------------------


def resource_snapshot(
    key: str, value: object, *, resources: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """The JSON description of a resource shown by the UI; secrets are never included.

    ``EnvVar`` fields appear as ``{"env_var": "NAME"}``. Pass ``resources`` (the whole mapping)
    to name the keys of the resources this one holds in its fields.
    """
    key_of_object = {id(v): k for k, v in reversed(list((resources or {}).items()))}

    def key_of(obj: object) -> str | None:
        return key_of_object.get(id(obj))

    snapshot: dict[str, Any] = {
        "key": key,
        "kind": "object",
        "type": _class_path(value),
        "description": None,
        "is_io_manager": is_io_manager(value) or isinstance(value, IOManagerDefinition),
        "configured_at_launch": False,
        "config_fields": [],
        "config_schema": None,
        "dependencies": [],
        "required_resource_keys": list(resource_dependencies(value)),
    }
    if _is_configurable(value):
        from knoll.defs.resource import snapshot_fields

        cls = type(value)
        config_fields, dependencies = snapshot_fields(value, key_of)
        doc = cls.__dict__.get("__doc__")
        snapshot.update(
            kind="configurable",
            description=inspect.cleandoc(doc) if isinstance(doc, str) else None,
            configured_at_launch=value.is_configured_at_launch,
            config_fields=config_fields,
            dependencies=dependencies,
        )
    elif isinstance(value, ResourceDefinition):
        fn = value.resource_fn
        snapshot.update(
            kind="function",
            type=f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', value.name)}",
            description=value.description,
            config_schema=(
                config_json_schema(value.config_schema) if value.config_schema else None
            ),
            dependencies=[
                {"field": None, "key": k, "type": _class_path(resources[k])}
                for k in sorted(value.required_resource_keys)
                if resources is not None and k in resources
            ],
        )
    return snapshot


def _class_path(value: object) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"
