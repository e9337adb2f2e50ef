"""The run config document: the config of a whole run, checked against its ops and resources.

Its shape is the one Dagster users know::

    ops:
      my_asset:
        config: {delay: 3}
      outer_graph:
        ops:
          inner_op:
            config: {...}
    resources:
      warehouse:
        config: {url: "..."}
    execution: {...}

A nested graph's op may also be written with its dotted handle (``outer_graph.inner_op``).
A graph with a config mapping (``@graph(config=...)``, ``@graph_asset(config=...)``) takes
``config:`` instead of ``ops:``; its mapping turns that into the config of its ops.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

from knoll._utils import did_you_mean
from knoll._yaml import decode_utf8, parse_yaml
from knoll.defs.config_schema import (
    ConfigClassType,
    ConfigPath,
    Field,
    check_config,
    config_json_schema,
    config_sample,
    config_schema_is_required,
    config_to_plain,
    default_config_value,
    describe_value,
    flow_yaml,
    format_path,
    is_config_class,
    normalize_config_schema,
    unknown_field_message,
    yaml_key,
)
from knoll.errors import InvalidConfigError

TOP_LEVEL_KEYS = ("ops", "resources", "execution", "loggers")
# Keys Dagster allows in an op's entry that knoll has no use for.
_UNSUPPORTED_NODE_KEYS = {
    "inputs": "knoll loads inputs from upstream assets and IO managers, not from run config",
    "outputs": "knoll stores outputs through IO managers, not through run config",
}


@dataclass(frozen=True)
class RunConfig:
    """Run config written in Python: per-op (or asset) and per-resource config.

    ``ops`` maps an op or asset name to its config (a ``Config`` instance or a dict);
    ``resources`` maps a resource key to its config.
    """

    ops: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    execution: Mapping[str, Any] | None = None

    def to_config_dict(self) -> dict[str, Any]:
        """The equivalent YAML-shaped document (``{"ops": {name: {"config": ...}}, ...}``)."""
        out: dict[str, Any] = {}
        if self.ops:
            out["ops"] = _wrap_config_instances(self.ops)
        if self.resources:
            out["resources"] = _wrap_config_instances(self.resources)
        if self.execution is not None:
            out["execution"] = dict(self.execution)
        return out


def _wrap_config_instances(section: Mapping[str, Any]) -> dict[str, Any]:
    # A Config instance stands for its whole entry; dicts are entries (or graphs) already.
    out: dict[str, Any] = {}
    for key, value in section.items():
        if is_config_class(type(value)):
            out[key] = {"config": config_to_plain(value)}
        elif isinstance(value, Mapping):
            out[key] = _wrap_config_instances(value)
        else:
            out[key] = value
    return out


RunConfigInput: TypeAlias = Mapping[str, Any] | RunConfig | None


class GraphConfigMapping(Protocol):
    """What a graph's ``config=`` becomes (a ``ConfigMapping``): its outer schema, and the
    function from outer config to the config of the graph's ops."""

    config_schema: Field | None

    def resolve_node_config(
        self, outer: Any, owner: str, path: Sequence[str | int] = ()
    ) -> dict[str, Any]: ...


_NOT_MAPPED = object()  # the entry of an op whose graph's config mapping could not run

# an entry of the ops section: its value, where it is, and the graph whose mapping wrote it
_Found: TypeAlias = "dict[str, tuple[Any, ConfigPath, str | None]]"


@dataclass(frozen=True)
class ResolvedRunConfig:
    """Run config after validation: resolved config per node (dotted handle) and per resource.

    ``node_config`` holds every node that takes config, with defaults for those the document
    leaves out. ``resource_config`` holds only the resources the document configures.
    """

    node_config: dict[str, Any]
    resource_config: dict[str, Any]
    execution: dict[str, Any]
    raw: dict[str, Any]


