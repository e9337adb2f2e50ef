"""The definitions snapshot: everything a code location offers, as versioned plain JSON.

A code location serves its definitions to the webserver and the daemon only as this snapshot.
It is built from the definition objects themselves, once per ``Definitions`` object, and is
deterministic: two imports of the same code give byte-identical JSON and the same
:func:`snapshot_id`. Secrets never appear in it: resources show an ``EnvVar`` by its name.

The top level is ``{"version": 1, "assets": [...], "asset_checks": [...], "jobs": [...],
"schedules": [...], "sensors": [...], "resources": [...], "executor": {...} | None}``;
``docs/snapshot.md`` lists the fields of each entry.
"""

from __future__ import annotations

import hashlib
import json
import sys
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

from knoll._serdes import pack
from knoll.definitions.asset import AssetsDefinition
from knoll.definitions.asset_spec import DEFAULT_GROUP, AssetDep, normalize_deps
from knoll.definitions.check import AssetChecksDefinition, AssetCheckSpec
from knoll.definitions.config_schema import config_json_schema
from knoll.definitions.definitions import Definitions
from knoll.definitions.executor import ExecutorDefinition
from knoll.definitions.job import JobDefinition
from knoll.definitions.keys import AssetCheckKey, AssetKey
from knoll.definitions.metadata import normalize_metadata
from knoll.definitions.op import OpDefinition
from knoll.definitions.policies import BackfillPolicy, RetryPolicy
from knoll.definitions.run_config import RunConfigSchema
from knoll.errors import SerializationError
from knoll.execution.plan import FromMany, FromStep, InputSource, build_plan
from knoll.execution.resources import resource_config_schema, resource_snapshot

SNAPSHOT_VERSION = 1
"""The version of the snapshot's layout; a reader refuses a snapshot with a higher one."""

_UNKNOWN_SOURCE = "<unknown>"
_by_path = attrgetter("path")
_by_name = attrgetter("name")


@dataclass(frozen=True)
class _Cached:
    text: str
    digest: str


# Weak keys: a code location that reloads its code drops the old Definitions and its snapshot.
_CACHE: weakref.WeakKeyDictionary[Definitions, _Cached] = weakref.WeakKeyDictionary()


def definitions_snapshot(defs: Definitions) -> dict[str, Any]:
    """The snapshot of ``defs`` as plain JSON data, built anew on every call."""
    return _Builder(defs).build()


def definitions_snapshot_json(defs: Definitions) -> str:
    """The snapshot of ``defs`` as compact JSON text, built once per ``Definitions`` object."""
    return _cached(defs).text


def snapshot_id(defs: Definitions) -> str:
    """The sha256 (hex) of :func:`definitions_snapshot_json`: it changes when the snapshot does."""
    return _cached(defs).digest


