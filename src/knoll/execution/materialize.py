"""``materialize``: compute a list of assets in this process."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_graph import AssetGraph
from knoll.defs.asset_spec import AssetSpec
from knoll.defs.check import AssetChecksDefinition
from knoll.defs.job import JobDefinition
from knoll.defs.partitions import PartitionKeyRange
from knoll.defs.resource_binding import merge_bound_resources, resources_bound_to
from knoll.defs.selection import AssetSelection
from knoll.errors import InvalidInvocationError
from knoll.execution.executor import execute_in_process
from knoll.execution.prepare import EPHEMERAL_JOB
from knoll.execution.recorder import RunRecorder
from knoll.execution.result import ExecuteInProcessResult


def _split(
    assets: Sequence[AssetsDefinition | AssetSpec | AssetChecksDefinition],
) -> tuple[list[AssetsDefinition | AssetSpec], list[AssetChecksDefinition]]:
    if isinstance(assets, (AssetsDefinition, AssetSpec, AssetChecksDefinition)):
        raise InvalidInvocationError(
            "materialize() takes a list of assets: write materialize([my_asset])."
        )
    plain: list[AssetsDefinition | AssetSpec] = []
    checks: list[AssetChecksDefinition] = []
    for item in assets:
        if isinstance(item, AssetChecksDefinition):
            checks.append(item)
        else:
            plain.append(item)
    return plain, checks


def materialize(  # noqa: PLR0913 (Dagster's keyword arguments)
    assets: Sequence[AssetsDefinition | AssetSpec | AssetChecksDefinition],
    *,
    resources: Mapping[str, Any] | None = None,
    run_config: Any = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    selection: Any = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = True,
    run_id: str | None = None,
    instance: RunRecorder | None = None,
) -> ExecuteInProcessResult:
    """Materialize ``assets`` in this process and return the result.

    Every executable asset in the list is computed unless ``selection`` narrows it; the
    others (and ``AssetSpec`` external assets) are loaded through their IO managers. Without an
    ``io_manager`` resource, outputs are pickled by a ``FilesystemIOManager``.
    """
    plain, checks = _split(assets)
    graph = AssetGraph(plain, checks)
    if selection is None:
        keys = graph.executable_keys
        check_keys = frozenset(c for k in keys for c in graph.checks_for(k))
    else:  # a selection picks checks too (AssetSelection.checks(...), minus checks_for_assets)
        chosen = AssetSelection.from_coercible(selection)
        keys = chosen.resolve(graph)
        check_keys = chosen.resolve_checks(graph)
    job = JobDefinition.for_assets(graph, frozenset(keys), check_keys, name=EPHEMERAL_JOB)
    return execute_in_process(
        job,
        run_config=run_config,
        resources=merge_bound_resources(
            [resources_bound_to(plain), resources or {}], "materialize"
        ),
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        tags=tags,
        raise_on_error=raise_on_error,
        run_id=run_id,
        instance=instance,
    )


def materialize_to_memory(  # noqa: PLR0913 (Dagster's keyword arguments)
    assets: Sequence[AssetsDefinition | AssetSpec | AssetChecksDefinition],
    *,
    resources: Mapping[str, Any] | None = None,
    run_config: Any = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    selection: Any = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = True,
    run_id: str | None = None,
    instance: RunRecorder | None = None,
) -> ExecuteInProcessResult:
    """Like ``materialize``, but every IO manager is replaced by one in-memory IO manager."""
    from knoll.execution.io_managers import InMemoryIOManager

    plain, checks = _split(assets)
    io_keys = {"io_manager"}
    for item in plain:
        if isinstance(item, AssetsDefinition) and item.op is not None:
            io_keys.update(o.io_manager_key for o in item.op.output_defs.values())
    given = dict(resources or {})
    clashes = sorted(k for k in io_keys if k in given and k != "io_manager")
    if clashes:
        raise InvalidInvocationError(
            f"materialize_to_memory replaces IO managers, but resources= sets {clashes[0]!r}; "
            "remove it, or use materialize()."
        )
    memory = InMemoryIOManager()
    given.update(dict.fromkeys(io_keys, memory))
    # IO managers bound with with_resources are replaced too; their other resources stay
    plain = [
        dataclasses.replace(
            a, resource_defs={k: v for k, v in a.resource_defs.items() if k not in io_keys}
        )
        if isinstance(a, AssetsDefinition) and a.resource_defs
        else a
        for a in plain
    ]
    return materialize(
        [*plain, *checks],
        resources=given,
        run_config=run_config,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        selection=selection,
        tags=tags,
        raise_on_error=raise_on_error,
        run_id=run_id,
        instance=instance,
    )
