"""Launching a backfill: check the request against a code location's definitions, plan its
groups and store it as REQUESTED, for the daemon's ``backfills`` duty to submit its runs.

The code server is asked a few times per backfill, never once per run: for the snapshot, to
resolve the asset selection, and to build one template run per group (two when a job's run
config could depend on the partition: if the two differ, each run of that group is built by
the code server when the daemon submits it).
"""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from knoll._utils import did_you_mean
from knoll.daemon.backfill.model import (
    BACKFILL_TAG,
    REQUESTED,
    BackfillBody,
    Edge,
    Group,
    split_chunks,
    without_partition,
)
from knoll.defs.keys import AssetKey
from knoll.defs.partitions import (
    PartitionKeyRange,
    PartitionMapping,
    PartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    infer_partition_mapping,
    partition_mapping_from_snapshot,
    partitions_def_from_snapshot,
)
from knoll.errors import CodeServerError, InvalidInvocationError, PartitionKeyError, StorageError
from knoll.execution.run import Run
from knoll.instance.launcher import LaunchRequest
from knoll.storage.base import PRIORITY_TAG, Backfill, BackfillStatus

if TYPE_CHECKING:
    from knoll.codeloc.client import LocationSnapshot
    from knoll.instance import Instance

__all__ = ["BackfillClient", "BackfillRequest", "launch_backfill", "new_backfill_id"]

_ID_ALPHABET = string.ascii_lowercase
_ID_LENGTH = 8


class BackfillClient(Protocol):
    """What launching needs of a code server (``CodeServerClient`` has it all)."""

    def snapshot(self) -> LocationSnapshot: ...

    def resolve_selection(self, selection: str) -> list[AssetKey]: ...

    def build_run(self, request: LaunchRequest, instance_home: str | None = None) -> Run: ...


@dataclass(frozen=True)
class BackfillRequest:
    """What to backfill: assets (``selection``) or a job (``job_name``), and which partitions:
    ``partition_keys``, a ``partition_range`` (first, last), ``all_partitions`` or the time
    partitions whose windows overlap ``time_window`` (start, end). The partitions apply to the
    selection's roots; the assets downstream of them get the partitions that the partition
    mappings give."""

    selection: str | None = None
    job_name: str | None = None
    partition_keys: Sequence[str] | None = None
    partition_range: tuple[str, str] | None = None
    all_partitions: bool = False
    time_window: tuple[datetime, datetime] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    run_config: Mapping[str, Any] = field(default_factory=dict)

    def describe_partitions(self) -> str:
        if self.partition_keys is not None:
            return ", ".join(self.partition_keys)
        if self.partition_range is not None:
            return f"{self.partition_range[0]}...{self.partition_range[1]}"
        if self.time_window is not None:
            start, end = self.time_window
            return f"from {start.isoformat()} to {end.isoformat()}"
        return "all partitions"


def new_backfill_id() -> str:
    """Eight random lowercase letters (as Dagster names backfills)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def launch_backfill(
    instance: Instance, client: BackfillClient, request: BackfillRequest
) -> Backfill:
    """Check ``request`` against the definitions ``client`` serves, plan it and store it as a
    REQUESTED backfill: the daemon's ``backfills`` duty submits its runs."""
    _check_request(request)
    located = client.snapshot()
    if located.snapshot is None:
        message = located.error.message if located.error is not None else "it did not load"
        raise CodeServerError(
            f"code location {located.location_name!r} has no definitions to backfill: "
            f"{message}. Fix its code, then launch the backfill again."
        )
    backfill_id = new_backfill_id()
    home = None if instance.home is None else str(instance.home)
    planner = _Planner(instance, client, located.snapshot, request, backfill_id, home)
    groups = planner.job_groups() if request.job_name is not None else planner.asset_groups()
    body = BackfillBody(
        kind="job" if request.job_name is not None else "assets",
        target=request.job_name or request.selection or "",
        location=located.location_name,
        requested=request.describe_partitions(),
        tags=dict(request.tags),
        run_config=dict(request.run_config),
        groups=groups,
    )
    backfill = Backfill(backfill_id, BackfillStatus.REQUESTED, time.time(), body.to_json())
    try:
        instance.storage.add_backfill(backfill)
    except StorageError:  # eight letters taken already: draw again, once
        backfill = replace(backfill, backfill_id=new_backfill_id())
        instance.storage.add_backfill(backfill)
    return backfill