def _cached(defs: Definitions) -> _Cached:
    found = _CACHE.get(defs)
    if found is None:
        data = definitions_snapshot(defs)
        try:
            text = json.dumps(data, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SerializationError(
                f"the definitions snapshot could not be written as JSON: {exc}. A value given "
                "in code (executor config, a config default) is not plain JSON data: give a "
                "str, number, bool, list or dict instead."
            ) from exc
        found = _Cached(text, hashlib.sha256(text.encode()).hexdigest())
        _CACHE[defs] = found
    return found


# --- small pieces ------------------------------------------------------------------------------


def _check_key(key: AssetCheckKey) -> dict[str, Any]:
    return {"asset_key": list(key.asset_key.path), "name": key.name}


def _check_order(key: AssetCheckKey) -> tuple[tuple[str, ...], str]:
    return (key.asset_key.path, key.name)


def _dep_order(dep: AssetDep) -> tuple[str, ...]:
    return dep.asset_key.path


def _first(item: tuple[Any, Any]) -> Any:
    return item[0]


_key_field = itemgetter("key")


def _tags(tags: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted(tags.items())) if len(tags) > 1 else dict(tags)


def _source(source: str | None) -> str | None:
    return None if not source or source == _UNKNOWN_SOURCE else source


def _retry_policy(policy: RetryPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {
        "max_retries": policy.max_retries,
        "delay": policy.delay,
        "backoff": policy.backoff.value if policy.backoff else None,
        "jitter": policy.jitter.value if policy.jitter else None,
    }


def _backfill_policy(policy: BackfillPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"max_partitions_per_run": policy.max_partitions_per_run}


def _executor(executor: ExecutorDefinition | None) -> dict[str, Any] | None:
    if executor is None:
        return None
    return {
        "name": executor.name,
        "config": dict(executor.config),
        "description": executor.description,
    }


def _sources(source: InputSource) -> list[dict[str, str]]:
    if isinstance(source, FromStep):
        return [{"handle": source.step_key, "output": source.output_name}]
    if isinstance(source, FromMany):
        return [{"handle": s.step_key, "output": s.output_name} for s in source.sources]
    return []


# --- the builder -------------------------------------------------------------------------------


class _Builder:
    """Builds one snapshot, computing once what many entries share (partitions, schemas)."""

    def __init__(self, defs: Definitions) -> None:
        self.defs = defs
        self.graph = defs.asset_graph
        # Keyed by id(): every object stays alive through ``defs`` while the snapshot is built.
        self._memo: dict[tuple[str, int], Any] = {}

    def build(self) -> dict[str, Any]:
        defs = self.defs
        resources = defs.resources
        return {
            "version": SNAPSHOT_VERSION,
            "assets": self._assets(),
            "asset_checks": self._checks(),
            "jobs": [self._job(defs.jobs[name]) for name in sorted(defs.jobs)],
            "schedules": [s.to_snapshot() for s in sorted(defs.schedules, key=_by_name)],
            "sensors": [s.to_snapshot() for s in sorted(defs.sensors, key=_by_name)],
            "resources": [
                resource_snapshot(key, resources[key], resources=resources)
                for key in sorted(resources)
            ],
            "executor": _executor(defs.executor),
        }

    def _once(self, kind: str, obj: Any, make: Any) -> Any:
        if obj is None:
            return None
        memo_key = (kind, id(obj))
        if memo_key not in self._memo:
            self._memo[memo_key] = make(obj)
        return self._memo[memo_key]

    def _partitions(self, partitions_def: Any) -> Any:
        return self._once("partitions", partitions_def, lambda p: p.to_snapshot())

    def _mapping(self, mapping: Any) -> Any:
        return self._once("mapping", mapping, lambda m: m.to_snapshot())

    def _config_schema(self, schema: object) -> Any:
        return self._once("config", schema, config_json_schema)

    # ---- assets -----------------------------------------------------------------------------
    def _assets(self) -> list[dict[str, Any]]:
        # The hot path: 10,000 assets must take a few tens of milliseconds, so per-asset work
        # is inlined and whatever an op's assets share is computed once per definition.
        graph = self.graph
        checks_for = graph.checks_for
        mapping = self._mapping
        entries: list[dict[str, Any]] = []
        shared_by_def: dict[int, dict[str, Any]] = {}
        for node in graph.nodes():
            assets_def = node.assets_def
            shared = shared_by_def.get(id(assets_def))
            if shared is None:
                shared = shared_by_def[id(assets_def)] = self._shared(assets_def)
            spec = node.spec
            key = node.key
            path = key.path
            deps = spec.deps
            if len(deps) > 1:
                deps = tuple(sorted(deps, key=_dep_order))
            children = node.children
            if len(children) > 1:
                children = sorted(children, key=_by_path)
            tags = spec.tags
            condition = spec.automation_condition
            checks = checks_for(key)
            output_name = shared["outputs"].get(key)
            siblings = shared["keys"]
            entries.append(
                {
                    "key": list(path),
                    "user_string": "/".join(path),
                    "node_name": shared["node_name"],
                    "output_name": output_name,
                    "is_executable": shared["is_executable"],
                    "deps": [
                        {
                            "key": list(d.asset_key.path),
                            "partition_mapping": (
                                None
                                if d.partition_mapping is None
                                else mapping(d.partition_mapping)
                            ),
                        }
                        for d in deps
                    ],
                    "children": [list(k.path) for k in children],
                    "group": spec.group_name or DEFAULT_GROUP,
                    "description": spec.description,
                    "owners": list(spec.owners),
                    "tags": dict(sorted(tags.items())) if len(tags) > 1 else dict(tags),
                    "kinds": sorted(spec.kinds),
                    "metadata": pack(spec.metadata) if spec.metadata else {},
                    "code_version": spec.code_version,
                    "skippable": spec.skippable,
                    "partitions": self._partitions(
                        spec.partitions_def or assets_def.partitions_def
                    ),
                    "automation_condition": None if condition is None else condition.describe(),
                    "backfill_policy": shared["backfill_policy"],
                    "io_manager_key": shared["io_managers"].get(output_name),
                    "required_resource_keys": list(shared["required_resource_keys"]),
                    "config_schema": shared["config_schema"],
                    "op_tags": dict(shared["op_tags"]),
                    "pool": shared["pool"],
                    "retry_policy": shared["retry_policy"],
                    "check_keys": [
                        _check_key(c)
                        for c in (sorted(checks, key=_by_name) if len(checks) > 1 else checks)
                    ],
                    "source": shared["source"],
                    "can_subset": assets_def.can_subset,
                    "multi_asset_keys": [list(p) for p in siblings if p != path]
                    if siblings
                    else [],
                }
            )
        entries.sort(key=_key_field)
        return entries

    def _shared(self, assets_def: AssetsDefinition) -> dict[str, Any]:
        """What every asset of one definition (one op) has in common."""
        specs = assets_def.specs_by_output
        siblings = sorted(s.key.path for s in specs.values()) if len(specs) > 1 else []
        op_def = assets_def.op
        if op_def is None:
            return {
                "outputs": {},
                "io_managers": {},
                "keys": siblings,
                "node_name": None,
                "is_executable": False,
                "backfill_policy": None,
                "required_resource_keys": (),
                "config_schema": None,
                "op_tags": {},
                "pool": None,
                "retry_policy": None,
                "source": None,
            }
        return {
            "outputs": {spec.key: name for name, spec in specs.items()},
            "io_managers": {name: out.io_manager_key for name, out in op_def.output_defs.items()},
            "keys": siblings,
            "node_name": op_def.name,
            "is_executable": True,
            "backfill_policy": _backfill_policy(assets_def.backfill_policy),
            "required_resource_keys": sorted(op_def.required_resource_keys),
            "config_schema": self._config_schema(op_def.config_schema),
            "op_tags": _tags(op_def.tags),
            "pool": op_def.pool,
            "retry_policy": _retry_policy(op_def.retry_policy),
            "source": _source(assets_def.source),
        }

    # ---- checks -----------------------------------------------------------------------------
    def _checks(self) -> list[dict[str, Any]]:
        entries: list[tuple[tuple[tuple[str, ...], str], dict[str, Any]]] = []
        for assets_def in self.graph.assets_defs:
            for spec in assets_def.check_specs:
                entries.append((_check_order(spec.key), self._check_in_asset(spec, assets_def)))
        for check in self.graph.check_defs:
            entries.append((_check_order(check.key), self._check_def(check)))
        entries.sort(key=_first)
        return [entry for _, entry in entries]

    def _check_common(self, spec: AssetCheckSpec, extra_deps: Iterable[AssetKey]) -> dict[str, Any]:
        key = spec.key
        owner = f"asset check {key.to_user_string()!r}"
        deps = {k.path for k in extra_deps}
        deps.discard(spec.asset_key.path)
        return {
            "key": _check_key(key),
            "user_string": key.to_user_string(),
            "asset_key": list(spec.asset_key.path),
            "name": spec.name,
            "description": spec.description,
            "blocking": spec.blocking,
            "metadata": pack(normalize_metadata(spec.metadata, owner)) if spec.metadata else {},
            "additional_deps": [list(p) for p in sorted(deps)],
        }

    def _check_in_asset(self, spec: AssetCheckSpec, assets_def: AssetsDefinition) -> dict[str, Any]:
        """A check the asset's own function reports on: it runs in the asset's step."""
        owner = f"asset check {spec.key.to_user_string()!r}"
        extra = normalize_deps(spec.additional_deps, owner) if spec.additional_deps else ()
        entry = self._check_common(spec, (d.asset_key for d in extra))
        op_def = assets_def.op
        entry.update(
            in_own_step=False,
            node_name=op_def.name if op_def else None,
            required_resource_keys=sorted(op_def.required_resource_keys) if op_def else [],
            config_schema=None,
            source=_source(assets_def.source) if op_def else None,
        )
        return entry

    def _check_def(self, check: AssetChecksDefinition) -> dict[str, Any]:
        """A check defined with ``@asset_check``: it runs in a step of its own."""
        extra = (*check.input_keys.values(), *check.dep_keys)
        entry = self._check_common(check.spec, extra)
        op_def = check.op
        entry.update(
            in_own_step=True,
            node_name=op_def.name,
            required_resource_keys=sorted(op_def.required_resource_keys),
            config_schema=self._config_schema(op_def.config_schema),
            source=_source(op_def.source),
        )
        return entry

    # ---- jobs -------------------------------------------------------------------------------
    def _job(self, job: JobDefinition) -> dict[str, Any]:
        is_asset_job = job.asset_graph is not None
        ops: list[dict[str, Any]] | None = None
        selected: list[list[str]] | None = None
        checks: list[dict[str, Any]] | None = None
        if is_asset_job:
            keys = sorted(job.asset_selection or (), key=_by_path)
            check_keys = sorted(job.check_selection or (), key=_check_order)
            selected = [list(k.path) for k in keys]
            checks = [_check_key(c) for c in check_keys]
            node_schemas = self._asset_job_node_schemas(job, keys, check_keys)
        else:
            ops, node_schemas = self._op_job_ops(job)
        return {
            "name": job.name,
            "description": job.description,
            "kind": "asset" if is_asset_job else "op",
            "tags": _tags(job.tags),
            "metadata": pack(job.metadata) if job.metadata else {},
            "asset_selection": selected,
            "check_selection": checks,
            "ops": ops,
            "partitions": self._partitions(job.partitions_def),
            "executor": _executor(job.executor_def or self.defs.executor),
            "op_retry_policy": _retry_policy(job.op_retry_policy),
            "resource_keys": sorted(job.resource_defs),
            "run_config_schema": _run_config_json_schema(job.name, node_schemas, job.resource_defs),
        }

    def _asset_job_node_schemas(
        self, job: JobDefinition, keys: Iterable[AssetKey], checks: Iterable[AssetCheckKey]
    ) -> dict[str, object]:
        # Named like the steps of the job's plan: an asset's op name, a check's op name.
        graph = job.asset_graph or self.graph
        schemas: dict[str, object] = {}
        for key in keys:
            op_def = graph.node(key).assets_def.op
            if op_def is not None:
                schemas[op_def.name] = op_def.config_schema
        for check_key in checks:
            check = graph.check(check_key)
            if isinstance(check, AssetChecksDefinition):
                schemas[check.op.name] = check.op.config_schema
        return schemas

    def _op_job_ops(self, job: JobDefinition) -> tuple[list[dict[str, Any]], dict[str, object]]:
        """One entry per op, nested graphs flattened to dotted handles, in execution order."""
        ops: list[dict[str, Any]] = []
        schemas: dict[str, object] = {}
        for step in build_plan(job).steps:
            op_def: OpDefinition = step.op
            schemas[step.key] = op_def.config_schema
            ops.append(
                {
                    "handle": step.key,
                    "op_name": op_def.name,
                    "description": op_def.description,
                    "upstream": sorted(step.upstream),
                    "inputs": [
                        {"name": name, "sources": _sources(source)}
                        for name, source in step.inputs.items()
                    ],
                    "outputs": [
                        {
                            "name": out.name,
                            "io_manager_key": out.io_manager_key,
                            "is_required": out.is_required,
                        }
                        for out in op_def.output_defs.values()
                    ],
                    "tags": _tags(op_def.tags),
                    "required_resource_keys": sorted(op_def.required_resource_keys),
                    "config_schema": self._config_schema(op_def.config_schema),
                    "pool": op_def.pool,
                    "retry_policy": _retry_policy(op_def.retry_policy),
                    "source": _source(op_def.source),
                }
            )
        return ops, schemas


# --- run config schemas ------------------------------------------------------------------------

# Run config may name an environment variable for a str or int field of a ConfigurableResource.
_ENV_REFERENCE = {
    "type": "object",
    "properties": {"env": {"type": "string", "minLength": 1}},
    "required": ["env"],
    "additionalProperties": False,
}


def _run_config_json_schema(
    job_name: str, node_schemas: Mapping[str, object], resources: Mapping[str, object]
) -> dict[str, Any]:
    """The JSON Schema of a job's run config document.

    :class:`RunConfigSchema` reads config schemas, which a ``ConfigurableResource`` does not
    have: its entry is written here from its class's pydantic schema and its values set in code.
    """
    plain: dict[str, object] = {}
    configurable: dict[str, Any] = {}
    for key, value in resources.items():
        if _is_configurable(value):
            configurable[key] = value
        else:
            plain[key] = resource_config_schema(value)
    document = RunConfigSchema(node_schemas, plain, job_name).to_json_schema()
    if configurable:
        section = document["properties"]["resources"]
        properties = dict(section["properties"])
        required = set(section.get("required", ()))
        for key, value in configurable.items():
            entry = _configurable_entry(value)
            properties[key] = entry
            if "required" in entry:
                required.add(key)
        section["properties"] = dict(sorted(properties.items()))
        if required:
            section["required"] = sorted(required)
    return document


def _is_configurable(value: object) -> bool:
    if "knoll.definitions.resource" not in sys.modules:
        return False  # no ConfigurableResource can exist before its module is imported
    from knoll.definitions.resource import ConfigurableResource

    return isinstance(value, ConfigurableResource)


def _configurable_entry(resource: Any) -> dict[str, Any]:
    """``{config: {...}}`` for a ConfigurableResource: the fields run config may set.

    Values given in code act as defaults, so only fields without one are required; a field
    holding another resource cannot be set from run config and is left out.
    """
    from knoll.definitions.config import config_class_json_schema
    from knoll.definitions.resource import is_resource_field

    cls = type(resource)
    schema = config_class_json_schema(cls)
    given = set(resource.model_fields_set) | set(resource._knoll_env_vars)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        if name in cls.model_fields and is_resource_field(cls, name):
            continue
        if prop.get("type") in ("string", "integer"):
            prop = {"anyOf": [prop, _ENV_REFERENCE]}
        properties[name] = prop
        if name in schema.get("required", ()) and name not in given:
            required.append(name)
    config: dict[str, Any] = {
        "type": "object",
        "title": schema.get("title", cls.__name__),
        "properties": properties,
        "additionalProperties": False,
    }
    entry: dict[str, Any] = {
        "type": "object",
        "properties": {"config": config},
        "additionalProperties": False,
    }
    if required:
        config["required"] = required
        entry["required"] = ["config"]
    return entry
