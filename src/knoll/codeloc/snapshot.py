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
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter, itemgetter
from typing import Any

from knoll._serdes import pack
from knoll._utils import gc_paused
from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_spec import DEFAULT_GROUP, AssetDep, AssetSpec, normalize_deps
from knoll.defs.check import AssetChecksDefinition, AssetCheckSpec
from knoll.defs.config_schema import config_json_schema
from knoll.defs.definitions import Definitions
from knoll.defs.executor import ExecutorDefinition
from knoll.defs.freshness import FreshnessPolicy
from knoll.defs.job import JobDefinition
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.metadata import normalize_metadata
from knoll.defs.op import OpDefinition
from knoll.defs.policies import BackfillPolicy, RetryPolicy
from knoll.defs.run_config import RunConfigSchema
from knoll.errors import SerializationError
from knoll.execution.plan import (
    FromMany,
    FromStep,
    InputSource,
    build_plan,
    graph_config_mappings,
)
from knoll.execution.resources import resource_config_schema, resource_snapshot

SNAPSHOT_VERSION = 1
"""The version of the snapshot's layout; a reader refuses a snapshot with a higher one."""

_UNKNOWN_SOURCE = "<unknown>"
_EMPTY: Mapping[str, Any] = {}  # shared by entries: the builder's data is only ever dumped
_by_path = attrgetter("path")
_by_name = attrgetter("name")
_dep_order = attrgetter("asset_key.path")