def _check_request(request: BackfillRequest) -> None:
    if (request.selection is None) == (request.job_name is None):
        raise InvalidInvocationError(
            "a backfill needs what to run: give an asset selection (--select 'orders+') or a "
            "job (--job daily_job), not both."
        )
    ways = [
        request.partition_keys is not None,
        request.partition_range is not None,
        request.all_partitions,
        request.time_window is not None,
    ]
    if sum(ways) != 1:
        raise InvalidInvocationError(
            f"backfill of {request.selection or request.job_name!r}: say which partitions in "
            "one way: --partition KEY (repeatable), --partitions FIRST...LAST, --all, or "
            "--from TIME --to TIME."
        )
    if request.partition_keys is not None and not request.partition_keys:
        raise InvalidInvocationError("the backfill's list of partition keys is empty.")
    if request.time_window is not None and not request.time_window[0] < request.time_window[1]:
        start, end = request.time_window
        raise InvalidInvocationError(
            f"--from {start.isoformat()} is not before --to {end.isoformat()}: give a window "
            "whose start comes first."
        )
    priority = request.tags.get(PRIORITY_TAG)
    if priority is not None:
        try:
            int(priority)
        except ValueError:
            raise InvalidInvocationError(
                f"tag {PRIORITY_TAG}={priority!r} of the backfill is not an integer: write a "
                "whole number such as '10' (higher starts first) or '-1'."
            ) from None


@dataclass
class _Asset:
    key: AssetKey
    entry: Mapping[str, Any]
    pdef: PartitionsDefinition
    parents: list[AssetKey] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    group: int = -1

    @property
    def name(self) -> str:
        return self.key.to_user_string()