class RunConfigSchema:
    """What a job accepts as run config: the config schema of each node and resource."""

    def __init__(
        self,
        node_schemas: Mapping[str, object],
        resource_schemas: Mapping[str, object],
        job_name: str,
        graph_configs: Mapping[str, GraphConfigMapping] | None = None,
        omitted_nodes: frozenset[str] = frozenset(),
    ) -> None:
        self.job_name = job_name
        # nodes of configured graphs that a subset run leaves out: config mapped to them is
        # ignored, as the mapping cannot know what a run selects
        self.omitted_nodes = omitted_nodes
        # graph handle -> its config mapping; outer graphs first
        self.graph_configs = dict(
            sorted((graph_configs or {}).items(), key=lambda item: item[0].count("."))
        )
        self.node_schemas: dict[str, Field | None] = {
            handle: normalize_config_schema(schema, f"op or asset {handle!r}")
            for handle, schema in node_schemas.items()
        }
        self.resource_schemas: dict[str, Field | None] = {
            key: normalize_config_schema(schema, f"resource {key!r}")
            for key, schema in resource_schemas.items()
        }
        # Graph handles ("outer", "outer.mid") that contain nodes, for the nested YAML form.
        self._graphs: set[str] = set()
        for handle in self.node_schemas:
            parts = handle.split(".")
            self._graphs.update(".".join(parts[:i]) for i in range(1, len(parts)))
        self._graphs.update(self.graph_configs)

    @property
    def subject(self) -> str:
        return f"job {self.job_name!r}"

    def validate(self, run_config: RunConfigInput) -> ResolvedRunConfig:
        """Check a run config document; raise one ``InvalidConfigError`` listing every problem."""
        document: Any = (
            run_config.to_config_dict() if isinstance(run_config, RunConfig) else run_config
        )
        if document is None:
            document = {}
        errors: list[str] = []
        if not isinstance(document, Mapping):
            errors.append(
                f"at the root: expected a dict with keys like 'ops' and 'resources', got "
                f"{describe_value(document)}"
            )
            raise InvalidConfigError(self.subject, errors)
        for key in document:
            if key not in TOP_LEVEL_KEYS:
                errors.append(f"at the root: {unknown_field_message(key, TOP_LEVEL_KEYS)}")
        node_config = self._validate_nodes(document.get("ops"), errors)
        resource_config = self._validate_resources(document.get("resources"), errors)
        execution = document.get("execution")
        if execution is not None and not isinstance(execution, Mapping):
            errors.append(
                f"at path execution: expected a dict of executor config, got "
                f"{describe_value(execution)}"
            )
        loggers = document.get("loggers")
        if loggers:
            errors.append(
                "at path loggers: custom loggers in run config are not supported by knoll. "
                "Remove 'loggers'; knoll records every log line as an event of the run."
            )
        if errors:
            raise InvalidConfigError(self.subject, errors)
        return ResolvedRunConfig(
            node_config=node_config,
            resource_config=resource_config,
            execution=dict(execution or {}),
            raw=copy.deepcopy(dict(document)),
        )

    # --- ops ---------------------------------------------------------------------------------

    def _configurable_nodes(self) -> list[str]:
        return [h for h, s in self.node_schemas.items() if s is not None]

    def _collect_entries(
        self,
        section: Any,
        prefix: tuple[str, ...],
        path: ConfigPath,
        found: _Found,
        errors: list[str],
        via: str | None = None,
    ) -> None:
        if section is None:
            return
        if not isinstance(section, Mapping):
            errors.append(
                f"{format_path(path)}: expected a dict of op or asset names, got "
                f"{describe_value(section)}"
            )
            return
        for key, entry in section.items():
            handle = ".".join((*prefix, str(key)))
            entry_path = (*path, str(key))
            if via is not None and handle in self.omitted_nodes:
                continue
            mapped_by = self._mapping_graph(handle)
            if mapped_by is not None and via is None:
                errors.append(
                    f"{format_path(entry_path)}: {handle!r} is configured by the config mapping "
                    f"of graph {mapped_by!r}; give the graph its config instead, for example: "
                    f"{yaml_key(mapped_by.rsplit('.', maxsplit=1)[-1])}: {{config: ...}}"
                )
                continue
            if handle in self.node_schemas:
                if handle in found:
                    errors.append(
                        f"{format_path(entry_path)}: op or asset {handle!r} is configured twice "
                        f"(also {format_path(found[handle][1])}). Keep one of them."
                    )
                    continue
                found[handle] = (entry, entry_path, via)
            elif handle in self.graph_configs:
                self._collect_mapped_graph(handle, entry, entry_path, found, errors)
            elif handle in self._graphs:
                self._collect_graph(handle, entry, entry_path, found, errors, via)
            else:
                errors.append(f"{format_path(path)}: {self._unknown_node(str(key), prefix)}")

    def _collect_graph(
        self,
        handle: str,
        entry: Any,
        path: ConfigPath,
        found: _Found,
        errors: list[str],
        via: str | None = None,
    ) -> None:
        if entry is None:
            return
        inner = sorted(
            h.removeprefix(handle + ".") for h in self.node_schemas if h.startswith(handle + ".")
        )
        example = f"{{ops: {{{yaml_key(inner[0])}: {{config: ...}}}}}}"
        if not isinstance(entry, Mapping):
            errors.append(
                f"{format_path(path)}: {handle!r} is a graph; configure its ops under 'ops:', "
                f"for example: {yaml_key(handle.rsplit('.', maxsplit=1)[-1])}: {example}"
            )
            return
        for key in entry:
            if key == "ops":
                continue
            if key == "config":
                message = (
                    f"graph {handle!r} takes no config; configure its ops under 'ops:', "
                    f"for example: {yaml_key(handle.rsplit('.', maxsplit=1)[-1])}: {example}"
                )
            else:
                message = unknown_field_message(key, ["ops"], what="key")
            errors.append(f"{format_path(path)}: {message}")
        self._collect_entries(
            entry.get("ops"), tuple(handle.split(".")), (*path, "ops"), found, errors, via
        )

    def _mapping_graph(self, handle: str) -> str | None:
        """The innermost graph with a config mapping that holds ``handle``, if any."""
        found = None
        for graph in self.graph_configs:
            if handle.startswith(graph + "."):
                found = graph
        return found

    def _collect_mapped_graph(
        self,
        handle: str,
        entry: Any,
        path: ConfigPath,
        found: _Found,
        errors: list[str],
    ) -> None:
        """Apply the config mapping of graph ``handle`` to its ``config:`` entry."""
        found[handle] = (entry, path, None)  # marks the mapping as applied
        outer = None
        if entry is not None:
            if not isinstance(entry, Mapping):
                errors.append(
                    f"{format_path(path)}: graph {handle!r} has a config mapping; give its "
                    f"config under 'config:', for example: "
                    f"{yaml_key(handle.rsplit('.', maxsplit=1)[-1])}: {{config: ...}}"
                )
                return
            for key in entry:
                if key == "ops":
                    errors.append(
                        f"{format_path(path)}: graph {handle!r} configures its ops through its "
                        "config mapping, so it takes 'config:', not 'ops:'. Move the values "
                        "the mapping needs under 'config:'."
                    )
                elif key != "config":
                    errors.append(f"{format_path(path)}: {unknown_field_message(key, ['config'])}")
            outer = entry.get("config")
        mapping = self.graph_configs[handle]
        try:
            mapped = mapping.resolve_node_config(outer, f"graph {handle!r}", (*path, "config"))
        except InvalidConfigError as exc:
            errors.extend(exc.errors)
            # its ops get no config: one error for the graph, not one more per op
            for inner in self.node_schemas:
                if inner.startswith(handle + "."):
                    found.setdefault(inner, (_NOT_MAPPED, path, handle))
            return
        self._collect_entries(
            mapped, tuple(handle.split(".")), (*path, "ops"), found, errors, via=handle
        )

    def _unknown_node(self, name: str, prefix: tuple[str, ...]) -> str:
        level = ".".join(prefix)
        candidates: set[str] = set()
        for handle in [*self.node_schemas, *self._graphs]:
            if level and not handle.startswith(level + "."):
                continue
            rest = handle.removeprefix(level + ".") if level else handle
            candidates.add(rest)
            candidates.add(rest.split(".")[0])
        message = f"unknown op or asset {name!r}.{did_you_mean(name, sorted(candidates))}"
        configurable = [
            h for h in self._configurable_nodes() if not level or h.startswith(level + ".")
        ]
        where = f" in graph {level!r}" if level else ""
        if configurable:
            listed = ", ".join(repr(h) for h in configurable)
            return f"{message} Ops and assets that take config{where}: {listed}."
        return f"{message} No op or asset in {self.subject} takes config."

    def _validate_nodes(self, section: Any, errors: list[str]) -> dict[str, Any]:
        found: _Found = {}
        self._collect_entries(section, (), ("ops",), found, errors)
        for graph in self.graph_configs:  # a mapping applies to the graph's default config too
            if graph not in found:
                at: ConfigPath = ("ops", *graph.split("."))
                self._collect_mapped_graph(graph, None, at, found, errors)
        resolved: dict[str, Any] = {}
        for handle, schema in self.node_schemas.items():
            entry, path, via = found.get(handle, (None, ("ops", handle), None))
            if entry is _NOT_MAPPED:
                continue
            via = via or self._mapping_graph(handle)
            what = f"op or asset {handle!r}"
            own: list[str] = []
            value = self._validate_entry(entry, path, schema, what, own)
            if via is not None:
                own = [f"{e} (in the config the mapping of graph {via!r} returned)" for e in own]
            errors.extend(own)
            if schema is not None:
                resolved[handle] = value
        return resolved

    # --- resources ---------------------------------------------------------------------------

    def _validate_resources(self, section: Any, errors: list[str]) -> dict[str, Any]:
        path: ConfigPath = ("resources",)
        given: dict[str, Any] = {}
        if section is not None and not isinstance(section, Mapping):
            errors.append(
                f"at path resources: expected a dict of resource keys, got "
                f"{describe_value(section)}"
            )
        elif section is not None:
            for key, entry in section.items():
                if key in self.resource_schemas:
                    given[key] = entry
                    continue
                suggestion = did_you_mean(str(key), list(self.resource_schemas))
                message = f"unknown resource {key!r}.{suggestion}"
                configurable = [k for k, s in self.resource_schemas.items() if s is not None]
                if configurable:
                    listed = ", ".join(repr(k) for k in configurable)
                    message += f" Resources that take config: {listed}."
                else:
                    message += f" No resource of {self.subject} takes config."
                errors.append(f"{format_path(path)}: {message}")
        resolved: dict[str, Any] = {}
        for key, schema in self.resource_schemas.items():
            entry = given.get(key)
            value = self._validate_entry(entry, (*path, key), schema, f"resource {key!r}", errors)
            written = entry.get("config") if isinstance(entry, Mapping) else None
            if schema is None or written is None:
                continue
            if isinstance(schema.config_type, ConfigClassType):
                # A Config-class resource merges run config into the values given in code, so
                # it gets what was written rather than an instance with every default filled.
                resolved[key] = copy.deepcopy(written)
            else:
                resolved[key] = value
        return resolved

    # --- one entry ---------------------------------------------------------------------------

    def _validate_entry(
        self,
        entry: Any,
        path: ConfigPath,
        schema: Field | None,
        what: str,
        errors: list[str],
    ) -> Any:
        if is_config_class(type(entry)):
            entry = {"config": entry}  # RunConfig(ops={"a": MyConfig(...)}) written as a dict
        if entry is None:
            entry = {}
        if not isinstance(entry, Mapping):
            sample = flow_yaml(entry)
            errors.append(
                f"{format_path(path)}: expected a dict with a 'config' key, got "
                f"{describe_value(entry)}; put it under 'config:', for example: "
                f"{yaml_key(str(path[-1]))}: {{config: {sample}}}"
            )
            return None
        extra = {k: v for k, v in entry.items() if k != "config"}
        if schema is None:
            if entry.get("config") is not None or extra:
                errors.append(
                    f"{format_path(path)}: {what} takes no config. Remove this entry, or declare "
                    f"config on {what} (a Config parameter or config_schema=)."
                )
            return None
        for key in extra:
            if key in _UNSUPPORTED_NODE_KEYS:
                errors.append(
                    f"{format_path(path)}: {key!r} is not supported: "
                    f"{_UNSUPPORTED_NODE_KEYS[key]}. Remove it."
                )
        misplaced = {k: v for k, v in extra.items() if k not in _UNSUPPORTED_NODE_KEYS}
        if misplaced:
            keys = ", ".join(repr(k) for k in misplaced)
            errors.append(
                f"{format_path(path)}: unknown key{'s' if len(misplaced) > 1 else ''} {keys}; "
                f"put {'them' if len(misplaced) > 1 else 'it'} under 'config:', for example: "
                f"config: {flow_yaml(misplaced)}"
            )
        value = entry.get("config")
        if value is None:
            if misplaced:
                return None  # already reported; a "missing" error would repeat it
            if config_schema_is_required(schema):
                errors.append(
                    f"{format_path(path)}: missing required config for {what}. Add it, for "
                    f"example: config: {config_sample(schema)}"
                )
                return None
            return default_config_value(schema)
        result = check_config(schema, value, path_prefix=(*path, "config"))
        errors.extend(result.errors)
        return result.value

    # --- JSON Schema -------------------------------------------------------------------------

    def to_json_schema(self) -> dict[str, Any]:
        """A JSON Schema of the run config document, for definitions snapshots and editors."""
        tree: dict[str, Any] = {}
        for graph, mapping in self.graph_configs.items():
            if self._mapping_graph(graph) is None:  # an outermost configured graph
                level = tree
                for part in graph.split(".")[:-1]:
                    level = level.setdefault(part, {}).setdefault("__ops__", {})
                level[graph.split(".")[-1]] = {"__mapped__": mapping.config_schema}
        for handle, schema in sorted(self.node_schemas.items()):
            if schema is None or self._mapping_graph(handle) is not None:
                continue
            parts = handle.split(".")
            level = tree
            for part in parts[:-1]:
                level = level.setdefault(part, {}).setdefault("__ops__", {})
            level.setdefault(parts[-1], {})["__schema__"] = schema
        resources = {k: s for k, s in self.resource_schemas.items() if s is not None}
        properties: dict[str, Any] = {
            "ops": _ops_json_schema(tree),
            "resources": _section_json_schema(resources),
            "execution": {"type": "object"},
            "loggers": {"type": "object", "maxProperties": 0},
        }
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"Run config of {self.subject}",
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }


def _entry_json_schema(schema: Field) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "object",
        "properties": {"config": config_json_schema(schema)},
        "additionalProperties": False,
    }
    if schema.is_required:
        entry["required"] = ["config"]
    return entry


def _section_json_schema(schemas: Mapping[str, Field]) -> dict[str, Any]:
    section: dict[str, Any] = {
        "type": "object",
        "properties": {k: _entry_json_schema(s) for k, s in schemas.items()},
        "additionalProperties": False,
    }
    required = [k for k, s in schemas.items() if s.is_required]
    if required:
        section["required"] = required
    return section


def _ops_json_schema(tree: Mapping[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, node in tree.items():
        if "__mapped__" in node:  # a graph with a config mapping takes config: of its shape
            mapped: Field | None = node["__mapped__"]
            properties[name] = {
                "type": "object",
                "properties": {"config": config_json_schema(mapped) if mapped else {}},
                "additionalProperties": False,
            }
            if mapped is not None and mapped.is_required:
                properties[name]["required"] = ["config"]
                required.append(name)
        elif "__schema__" in node:
            properties[name] = _entry_json_schema(node["__schema__"])
            if node["__schema__"].is_required:
                required.append(name)
        else:
            inner = _ops_json_schema(node["__ops__"])
            properties[name] = {
                "type": "object",
                "properties": {"ops": inner},
                "additionalProperties": False,
            }
            if "required" in inner:
                properties[name]["required"] = ["ops"]
                required.append(name)
    section: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        section["required"] = required
    return section


# --- loading -------------------------------------------------------------------------------


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and text.strip().lower().endswith((".yaml", ".yml", ".json"))


def load_run_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read a run config document from a YAML or JSON file, a YAML string, or a mapping."""
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source))
    text: str
    if isinstance(source, os.PathLike) or _looks_like_path(source) or os.path.isfile(source):
        path = os.fspath(source)
        subject = f"run config file {path!r}"
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise InvalidConfigError(
                subject,
                [f"the file does not exist (looked in {os.getcwd()!r}); check the path"],
            ) from None
        except OSError as error:
            raise InvalidConfigError(subject, [f"the file cannot be read: {error}"]) from None
        text = decode_utf8(data, subject)
        if path.lower().endswith(".json"):
            try:
                document = json.loads(text) if text.strip() else None
            except json.JSONDecodeError as error:
                raise InvalidConfigError(
                    subject,
                    [
                        f"line {error.lineno}, column {error.colno}: {error.msg}. "
                        "Fix the JSON there."
                    ],
                ) from None
        else:
            document = parse_yaml(text, subject)
    else:
        subject = "run config text"
        document = parse_yaml(source, subject)
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise InvalidConfigError(
            subject,
            [
                f"at the root: expected a dict with keys like 'ops' and 'resources', got "
                f"{describe_value(document)}"
            ],
        )
    return dict(document)


def merge_run_configs(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two run config documents; values in ``override`` win."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_run_configs(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