class _Cached:
    """The JSON text of one ``Definitions``; its digest is computed when first asked for."""

    __slots__ = ("_digest", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._digest: str | None = None

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = hashlib.sha256(self.text.encode()).hexdigest()
        return self._digest


# Weak keys: a code location that reloads its code drops the old Definitions and its snapshot.
_CACHE: weakref.WeakKeyDictionary[Definitions, _Cached] = weakref.WeakKeyDictionary()


def definitions_snapshot(defs: Definitions) -> dict[str, Any]:
    """The snapshot of ``defs`` as plain JSON data: exactly what the JSON text holds.

    Every call returns a new dict that the caller may change.
    """
    data: dict[str, Any] = json.loads(_cached(defs).text)
    return data


def definitions_snapshot_json(defs: Definitions) -> str:
    """The snapshot of ``defs`` as compact JSON text, built once per ``Definitions`` object."""
    return _cached(defs).text


def snapshot_id(defs: Definitions) -> str:
    """The sha256 (hex) of :func:`definitions_snapshot_json`: it changes when the snapshot does."""
    return _cached(defs).digest


def read_definitions_snapshot(text: str | bytes) -> dict[str, Any]:
    """Parse snapshot JSON received from a code location, checking that this knoll reads it."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SerializationError(f"a definitions snapshot is not valid JSON: {exc}") from None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise SerializationError(
            "a definitions snapshot must be a JSON object with an integer 'version'; this one "
            "was not written by a knoll code location."
        )
    if version > SNAPSHOT_VERSION:
        raise SerializationError(
            f"the definitions snapshot has version {version}, but this knoll reads up to version "
            f"{SNAPSHOT_VERSION}: upgrade knoll where the webserver and daemon run to match the "
            "code location's."
        )
    result: dict[str, Any] = data
    return result


def _cached(defs: Definitions) -> _Cached:
    found = _CACHE.get(defs)
    if found is None:
        found = _CACHE[defs] = _Cached(_build_json(defs))
    return found


def _build_json(defs: Definitions) -> str:
    # A snapshot allocates a few containers per asset and no cycles. With the user's whole
    # import in memory, those allocations trigger full collections that cost several times
    # the snapshot itself (measured: 0.4 s of 0.5 s for 10,000 assets), so collection waits.
    # The data is freed before it is turned back on, so it never reaches an older generation.
    with gc_paused():
        return _dumps(_Builder(defs).build())


def _dumps(data: dict[str, Any]) -> str:
    # The builder's data never leaves this module, so its entries may share parts and use
    # tuples for lists: fewer allocations, and the same JSON.
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False, check_circular=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SerializationError(
            f"the definitions snapshot could not be written as JSON: {exc}. A value given in "
            "code (executor config, a config default) is not plain JSON data: give a str, "
            "number, bool, list or dict instead."
        ) from exc


# --- small pieces ------------------------------------------------------------------------------


def _check_key(key: AssetCheckKey) -> dict[str, Any]:
    return {"asset_key": key.asset_key.path, "name": key.name}


def _check_order(key: AssetCheckKey) -> tuple[tuple[str, ...], str]:
    return (key.asset_key.path, key.name)


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


def _freshness(policy: FreshnessPolicy | None) -> Any:
    """An asset's freshness policy as versioned JSON (the daemon's freshness duty reads it)."""
    return None if policy is None else pack(policy)


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
        self._any_checks = bool(self.graph.check_keys)

    def build(self) -> dict[str, Any]:
        defs = self.defs
        resources = defs.resources
        return {
            "version": SNAPSHOT_VERSION,
            "assets": self._assets(),
            "asset_checks": self._checks(),
            "jobs": [self._job(defs.job_defs[name]) for name in sorted(defs.job_defs)],
            "schedules": [s.to_snapshot() for s in sorted(defs.schedules, key=_by_name)],
            "sensors": [s.to_snapshot() for s in sorted(defs.sensors, key=_by_name)],
            "resources": [
                resource_snapshot(key, resources[key], resources=resources)
                for key in sorted(resources)
            ],
            "executor": _executor(defs.executor),
        }

    def _once(self, kind: str, obj: Any, make: Callable[[Any], Any]) -> Any:
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
        # The hot path (10,000 assets in a few tens of milliseconds): per-asset work is inlined,
        # what the assets of one op share is computed once, and empty values are shared.
        entries: list[dict[str, Any]] = []
        for assets_def in self.graph.assets_defs:
            self._add_assets(assets_def, entries)
        entries.sort(key=_key_field)
        return entries

    def _add_assets(self, assets_def: AssetsDefinition, entries: list[dict[str, Any]]) -> None:
        """Append the entries of the assets ``assets_def`` computes (or declares)."""
        (
            node_name,
            backfill_policy,
            resource_keys,
            config_schema,
            op_tags,
            pool,
            retry_policy,
            source,
            output_defs,
            siblings,
        ) = self._shared(assets_def)
        is_executable = node_name is not None
        is_observable = assets_def.is_observable
        can_subset = assets_def.can_subset
        def_partitions = assets_def.partitions_def
        partitions = self._partitions
        links = self._links
        for output_name, spec in assets_def.specs_by_output.items():
            path = spec.key.path
            deps, children, checks = links(spec)
            tags = spec.tags
            metadata = spec.metadata
            condition = spec.automation_condition
            partitions_def = spec.partitions_def or def_partitions
            entries.append(
                {
                    "key": path,
                    "user_string": "/".join(path),
                    "node_name": node_name,
                    "output_name": output_name if is_executable else None,
                    "is_executable": is_executable,
                    # an AssetSpec, or a dependency no definition provides (as in Dagster)
                    "is_external": not is_executable,
                    # observed, not materialized: an @observable_source_asset
                    "is_observable": is_observable,
                    "is_materializable": is_executable and not is_observable,
                    "is_virtual": spec.is_virtual,
                    "deps": [d.asset_key.path for d in deps] if deps else (),
                    "partition_mappings": self._explicit_mappings(deps) if deps else (),
                    "children": [k.path for k in children] if children else (),
                    "group": spec.group_name or DEFAULT_GROUP,
                    "description": spec.description,
                    "owners": spec.owners,
                    "tags": tags if len(tags) < 2 else dict(sorted(tags.items())),
                    "kinds": sorted(spec.kinds) if spec.kinds else (),
                    "metadata": pack(metadata) if metadata else metadata,
                    "code_version": spec.code_version,
                    "skippable": spec.skippable,
                    "partitions": (None if partitions_def is None else partitions(partitions_def)),
                    "automation_condition": None if condition is None else condition.describe(),
                    "automation_condition_tree": None if condition is None else condition.tree(),
                    "freshness_policy": _freshness(spec.freshness_policy),
                    "backfill_policy": backfill_policy,
                    "io_manager_key": (
                        output_defs[output_name].io_manager_key if is_executable else None
                    ),
                    "required_resource_keys": resource_keys,
                    "config_schema": config_schema,
                    "op_tags": op_tags,
                    "pool": pool,
                    "retry_policy": retry_policy,
                    "check_keys": [_check_key(c) for c in checks] if checks else (),
                    "source": source,
                    "can_subset": can_subset,
                    "multi_asset_keys": [p for p in siblings if p != path] if siblings else (),
                }
            )

    def _links(self, spec: AssetSpec) -> tuple[Any, Any, Any]:
        """An asset's deps, children and checks, each sorted the way the snapshot lists them."""
        deps = spec.deps
        if len(deps) > 1:
            deps = tuple(sorted(deps, key=_dep_order))
        children = self.graph.node(spec.key).children
        if len(children) > 1:
            children = sorted(children, key=_by_path)
        checks = self.graph.checks_for(spec.key) if self._any_checks else ()
        if len(checks) > 1:
            checks = sorted(checks, key=_by_name)
        return deps, children, checks

    def _explicit_mappings(self, deps: Iterable[AssetDep]) -> list[dict[str, Any]]:
        return [
            {"key": d.asset_key.path, "partition_mapping": self._mapping(d.partition_mapping)}
            for d in deps
            if d.partition_mapping is not None
        ]

    def _shared(self, assets_def: AssetsDefinition) -> tuple[Any, ...]:
        """What every asset of one definition (one op) has in common, in ``_assets`` order."""
        specs = assets_def.specs_by_output
        siblings = sorted(s.key.path for s in specs.values()) if len(specs) > 1 else ()
        op_def = assets_def.op
        if op_def is None:
            return (None, None, (), None, _EMPTY, None, None, None, _EMPTY, siblings)
        backfill = assets_def.backfill_policy
        retry = op_def.retry_policy
        schema = op_def.config_schema
        return (
            op_def.name,
            None if backfill is None else _backfill_policy(backfill),
            sorted(op_def.required_resource_keys) if op_def.required_resource_keys else (),
            None if schema is None else self._config_schema(schema),
            _tags(op_def.tags) if op_def.tags else _EMPTY,
            op_def.pool,
            None if retry is None else _retry_policy(retry),
            _source(assets_def.source),
            op_def.output_defs,
            siblings,
        )

    # ---- checks -----------------------------------------------------------------------------
    def _checks(self) -> list[dict[str, Any]]:
        entries: list[tuple[tuple[tuple[str, ...], str], dict[str, Any]]] = []
        for assets_def in self.graph.assets_defs:
            for spec in assets_def.check_specs:
                entries.append((_check_order(spec.key), self._check_in_asset(spec, assets_def)))
        for check in self.graph.check_defs:
            for spec in check.specs:
                entries.append((_check_order(spec.key), self._check_def(check, spec)))
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

    def _check_def(self, check: AssetChecksDefinition, spec: AssetCheckSpec) -> dict[str, Any]:
        """A check defined with ``@asset_check`` (or ``@multi_asset_check``): it runs in a
        step of its own."""
        extra = (*check.input_keys.values(), *check.dep_keys, *check.asset_keys)
        entry = self._check_common(spec, extra)
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
            "run_config_schema": self._run_config_schema(job, node_schemas),
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

    def _run_config_schema(
        self, job: JobDefinition, node_schemas: Mapping[str, object]
    ) -> dict[str, Any]:
        """The JSON Schema of a job's run config document.

        :class:`RunConfigSchema` reads config schemas, which a ``ConfigurableResource`` does
        not have: its entry is made here from its class's schema and its values set in code.
        """
        plain: dict[str, object] = {}
        configurable: dict[str, Any] = {}
        for key, value in job.resource_defs.items():
            if _is_configurable(value):
                configurable[key] = self._once("resource", value, _configurable_entry)
            else:
                plain[key] = resource_config_schema(value)
        mappings = dict(graph_config_mappings(job.graph_def, "")) if job.graph_def else {}
        mappings.pop("", None)  # to_job() of a configured graph: its job mapping is opaque
        document = RunConfigSchema(node_schemas, plain, job.name, mappings).to_json_schema()
        if configurable:
            section = document["properties"]["resources"]
            properties = {**section["properties"], **configurable}
            required = set(section.get("required", ()))
            required.update(k for k, entry in configurable.items() if "required" in entry)
            section["properties"] = dict(sorted(properties.items()))
            if required:
                section["required"] = sorted(required)
        return document


# --- run config schemas of ConfigurableResources -----------------------------------------------

# Run config may name an environment variable for a str or int field of a ConfigurableResource.
_ENV_REFERENCE = {
    "type": "object",
    "properties": {"env": {"type": "string", "minLength": 1}},
    "required": ["env"],
    "additionalProperties": False,
}


def _is_configurable(value: object) -> bool:
    if "knoll.defs.resource" not in sys.modules:
        return False  # no ConfigurableResource can exist before its module is imported
    from knoll.defs.resource import ConfigurableResource

    return isinstance(value, ConfigurableResource)


def _configurable_entry(resource: Any) -> dict[str, Any]:
    """``{config: {...}}`` for a ConfigurableResource: the fields run config may set.

    Values given in code act as defaults, so only fields without one are required; a field
    holding another resource cannot be set from run config and is left out.
    """
    from pydantic import PydanticUserError

    from knoll.defs.config import config_class_json_schema
    from knoll.defs.resource import is_resource_field

    cls = type(resource)
    try:
        schema = config_class_json_schema(cls)
    except PydanticUserError:
        # A field type with no JSON Schema: say only that the config is an object.
        return {"type": "object", "properties": {"config": {"type": "object"}}}
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