class _Planner:
    """Turns one request into the groups of a backfill body."""

    def __init__(
        self,
        instance: Instance,
        client: BackfillClient,
        snapshot: Mapping[str, Any],
        request: BackfillRequest,
        backfill_id: str,
        home: str | None,
    ) -> None:
        self.instance = instance
        self.client = client
        self.snapshot = snapshot
        self.request = request
        self.backfill_id = backfill_id
        self.home = home
        self.store = instance.storage
        self._pdefs: dict[str, PartitionsDefinition] = {}
        self._order: dict[str, dict[str, int]] = {}

    # ---- partitions ---------------------------------------------------------------------------

    def pdef(self, data: Mapping[str, Any]) -> PartitionsDefinition:
        text = json.dumps(data, sort_keys=True)
        if text not in self._pdefs:
            self._pdefs[text] = partitions_def_from_snapshot(data)
        return self._pdefs[text]

    def order(self, pdef: PartitionsDefinition) -> dict[str, int]:
        text = json.dumps(pdef.to_snapshot(), sort_keys=True)
        if text not in self._order:
            keys = pdef.get_partition_keys(dynamic_partitions_store=self.store)
            self._order[text] = {key: index for index, key in enumerate(keys)}
        return self._order[text]

    def requested_keys(self, pdef: PartitionsDefinition, owner: str) -> list[str]:
        """The partitions of ``pdef`` the request names, checked; ``owner`` is for messages."""
        keys = self._requested_keys(pdef, owner)
        if not keys:
            raise PartitionKeyError(
                f"{owner} has no partition {self.request.describe_partitions()} (it has "
                f"{pdef.describe()}): ask for partitions it has, for example with --all."
            )
        return keys

    def _requested_keys(self, pdef: PartitionsDefinition, owner: str) -> list[str]:
        request = self.request
        if request.partition_keys is not None:
            return [
                pdef.validate_partition_key(key, owner, dynamic_partitions_store=self.store)
                for key in request.partition_keys
            ]
        if request.partition_range is not None:
            first, last = request.partition_range
            try:
                keys = pdef.get_partition_keys_in_range(
                    PartitionKeyRange(first, last), dynamic_partitions_store=self.store
                )
            except PartitionKeyError as exc:
                raise PartitionKeyError(f"{owner}: {exc}") from None
            return list(keys)
        if request.time_window is not None:
            if not isinstance(pdef, TimeWindowPartitionsDefinition):
                raise PartitionKeyError(
                    f"{owner} has {pdef.describe()}, which are not time windows, so --from/--to "
                    "cannot pick them: name its partitions with --partition, --partitions or "
                    "--all."
                )
            start, end = (_aware(moment, pdef) for moment in request.time_window)
            return list(pdef.get_partition_keys_in_time_window(TimeWindow(start, end)))
        return list(pdef.get_partition_keys(dynamic_partitions_store=self.store))

    def segments(self, pdef: PartitionsDefinition, keys: set[str]) -> list[tuple[str, str]]:
        """``keys`` as contiguous runs of the definition's order: ``(first, last)`` pairs."""
        order = self.order(pdef)
        ranked = sorted(keys, key=order.__getitem__)
        segments: list[tuple[str, str]] = []
        previous = -2
        for key in ranked:
            index = order[key]
            if index == previous + 1:
                segments[-1] = (segments[-1][0], key)
            else:
                segments.append((key, key))
            previous = index
        return segments

    # ---- job backfills ------------------------------------------------------------------------

    def job_groups(self) -> list[Group]:
        name = self.request.job_name
        assert name is not None
        jobs = {job["name"]: job for job in self.snapshot.get("jobs", ())}
        job = jobs.get(name)
        if job is None:
            shown = ", ".join(sorted(n for n in jobs if not n.startswith("__"))) or "none"
            raise InvalidInvocationError(
                f"there is no job {name!r} in this code location.{did_you_mean(name, jobs)} "
                f"Its jobs: {shown}. Or backfill assets with --select."
            )
        if job.get("partitions") is None:
            raise InvalidInvocationError(
                f"job {name!r} is not partitioned, so it has no partitions to backfill: run it "
                f"once with `knoll run launch --job {name}`, or give it a partitions_def."
            )
        pdef = self.pdef(job["partitions"])
        keys = set(self.requested_keys(pdef, f"job {name!r}"))
        group = Group(
            name=name,
            assets=None,
            job_name=name,
            partitions=pdef.to_snapshot(),
            segments=self.segments(pdef, keys),
            max_per_run=1,
            parents=[],
            template=None,
        )
        return [self._with_template(group)]

    # ---- asset backfills ----------------------------------------------------------------------

    def asset_groups(self) -> list[Group]:
        selection = self.request.selection
        assert selection is not None
        keys = self.client.resolve_selection(selection)
        if not keys:
            raise InvalidInvocationError(
                f"asset selection {selection!r} selects no assets: name assets this location "
                "defines, for example --select 'orders+' (`knoll definitions list` shows them)."
            )
        assets = self._assets(keys, selection)
        self._assign_keys(assets)
        groups = self._group(assets)
        return [self._with_template(group) for group in groups]

    def _assets(self, keys: Sequence[AssetKey], selection: str) -> list[_Asset]:
        entries = {tuple(e["key"]): e for e in self.snapshot.get("assets", ())}
        chosen: dict[AssetKey, _Asset] = {}
        for key in keys:
            entry = entries.get(tuple(key.path))
            name = key.to_user_string()
            if entry is None or not entry.get("is_materializable"):
                raise InvalidInvocationError(
                    f"asset {name!r} (selected by {selection!r}) cannot be materialized here (it "
                    "is external or observable): leave it out of --select."
                )
            if entry.get("partitions") is None:
                raise InvalidInvocationError(
                    f"asset {name!r} (selected by {selection!r}) is not partitioned, and a "
                    "backfill materializes partitions: leave it out of --select, and "
                    f"materialize it with `knoll run launch --select {name}`."
                )
            chosen[key] = _Asset(key, entry, self.pdef(entry["partitions"]))
        for asset in chosen.values():
            asset.parents = [
                AssetKey(list(path))
                for path in asset.entry.get("deps", ())
                if AssetKey(list(path)) in chosen
            ]
        return _toposorted(chosen)

    def _mapping(self, child: _Asset, parent: _Asset) -> PartitionMapping:
        explicit = None
        for item in child.entry.get("partition_mappings", ()):
            if AssetKey(list(item["key"])) == parent.key:
                explicit = partition_mapping_from_snapshot(item["partition_mapping"])
        return infer_partition_mapping(explicit, child.pdef, parent.pdef, f"asset {child.name!r}")

    def _assign_keys(self, assets: Sequence[_Asset]) -> None:
        by_key = {asset.key: asset for asset in assets}
        for asset in assets:
            if not asset.parents:
                asset.keys = set(self.requested_keys(asset.pdef, f"asset {asset.name!r}"))
                continue
            for parent_key in asset.parents:
                parent = by_key[parent_key]
                if not parent.keys:
                    continue
                mapping = self._mapping(asset, parent)
                asset.keys.update(
                    mapping.get_downstream_partition_keys(
                        sorted(parent.keys),
                        parent.pdef,
                        asset.pdef,
                        dynamic_partitions_store=self.store,
                    )
                )

    def _group(self, assets: Sequence[_Asset]) -> list[Group]:
        """Assets that can share runs: one partitions definition, one policy, the same
        partitions, and, for an asset downstream of the group, identity mappings only."""
        by_key = {asset.key: asset for asset in assets}
        groups: list[Group] = []
        members: list[list[_Asset]] = []
        signatures: list[tuple[str, frozenset[int]]] = []
        for asset in assets:
            if not asset.keys:
                continue  # the mappings give it no partition of this backfill
            signature = json.dumps(
                [asset.entry["partitions"], asset.entry.get("backfill_policy"),
                 sorted(asset.keys)], sort_keys=True,
            )  # fmt: skip
            parents = [by_key[p] for p in asset.parents if by_key[p].keys]
            parent_groups = frozenset(p.group for p in parents)
            index = self._joinable(asset, parents, parent_groups, signature, signatures)
            if index is None:
                index = len(groups)
                groups.append(self._new_group(asset))
                members.append([])
                signatures.append((signature, parent_groups))
            asset.group = index
            members[index].append(asset)
            for parent in parents:
                if parent.group != index:
                    edge = Edge(parent.group, self._mapping(asset, parent).to_snapshot())
                    if edge not in groups[index].parents:
                        groups[index].parents.append(edge)
        for group, of_group in zip(groups, members, strict=True):
            group.assets = tuple(a.key for a in of_group)
            group.name = ", ".join(a.name for a in of_group)
        return groups

    def _joinable(
        self,
        asset: _Asset,
        parents: Sequence[_Asset],
        parent_groups: frozenset[int],
        signature: str,
        signatures: Sequence[tuple[str, frozenset[int]]],
    ) -> int | None:
        if len(parent_groups) == 1:
            (only,) = parent_groups
            identity = all(
                self._mapping(asset, p).to_snapshot().get("type") == "IdentityPartitionMapping"
                for p in parents
            )
            if identity and signatures[only][0] == signature:
                return only  # runs with its parents, in the same runs
        for index, (other, others_parents) in enumerate(signatures):
            if (
                other == signature
                and others_parents == parent_groups
                and index not in parent_groups
            ):
                return index  # a sibling: it waits for the same groups
        return None

    def _new_group(self, asset: _Asset) -> Group:
        policy = asset.entry.get("backfill_policy")
        max_per_run = 1 if policy is None else policy.get("max_partitions_per_run")
        return Group(
            name=asset.name,
            assets=(asset.key,),
            job_name=None,
            partitions=asset.entry["partitions"],
            segments=self.segments(asset.pdef, asset.keys),
            max_per_run=max_per_run,
            parents=[],
            template=None,
        )

    # ---- template runs --------------------------------------------------------------------------

    def _with_template(self, group: Group) -> Group:
        """``group`` with its template run, built by the code server, and its chunk states."""
        pdef = self.pdef(group.partitions)
        first = group.segments[0][0]
        last = group.segments[-1][1]
        template: Run | None = self._build(group, first)
        if template is not None and first != last:
            other = self._build(group, last)
            if other.run_config != template.run_config or without_partition(
                other.tags
            ) != without_partition(template.tags):
                template = None  # the run config depends on the partition: built per run
        if template is not None:
            template = replace(template, tags=without_partition(template.tags))
        sizes = [
            len(pdef.get_partition_keys_in_range(PartitionKeyRange(a, b),
                                                 dynamic_partitions_store=self.store))
            for a, b in group.segments
        ]  # fmt: skip
        chunks = split_chunks(sizes, group.max_per_run)
        group.template = template
        group.states = bytearray(REQUESTED.encode() * len(chunks))
        return group

    def _build(self, group: Group, key: str) -> Run:
        request = self.request
        launch = LaunchRequest(
            job_name=group.job_name,
            asset_selection=(
                None if group.assets is None
                else ", ".join(k.to_user_string() for k in group.assets)
            ),
            run_config=dict(request.run_config),
            tags={**request.tags, BACKFILL_TAG: self.backfill_id},
            partition_key=key,
        )  # fmt: skip
        return self.client.build_run(launch, self.home)


def _aware(moment: datetime, pdef: TimeWindowPartitionsDefinition) -> datetime:
    """``moment`` with the definition's timezone when it was given without one."""
    if moment.tzinfo is not None:
        return moment
    from zoneinfo import ZoneInfo

    return moment.replace(tzinfo=ZoneInfo(pdef.timezone))


def _toposorted(assets: Mapping[AssetKey, _Asset]) -> list[_Asset]:
    """Parents before children (the selection's own edges), ties by key."""
    done: set[AssetKey] = set()
    ordered: list[_Asset] = []
    pending = sorted(assets.values(), key=lambda a: a.key.path)
    while pending:
        ready = [a for a in pending if all(p in done for p in a.parents)]
        if not ready:  # a cycle cannot be defined; never loop forever on one
            raise InvalidInvocationError("the selected assets depend on each other in a loop.")
        for asset in ready:
            done.add(asset.key)
            ordered.append(asset)
        pending = [a for a in pending if a.key not in done]
    return ordered
