"""``Definitions``: everything a code location offers, validated together."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from knoll._utils import did_you_mean, gc_paused
from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_graph import AssetGraph
from knoll.defs.asset_spec import AssetSpec
from knoll.defs.check import AssetChecksDefinition
from knoll.defs.executor import ExecutorDefinition
from knoll.defs.job import JobDefinition, UnresolvedAssetJobDefinition, define_asset_job
from knoll.defs.keys import AssetKey
from knoll.defs.op import OpDefinition
from knoll.defs.resource_binding import merge_bound_resources, resources_bound_to
from knoll.defs.selection import AssetSelection
from knoll.errors import DefinitionError, DuplicateKeyError

if TYPE_CHECKING:
    from knoll.defs.partitioned_schedule import UnresolvedPartitionedAssetScheduleDefinition
    from knoll.defs.schedule import ScheduleDefinition
    from knoll.defs.sensor import SensorDefinition

IMPLICIT_ASSET_JOB = "__asset_job"
DEFAULT_IO_MANAGER_KEY = "io_manager"


class Definitions:
    """The assets, checks, jobs, schedules, sensors and resources of one code location."""

    def __init__(
        self,
        assets: Iterable[AssetsDefinition | AssetSpec] | None = None,
        asset_checks: Iterable[AssetChecksDefinition] | None = None,
        jobs: Iterable[JobDefinition | UnresolvedAssetJobDefinition] | None = None,
        schedules: Iterable[ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition]
        | None = None,
        sensors: Iterable[SensorDefinition] | None = None,
        resources: Mapping[str, Any] | None = None,
        executor: ExecutorDefinition | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        # What the user passed, as Dagster keeps it (a list stays that list); an empty tuple
        # or dict when nothing was passed, where Dagster has None, so that loops need no guard.
        self.assets: Sequence[AssetsDefinition | AssetSpec] = _as_given(assets)
        self.asset_checks: Sequence[AssetChecksDefinition] = _as_given(asset_checks)
        # schedules of partitioned asset jobs are resolved with their job below
        self.schedules = cast("Sequence[ScheduleDefinition]", _as_given(schedules))
        self.sensors: Sequence[SensorDefinition] = _as_given(sensors)
        # resources bound to assets with with_resources() join the ones given here
        bound = resources_bound_to(self.assets)
        self.resources: Mapping[str, Any] = (
            merge_bound_resources([bound, resources or {}], "Definitions")
            if bound
            else (resources if resources is not None else {})
        )
        self.executor = executor
        self.metadata = dict(metadata or {})
        self._declared_jobs: Sequence[JobDefinition | UnresolvedAssetJobDefinition] = _as_given(
            jobs
        )
        with gc_paused():
            self.asset_graph = AssetGraph(self.assets, self.asset_checks)
            self._jobs = self._resolve_jobs()
            # a schedule built from an asset job whose partitions come from its assets
            if any(hasattr(s, "resolve_with_job") for s in self.schedules):
                self.schedules = tuple(
                    s.resolve_with_job(self._jobs[s.job_name])
                    if hasattr(s, "resolve_with_job")
                    else s
                    for s in self.schedules
                )
            self._validate_resources()
            self._validate_partition_mappings()
        self._validate_unique(self.schedules, "schedule")
        self._validate_unique(self.sensors, "sensor")

    # ---- building --------------------------------------------------------------------
    def _resolve_jobs(self) -> dict[str, JobDefinition]:
        owners: list[ScheduleDefinition | SensorDefinition] = [*self.schedules, *self.sensors]
        jobs = self._resolve_declared(self._jobs_with_targets(owners))
        for owner in owners:
            targeted = getattr(owner, "job_names", None) or (owner.job_name,)
            for job_name in targeted:
                if job_name is not None and job_name not in jobs:
                    kind = "schedule" if owner in self.schedules else "sensor"
                    raise DefinitionError(
                        f"{kind} {owner.name!r} targets job {job_name!r}, which is not defined."
                        f"{did_you_mean(job_name, jobs)} Add the job to Definitions(jobs=[...])."
                    )
        return jobs

    def _jobs_with_targets(
        self, owners: Sequence[ScheduleDefinition | SensorDefinition]
    ) -> list[JobDefinition | UnresolvedAssetJobDefinition]:
        """The declared jobs plus those that schedules and sensors target and nobody declared."""
        declared = list(self._declared_jobs)
        names = {getattr(j, "name", None) for j in declared}
        for target_owner in owners:
            target = getattr(target_owner, "target", None)
            job_name = target_owner.job_name
            if target is None or job_name is None or job_name in names:
                continue
            job_obj = (
                target
                if hasattr(target, "name") and not isinstance(target, AssetSelection)
                else None
            )
            if isinstance(job_obj, (JobDefinition, UnresolvedAssetJobDefinition)):
                declared.append(job_obj)
            else:
                declared.append(define_asset_job(job_name, AssetSelection.from_coercible(target)))
            names.add(job_name)
        for target_owner in owners:
            # a schedule has one ``job``; a sensor may target several (``jobs``)
            job_objs = getattr(target_owner, "jobs", None) or (getattr(target_owner, "job", None),)
            for job_obj in job_objs:
                if isinstance(job_obj, (JobDefinition, UnresolvedAssetJobDefinition)) and (
                    job_obj.name not in names
                ):
                    declared.append(job_obj)
                    names.add(job_obj.name)
        return declared

    def _resolve_declared(
        self, declared: Sequence[JobDefinition | UnresolvedAssetJobDefinition]
    ) -> dict[str, JobDefinition]:
        jobs: dict[str, JobDefinition] = {}
        seen_objects: set[int] = set()
        for item in declared:
            if id(item) in seen_objects:
                continue  # the same job object given twice (e.g. by merged Definitions)
            seen_objects.add(id(item))
            if isinstance(item, UnresolvedAssetJobDefinition):
                job = item.resolve(self.asset_graph, self.resources, self.executor)
            elif isinstance(item, JobDefinition):
                job = item
                if self.resources:
                    merged = {**self.resources, **job.resource_defs}
                    job = _replace_resources(job, merged)
            else:
                raise DefinitionError(
                    f"Definitions(jobs=...) got a {type(item).__name__} ({item!r}): give jobs "
                    "made with @job, graph.to_job() or define_asset_job()."
                )
            if job.name in jobs:
                raise DuplicateKeyError(
                    f"two jobs are named {job.name!r}; job names must be unique in a code location."
                )
            jobs[job.name] = job
        return jobs

    def _validate_unique(self, items: Sequence[Any], kind: str) -> None:
        seen: set[str] = set()
        for item in items:
            if item.name in seen:
                raise DuplicateKeyError(f"two {kind}s are named {item.name!r}; rename one.")
            seen.add(item.name)

    def _validate_resources(self) -> None:
        available = set(self.resources) | {DEFAULT_IO_MANAGER_KEY}
        # Most ops share one output mapping (see knoll.defs.op): check each mapping once.
        provided_outputs: set[int] = set()
        for assets_def in self.asset_graph.assets_defs:
            op_def = assets_def.op
            if op_def is None or (
                not op_def.required_resource_keys and id(op_def.output_defs) in provided_outputs
            ):
                continue
            # The owner's name is built only for the error: most assets need nothing missing.
            if _missing_resource(op_def, available):
                _check_keys(op_def, assets_def.describe(), available)
            provided_outputs.add(id(op_def.output_defs))
        for check in self.asset_graph.check_defs:
            _check_keys(check.op, check.describe(), available)
        for job in self._jobs.values():
            if job.graph_def is None:
                continue
            job_available = available | set(job.resource_defs)
            for handle, op_def in job.graph_def.iterate_ops():
                _check_keys(op_def, f"op {handle!r} in job {job.name!r}", job_available)

    def _validate_partition_mappings(self) -> None:
        graph = self.asset_graph
        partitioned = {n.key for n in graph.nodes() if n.assets_def.partitions_def is not None}
        for assets_def in graph.assets_defs:
            if assets_def.op is None:
                continue  # external assets are not computed: nothing to map
            specs = assets_def.specs_by_output.values()
            mapped = [d.asset_key for s in specs for d in s.deps if d.partition_mapping is not None]
            if not partitioned and not mapped:
                continue  # no partitions anywhere and no mapping here: nothing to infer
            for spec in specs:
                for parent in graph.node(spec.key).parents:
                    if parent not in partitioned and parent not in mapped:
                        continue  # an unpartitioned parent and no mapping: nothing to infer
                    _infer_mapping(graph, assets_def, parent)

    # ---- access ----------------------------------------------------------------------
    def get_asset_graph(self) -> AssetGraph:
        return self.asset_graph

    @property
    def jobs(self) -> Sequence[JobDefinition | UnresolvedAssetJobDefinition]:
        """The jobs passed to ``jobs=``, as passed (asset jobs unresolved), as in Dagster.

        Use :meth:`get_job_def` or :attr:`job_defs` for resolved jobs, including those that
        schedules and sensors target without being listed.
        """
        return self._declared_jobs

    @property
    def job_defs(self) -> Mapping[str, JobDefinition]:
        """Every job of the code location by name, resolved (not the implicit asset job)."""
        return self._jobs

    def resolve_job_def(self, name: str) -> JobDefinition:
        """Dagster's newer name for :meth:`get_job_def`."""
        return self.get_job_def(name)

    def resolve_all_job_defs(self) -> list[JobDefinition]:
        """Dagster's newer name for :meth:`get_all_job_defs`."""
        return self.get_all_job_defs()

    def get_implicit_global_asset_job_def(self) -> JobDefinition:
        """The internal job over every materializable asset (see :meth:`get_implicit_asset_job`)."""
        return self.get_implicit_asset_job()

    def resolve_implicit_global_asset_job_def(self) -> JobDefinition:
        return self.get_implicit_asset_job()

    def get_job_def(self, name: str) -> JobDefinition:
        """The job named ``name`` (asset jobs resolved against these assets)."""
        try:
            return self._jobs[name]
        except KeyError:
            raise DefinitionError(
                f"no job named {name!r} in these definitions.{did_you_mean(name, self._jobs)} "
                f"Jobs: {', '.join(sorted(self._jobs)) or 'none'}."
            ) from None

    def get_all_job_defs(self) -> list[JobDefinition]:
        return list(self._jobs.values())

    def get_schedule_def(self, name: str) -> ScheduleDefinition:
        for item in self.schedules:
            if item.name == name:
                return item
        raise _not_found("schedule", name, [s.name for s in self.schedules])

    def get_sensor_def(self, name: str) -> SensorDefinition:
        for item in self.sensors:
            if item.name == name:
                return item
        raise _not_found("sensor", name, [s.name for s in self.sensors])

    def get_assets_def(self, key: AssetKey | str | Sequence[str]) -> AssetsDefinition:
        return self.asset_graph.assets_def_for(AssetKey.from_coercible(key))

    def get_implicit_asset_job(self, selection: Any = None) -> JobDefinition:
        """A job over ``selection``; by default every materializable asset and every check,
        the checks of external assets included (as Dagster's ``__ASSET_JOB``)."""
        sel = (
            AssetSelection.all() | AssetSelection.all_asset_checks()
            if selection is None
            else AssetSelection.from_coercible(selection)
        )
        return define_asset_job(IMPLICIT_ASSET_JOB, sel).resolve(
            self.asset_graph, self.resources, self.executor
        )

    @staticmethod
    def merge(*defs: Definitions) -> Definitions:
        """One ``Definitions`` holding everything of several; duplicate names are errors."""
        resources: dict[str, Any] = {}
        executor: ExecutorDefinition | None = None
        for item in defs:
            for key, value in item.resources.items():
                if key in resources and resources[key] is not value:
                    raise DuplicateKeyError(
                        f"Definitions.merge: resource {key!r} is defined differently in two of "
                        "the merged definitions; keep one."
                    )
                resources[key] = value
            if item.executor is not None:
                if executor is not None and executor != item.executor:
                    raise DefinitionError(
                        "Definitions.merge: two of the merged definitions set different executors."
                    )
                executor = item.executor
        return Definitions(
            assets=[a for d in defs for a in d.assets],
            asset_checks=[c for d in defs for c in d.asset_checks],
            jobs=[j for d in defs for j in d._declared_jobs],
            schedules=[s for d in defs for s in d.schedules],
            sensors=[s for d in defs for s in d.sensors],
            resources=resources,
            executor=executor,
            metadata={k: v for d in defs for k, v in d.metadata.items()},
        )


