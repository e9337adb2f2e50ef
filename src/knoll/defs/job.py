"""Jobs: a graph of ops, or a selection of assets, bound to resources, config and an executor."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knoll._utils import check_node_name, check_tags
from knoll.defs.executor import ExecutorDefinition
from knoll.defs.hook import HookDefinition, check_hooks
from knoll.defs.job_config import JobConfig, check_default_op_config, normalize_job_config
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.defs.policies import RetryPolicy
from knoll.defs.runtime import runtime
from knoll.defs.selection import AssetSelection
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.asset_graph import AssetGraph
    from knoll.defs.graph import GraphDefinition
    from knoll.defs.partitions import PartitionsDefinition

ANONYMOUS_JOB_PREFIX = "__anonymous_asset_job_"
"""The name prefix of the asset job a schedule or sensor makes for a bare asset selection."""


@dataclass(frozen=True, eq=False)
class JobDefinition:
    """A runnable job. Op jobs come from ``@job``/``graph.to_job()``; asset jobs from
    ``define_asset_job`` (resolved by ``Definitions``) or from ``materialize``."""

    name: str
    graph_def: GraphDefinition | None = None
    asset_graph: AssetGraph | None = None
    asset_selection: frozenset[AssetKey] | None = None
    check_selection: frozenset[AssetCheckKey] | None = None
    resource_defs: Mapping[str, Any] = field(default_factory=dict)
    config: JobConfig | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    description: str | None = None
    executor_def: ExecutorDefinition | None = None
    partitions_def: PartitionsDefinition | None = None
    op_retry_policy: RetryPolicy | None = None
    hook_defs: frozenset[HookDefinition] = frozenset()

    def with_hooks(self, hook_defs: Iterable[HookDefinition]) -> JobDefinition:
        """This job with ``hook_defs`` added: they run after every step of its runs."""
        hooks = check_hooks(hook_defs, self.describe())
        return dataclasses.replace(self, hook_defs=self.hook_defs | hooks)

    @staticmethod
    def for_graph(  # noqa: PLR0913 (the keyword arguments of GraphDefinition.to_job)
        graph_def: GraphDefinition,
        *,
        name: str,
        description: str | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        config: Any = None,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        executor_def: ExecutorDefinition | None = None,
        partitions_def: PartitionsDefinition | None = None,
        op_retry_policy: RetryPolicy | None = None,
    ) -> JobDefinition:
        owner = f"job {check_node_name(name, 'job')!r}"
        config, partitions_def = normalize_job_config(config, partitions_def, owner)
        check_default_op_config(graph_def, config, name)
        return JobDefinition(
            name=name,
            graph_def=graph_def,
            resource_defs=dict(resource_defs or {}),
            config=config,
            tags=check_tags(dict(tags) if tags else None, owner),
            metadata=normalize_metadata(metadata, owner),
            description=description,
            executor_def=executor_def,
            partitions_def=partitions_def,
            op_retry_policy=op_retry_policy,
        )

    @staticmethod
    def for_assets(  # noqa: PLR0913 (the keyword arguments of define_asset_job)
        asset_graph: AssetGraph,
        selection: frozenset[AssetKey],
        checks: frozenset[AssetCheckKey],
        *,
        name: str,
        resource_defs: Mapping[str, Any] | None = None,
        config: Any = None,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        description: str | None = None,
        executor_def: ExecutorDefinition | None = None,
        partitions_def: PartitionsDefinition | None = None,
    ) -> JobDefinition:
        owner = f"job {check_node_name(name, 'job')!r}"
        config, partitions_def = normalize_job_config(config, partitions_def, owner)
        return JobDefinition(
            name=name,
            asset_graph=asset_graph,
            asset_selection=selection,
            check_selection=checks,
            resource_defs=dict(resource_defs or {}),
            config=config,
            tags=check_tags(dict(tags) if tags else None, owner),
            metadata=normalize_metadata(metadata, owner),
            description=description,
            executor_def=executor_def,
            partitions_def=partitions_def,
        )

    @property
    def is_asset_job(self) -> bool:
        return self.asset_graph is not None

    def describe(self) -> str:
        return f"job {self.name!r}"

    def execute_in_process(  # noqa: PLR0913 (Dagster's keyword arguments)
        self,
        run_config: Any = None,
        *,
        resources: Mapping[str, Any] | None = None,
        partition_key: str | None = None,
        tags: Mapping[str, str] | None = None,
        raise_on_error: bool = True,
        run_id: str | None = None,
        instance: Any = None,
        asset_selection: Any = None,
        op_selection: Any = None,
    ) -> Any:
        """Run this job in the current process and return an ``ExecuteInProcessResult``."""
        return runtime().execute_job(
            self,
            {
                "run_config": run_config,
                "resources": resources,
                "partition_key": partition_key,
                "tags": tags,
                "raise_on_error": raise_on_error,
                "run_id": run_id,
                "instance": instance,
                "asset_selection": asset_selection,
                "op_selection": op_selection,
            },
        )


@dataclass(frozen=True)
class UnresolvedAssetJobDefinition:
    """An asset job declared by name and selection; ``Definitions`` resolves it into a job."""

    name: str
    selection: AssetSelection
    config: JobConfig | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    partitions_def: PartitionsDefinition | None = None
    executor_def: ExecutorDefinition | None = None
    hook_defs: frozenset[HookDefinition] = frozenset()

    def resolve(
        self,
        asset_graph: AssetGraph,
        resource_defs: Mapping[str, Any],
        default_executor: ExecutorDefinition | None,
    ) -> JobDefinition:
        keys = self.selection.resolve(asset_graph)
        checks = self.selection.resolve_checks(asset_graph)
        if not keys and not checks:
            if self.name.startswith("__") and not self.name.startswith(ANONYMOUS_JOB_PREFIX):
                raise DefinitionError(
                    f"the selection {self.selection.describe()} holds no asset that knoll can "
                    "materialize and no asset check: fix the selection, or give Definitions "
                    "an @asset or an @asset_check."
                )
            raise DefinitionError(
                f"asset job {self.name!r} selects no assets ({self.selection.describe()})."
            )
        _check_subsets(asset_graph, keys, self.name)
        partitions_def = self.partitions_def or _common_partitions_def(asset_graph, keys, self.name)
        resolved = JobDefinition.for_assets(
            asset_graph,
            keys,
            checks,
            name=self.name,
            resource_defs=resource_defs,
            config=self.config,
            tags=self.tags,
            metadata=self.metadata,
            description=self.description,
            executor_def=self.executor_def or default_executor,
            partitions_def=partitions_def,
        )
        return dataclasses.replace(resolved, hook_defs=self.hook_defs)


def _check_subsets(asset_graph: AssetGraph, keys: frozenset[AssetKey], job_name: str) -> None:
    """Fail now, not when the job runs, if it splits a multi-asset that cannot be split."""
    checked: set[int] = set()
    for key in keys:
        assets_def = asset_graph.node(key).assets_def
        if id(assets_def) in checked or not assets_def.is_executable:
            continue
        checked.add(id(assets_def))
        try:
            assets_def.subset_for(keys)
        except DefinitionError as exc:
            raise DefinitionError(f"{_selects(job_name)} part of a multi-asset: {exc}") from None


def _selects(job_name: str) -> str:
    # Internal jobs are not the user's: name the schedule or sensor, or the selection, instead.
    if job_name.startswith(ANONYMOUS_JOB_PREFIX):
        return f"the target of {job_name.removeprefix(ANONYMOUS_JOB_PREFIX)!r} holds"
    return "the selection holds" if job_name.startswith("__") else f"asset job {job_name!r} selects"


def _common_partitions_def(
    asset_graph: AssetGraph, keys: frozenset[AssetKey], job_name: str
) -> PartitionsDefinition | None:
    found: dict[Any, list[AssetKey]] = {}
    for key in sorted(keys):  # sorted: the message lists the definitions in a stable order
        node = asset_graph.node(key)
        if not node.is_executable:
            continue
        pdef = node.assets_def.partitions_def
        if pdef is not None:
            found.setdefault(pdef, []).append(key)
    if len(found) > 1:
        shown = "; ".join(
            f"{pdef.describe()}: {', '.join(sorted(k.to_user_string() for k in ks)[:3])}"
            for pdef, ks in found.items()
        )
        raise DefinitionError(
            f"{_selects(job_name)} assets with different partitions ({shown}). "
            "A job runs one partition at a time: split it into one job per partitions definition."
        )
    return next(iter(found), None)


def define_asset_job(  # noqa: PLR0913 (Dagster's keyword arguments)
    name: str,
    selection: Any = None,
    *,
    config: Any = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    executor_def: ExecutorDefinition | None = None,
    hooks: Iterable[HookDefinition] | None = None,
) -> UnresolvedAssetJobDefinition:
    """Declare a job that materializes a selection of assets (every asset if none is given)."""
    owner = f"job {check_node_name(name, 'job')!r}"
    config, partitions_def = normalize_job_config(config, partitions_def, owner)
    return UnresolvedAssetJobDefinition(
        name=name,
        selection=AssetSelection.all()
        if selection is None
        else AssetSelection.from_coercible(selection),
        config=config,
        description=description,
        tags=check_tags(dict(tags) if tags else None, owner),
        metadata=dict(metadata or {}),
        partitions_def=partitions_def,
        executor_def=executor_def,
        hook_defs=check_hooks(hooks, owner),
    )
