"""A job's own config: a default run config, a config mapping or a partitioned config.

``@job(config=...)``, ``GraphDefinition.to_job(config=...)`` and ``define_asset_job(config=...)``
take any of:

- a run config dict or a ``RunConfig``: the default. Config given at launch replaces it entry by
  entry: each top-level section (``ops``, ``resources``, ``execution``) keeps the default's
  entries the launch leaves out, while an entry it gives (``ops: {my_op: ...}``) replaces the
  default's entry as a whole, as in Dagster. For a partitioned job the default is the config
  of every partition, and config given at launch replaces it whole;
- a ``ConfigMapping``: a run supplies config of the mapping's outer shape, mapped to run config;
- a ``PartitionedConfig``: the job is partitioned; a run for a partition gets that partition's
  config (unless config is given at launch, which then replaces it) and tags.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

from knoll.errors import DefinitionError, InvalidConfigError, InvalidInvocationError

if TYPE_CHECKING:
    from knoll.defs.config_mapping import ConfigMapping
    from knoll.defs.graph import GraphDefinition
    from knoll.defs.partitions import PartitionsDefinition
    from knoll.defs.partitions.partitioned_config import PartitionedConfig
    from knoll.defs.run_config import RunConfig

__all__ = [
    "JobConfig",
    "check_default_op_config",
    "job_run_config",
    "normalize_graph_config",
    "normalize_job_config",
]

JobConfig: TypeAlias = "Mapping[str, Any] | ConfigMapping | PartitionedConfig"
"""What a job keeps as its config, after ``RunConfig`` is turned into a dict."""


# Declaring a job must not load the config and partitions modules (``import knoll`` stays
# light): an object can only be an instance of a class whose module is loaded already.
def _instance_of(value: object, module: str, name: str) -> bool:
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(cls, type) and isinstance(value, cls)


def _is_run_config(value: object) -> TypeGuard[RunConfig]:
    return _instance_of(value, "knoll.defs.run_config", "RunConfig")


def _is_partitioned(value: object) -> TypeGuard[PartitionedConfig]:
    return _instance_of(value, "knoll.defs.partitions.partitioned_config", "PartitionedConfig")


def _is_mapping(value: object) -> TypeGuard[ConfigMapping]:
    return _instance_of(value, "knoll.defs.config_mapping", "ConfigMapping")


def normalize_job_config(
    config: object, partitions_def: PartitionsDefinition | None, owner: str
) -> tuple[JobConfig | None, PartitionsDefinition | None]:
    """Check a job's ``config=`` and return it with the job's partitions definition."""
    if config is None:
        return None, partitions_def
    if _is_run_config(config):
        return config.to_config_dict(), partitions_def
    if _is_partitioned(config):
        if partitions_def is not None and partitions_def != config.partitions_def:
            raise DefinitionError(
                f"{owner} has partitions_def={partitions_def.describe()} but its partitioned "
                f"config is over {config.partitions_def.describe()}; leave partitions_def out "
                "(the partitioned config sets it) or give the same definition to both."
            )
        return config, config.partitions_def
    if _is_mapping(config):
        if partitions_def is not None:
            raise DefinitionError(
                f"{owner} has both partitions_def and a ConfigMapping as config; a partitioned "
                "job takes a dict or a PartitionedConfig as config."
            )
        return config, None
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config)), partitions_def
    raise DefinitionError(
        f"{owner} got config={config!r} ({type(config).__name__}); give a run config dict, a "
        "RunConfig, a ConfigMapping or a PartitionedConfig."
    )


def normalize_graph_config(config: object, owner: str) -> ConfigMapping | None:
    """A graph's ``config=``: a ``ConfigMapping``, or a dict of its ops' config made one."""
    if config is None:
        return None
    if _is_mapping(config):
        return config
    if isinstance(config, Mapping):
        # Imported here, not at the top: declaring a graph without config must stay light.
        from knoll.defs.config_mapping import fixed_node_config

        return fixed_node_config(config, owner)
    raise DefinitionError(
        f"{owner} got config={config!r} ({type(config).__name__}); give a ConfigMapping (or a "
        "@config_mapping function), or a dict of its ops' config like "
        "{'my_op': {'config': {...}}}."
    )


def job_run_config(
    config: JobConfig | None,
    given: Mapping[str, Any] | None,
    partition_key: str | None,
    owner: str,
    partitioned: bool = False,
) -> Mapping[str, Any] | None:
    """The run config document of a run: the job's ``config`` applied to the ``given`` one.

    ``partition_key`` is the run's single partition, if it has one. A ``partitioned`` job's
    dict config is the same for every partition: config given at launch replaces it, as it
    replaces a partitioned config's.
    """
    if config is None:
        return given
    if _is_mapping(config):
        return config.resolve(given, owner)
    if _is_partitioned(config):
        if given:
            return given
        if partition_key is None:
            raise InvalidInvocationError(
                f"{owner} takes its config from a partitioned config over "
                f"{config.partitions_def.describe()}, but no single partition was given: pass "
                "partition_key=... (knoll job execute --partition KEY), or give the run config."
            )
        return config.get_run_config_for_partition_key(partition_key, owner)
    if not isinstance(config, Mapping):
        raise DefinitionError(f"{owner} has config {config!r}, which is not a run config dict.")
    if partitioned and given:
        return given
    return apply_default_run_config(config, given or {})


def apply_default_run_config(
    default: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """``given`` over ``default``: sections merge entry by entry, an entry replaces as a whole."""
    out = copy.deepcopy(dict(default))
    for section, value in given.items():
        base = out.get(section)
        if isinstance(value, Mapping) and isinstance(base, Mapping):
            out[section] = {**base, **copy.deepcopy(dict(value))}
        else:
            out[section] = copy.deepcopy(value)
    return out


def check_default_op_config(
    graph_def: GraphDefinition, config: JobConfig | None, job_name: str
) -> None:
    """Refuse, when an op job is defined, a default config whose ``ops`` entries are wrong.

    Only what the default gives is checked: config it leaves out may be given at launch, and
    its resources may come from ``Definitions``, so those wait until a run is prepared.
    """
    ops = config.get("ops") if isinstance(config, Mapping) else None
    if not ops:
        return
    # Imported here, not at the top: declaring a job without config must stay light.
    from knoll.defs.config_schema import Permissive
    from knoll.defs.run_config import RunConfigSchema

    named = {str(k) for k in ops} if isinstance(ops, Mapping) else set()

    def is_named(handle: str) -> bool:
        return any(handle == n or handle.startswith(n + ".") for n in named)

    # an op the default leaves out may take any config here (it is given at launch)
    schemas = {
        h: op.config_schema if is_named(h) or op.config_schema is None else Permissive()
        for h, op in graph_def.iterate_ops()
    }
    try:
        RunConfigSchema(schemas, {}, job_name).validate({"ops": ops})
    except InvalidConfigError as exc:
        raise InvalidConfigError(f"the default config of job {job_name!r}", exc.errors) from None