def _as_given(items: Iterable[Any] | None) -> Sequence[Any]:
    """``items`` itself when it is a list or tuple, else its items in a tuple (``()`` for None)."""
    if items is None:
        return ()
    return items if isinstance(items, (list, tuple)) else tuple(items)


def _infer_mapping(graph: AssetGraph, assets_def: AssetsDefinition, parent: AssetKey) -> None:
    # Imported only when an asset is partitioned: most code locations never load the
    # partitions package while declaring their assets.
    from knoll.defs.partitions import infer_partition_mapping

    infer_partition_mapping(
        assets_def.partition_mapping_for(parent),
        assets_def.partitions_def,
        graph.node(parent).assets_def.partitions_def,
        f"the dependency of {assets_def.describe()} on {parent.to_user_string()!r}",
    )


def _replace_resources(job: JobDefinition, resources: Mapping[str, Any]) -> JobDefinition:
    return dataclasses.replace(job, resource_defs=dict(resources))


def _missing_resource(op_def: OpDefinition, available: set[str]) -> str | None:
    """The first resource key (sorted) that ``op_def`` needs and nobody provides, if any."""
    missing = [key for key in op_def.required_resource_keys if key not in available]
    missing += [
        o.io_manager_key for o in op_def.output_defs.values() if o.io_manager_key not in available
    ]
    return min(missing) if missing else None


