"""Config mappings: a job's run config written in a smaller, outer shape of its own."""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from knoll._utils import docstring, source_location
from knoll.defs.config_schema import Field, check_config, is_config_class, normalize_config_schema
from knoll.defs.run_config import RunConfig
from knoll.errors import DefinitionError, InvalidConfigError, UserCodeError

__all__ = ["ConfigMapping", "config_mapping"]


class ConfigMapping:
    """Maps outer config (checked against ``config_schema``) to the job's run config.

    Given as ``@job(config=ConfigMapping(...))``, a run supplies config of the outer shape and
    ``config_fn`` turns it into the ``ops``/``resources`` document the job's ops take.
    ``receive_processed_config_values=False`` passes the outer config as given, without the
    defaults of ``config_schema`` filled in.
    """

    def __init__(
        self,
        config_fn: Callable[[Any], Any],
        config_schema: Any = None,
        receive_processed_config_values: bool | None = None,
        description: str | None = None,
    ) -> None:
        if not callable(config_fn):
            raise DefinitionError(
                f"ConfigMapping needs config_fn, a function from the outer config to run config; "
                f"got {type(config_fn).__name__}."
            )
        self.config_fn = config_fn
        self.config_schema: Field | None = normalize_config_schema(config_schema, "ConfigMapping")
        self.receive_processed_config_values = receive_processed_config_values is not False
        self.description = description
        # the dict a graph's config= was given as (see fixed_node_config), else None
        self.fixed_config: dict[str, Any] | None = None

    def resolve(self, outer: Any, owner: str) -> dict[str, Any]:
        """Check ``outer`` against the schema and map it to a run config document."""
        mapped = self._apply(outer, owner)
        if isinstance(mapped, RunConfig):
            return mapped.to_config_dict()
        if not isinstance(mapped, Mapping):
            raise DefinitionError(
                f"the config_fn of the config mapping of {owner} returned "
                f"{type(mapped).__name__}; return a run config dict (with 'ops' and "
                "'resources') or a RunConfig."
            )
        return dict(mapped)

    def resolve_node_config(
        self, outer: Any, owner: str, path: Sequence[str | int] = ()
    ) -> dict[str, Any]:
        """For a graph's mapping: map ``outer`` to the config of the graph's ops, a dict
        ``{op name: {"config": ...}}`` (what the graph's ``ops:`` entry would hold).

        ``path`` is where ``outer`` sits in the run config, for the errors of its check.
        """
        mapped = self._apply(outer, owner, path)
        if isinstance(mapped, RunConfig):
            mapped = mapped.to_config_dict().get("ops", {})
        if not isinstance(mapped, Mapping):
            raise DefinitionError(
                f"the config_fn of the config mapping of {owner} returned "
                f"{type(mapped).__name__}; return the config of the graph's ops, a dict like "
                "{'my_op': {'config': {...}}}."
            )
        return dict(mapped)

    def _apply(self, outer: Any, owner: str, path: Sequence[str | int] = ()) -> Any:
        value = outer
        if self.config_schema is not None:
            checked = check_config(self.config_schema, outer, path_prefix=path)
            if checked.errors:
                raise InvalidConfigError(f"the config mapping of {owner}", checked.errors)
            if self.receive_processed_config_values:
                value = checked.value
        try:
            return self.config_fn(value)
        except InvalidConfigError:
            raise
        except Exception as exc:
            raise UserCodeError(
                f"the config_fn of the config mapping of {owner} raised "
                f"{type(exc).__name__}: {exc}",
                exc,
            ) from exc


def fixed_node_config(node_config: Mapping[str, Any], owner: str) -> ConfigMapping:
    """A graph's ``config=`` given as a dict: the fixed config of its ops, as a mapping that
    takes no outer config (as Dagster turns such a dict into a mapping)."""
    if not all(isinstance(key, str) for key in node_config):
        raise DefinitionError(
            f"config= of {owner} must be a dict keyed by the names of its ops, like "
            "{'my_op': {'config': {...}}}, or a ConfigMapping."
        )
    fixed = copy.deepcopy(dict(node_config))

    def config_fn(_: Any) -> dict[str, Any]:
        return copy.deepcopy(fixed)

    mapping = ConfigMapping(config_fn, description=f"the fixed config of the ops of {owner}")
    mapping.fixed_config = fixed
    return mapping


def job_config_of_graph(mapping: ConfigMapping, owner: str) -> ConfigMapping:
    """The job config of ``graph.to_job()`` for a graph with a config mapping: the run config's
    ``ops: {config: ...}`` is the graph's outer config, mapped to its ops' config."""

    def config_fn(document: Any) -> dict[str, Any]:
        given = dict(document or {})
        ops = given.pop("ops", None) or {}
        if not isinstance(ops, Mapping) or set(ops) - {"config"}:
            raise InvalidConfigError(
                f"the run config of {owner}",
                [
                    f"at path ops: {owner} configures its ops through its config mapping, so "
                    "the run config takes ops: {config: ...}, the graph's own config"
                ],
            )
        return {**given, "ops": mapping.resolve_node_config(ops.get("config"), owner)}

    job_mapping = ConfigMapping(config_fn, receive_processed_config_values=False)
    job_mapping.description = mapping.description
    return job_mapping


@overload
def config_mapping(config_fn: Callable[[Any], Any], /) -> ConfigMapping: ...


@overload
def config_mapping(
    *,
    config_schema: Any = None,
    receive_processed_config_values: bool | None = None,
) -> Callable[[Callable[[Any], Any]], ConfigMapping]: ...


def config_mapping(
    config_fn: Callable[[Any], Any] | None = None,
    /,
    *,
    config_schema: Any = None,
    receive_processed_config_values: bool | None = None,
) -> ConfigMapping | Callable[[Callable[[Any], Any]], ConfigMapping]:
    """Make a ``ConfigMapping`` of the decorated function, bare or with arguments.

    The function takes one parameter, the outer config. When that parameter is annotated with
    a ``Config`` class, the class is the mapping's schema and the function receives an instance
    of it; otherwise ``config_schema=`` gives the schema (none: any config is passed on).
    """

    def decorate(fn: Callable[[Any], Any]) -> ConfigMapping:
        if not callable(fn):
            raise DefinitionError(
                f"@config_mapping decorates a function of the outer config; got "
                f"{type(fn).__name__}."
            )
        params = list(inspect.signature(fn).parameters.values())
        owner = f"config mapping {getattr(fn, '__name__', repr(fn))!r}"
        if len(params) != 1:
            raise DefinitionError(
                f"{owner} ({source_location(fn)}) takes {len(params)} parameters; a config "
                "mapping takes exactly one, the outer config: def mapping(config): ..."
            )
        annotation = _resolved_annotation(fn, params[0])
        if is_config_class(annotation):
            if config_schema is not None:
                raise DefinitionError(
                    f"{owner} ({source_location(fn)}) has both config_schema= and a parameter "
                    f"annotated with the Config class {annotation.__name__}; keep one (the "
                    "class is the schema)."
                )
            return ConfigMapping(fn, config_schema=annotation, description=docstring(fn))
        return ConfigMapping(
            fn,
            config_schema=config_schema,
            receive_processed_config_values=receive_processed_config_values,
            description=docstring(fn),
        )

    if config_fn is not None:
        return decorate(config_fn)
    return decorate


def _resolved_annotation(fn: Callable[..., Any], param: inspect.Parameter) -> Any:
    annotation = param.annotation
    if isinstance(annotation, str):  # from __future__ import annotations
        try:
            annotation = typing.get_type_hints(fn).get(param.name, annotation)
        except (NameError, TypeError):
            return annotation
    return annotation