def _check_keys(op_def: OpDefinition, owner: str, available: set[str]) -> None:
    key = _missing_resource(op_def, available)
    if key is not None:
        raise DefinitionError(
            f"{owner} ({op_def.source}) requires resource {key!r}, which is not provided."
            f"{did_you_mean(key, available)} Add it: Definitions(resources={{{key!r}: ...}})."
        )


def _not_found(kind: str, name: str, names: Sequence[str]) -> DefinitionError:
    return DefinitionError(f"no {kind} named {name!r}.{did_you_mean(name, names)}")


class LazyDefinitions:
    """A function that builds a code location's ``Definitions`` when it is loaded.

    ``@definitions`` makes one. Calling it runs the function and checks that it returned a
    ``Definitions``; the code-location loader calls it the same way, so nothing is built at
    import time beyond what the module itself does.
    """

    def __init__(self, load_fn: Callable[[], Definitions]) -> None:
        self.load_fn = load_fn
        self.__name__ = getattr(load_fn, "__name__", "definitions")
        self.__doc__ = load_fn.__doc__

    def __call__(self) -> Definitions:
        result = self.load_fn()
        if not isinstance(result, Definitions):
            raise DefinitionError(
                f"@definitions function {self.__name__!r} returned a {type(result).__name__}, "
                "not a Definitions; end it with `return Definitions(assets=[...])`."
            )
        return result

    def __repr__(self) -> str:
        return f"LazyDefinitions({self.__name__})"


def definitions(fn: Callable[[], Definitions]) -> LazyDefinitions:
    """Mark a function without parameters as the builder of a code location's definitions.

    The loader finds the decorated function at module level and calls it; tests may call it
    directly: ``defs = my_definitions()``.
    """
    if not callable(fn):
        raise DefinitionError(
            f"@definitions decorates a function, not a {type(fn).__name__}; write "
            "`@definitions` above `def defs() -> Definitions:`."
        )
    required = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if required:
        raise DefinitionError(
            f"@definitions function {getattr(fn, '__name__', fn)!r} takes parameters "
            f"({', '.join(required)}); it is called without arguments, so remove them."
        )
    return LazyDefinitions(fn)
