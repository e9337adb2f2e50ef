"""What a stored backfill holds (its body), and the plan of runs derived from it.

A backfill's body is plain JSON: the request (assets or job, tags, run config), then one
*group* per set of assets that run together (the assets of one partitions definition and one
backfill policy, or the job). A group names its partitions as contiguous segments of its
partitions definition (``[first, last]`` key pairs), the upstream groups it waits for (with the
partition mapping that joins them), the template run the code server built for it, and one
state letter per *chunk* (one run's partitions) with the attempt of that chunk's run:

``r`` requested (no run yet), ``s`` submitted (its run is queued or in progress), ``m``
materialized (its run succeeded), ``f`` failed, ``x`` canceled, ``k`` skipped (an upstream
chunk failed).

Chunks are a pure function of the segments and the policy, and a chunk's run id is
``derived_run_id(backfill_id, group, first key, last key[, attempt])``: whatever a daemon did
before it crashed, the same chunk always names the same run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from knoll._serdes import pack, unpack
from knoll.defs.keys import AssetKey
from knoll.defs.partitions import (
    PartitionKeyRange,
    PartitionMapping,
    PartitionsDefinition,
    partition_mapping_from_snapshot,
    partitions_def_from_snapshot,
)
from knoll.defs.partitions.dynamic import DynamicPartitionsReader
from knoll.errors import KnollError
from knoll.execution.run import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    Run,
    RunStatus,
    derived_run_id,
)

BODY_VERSION = 1
BACKFILL_TAG = "knoll/backfill"
"""Run tag naming the backfill a run belongs to."""

REQUESTED, SUBMITTED, MATERIALIZED, FAILED, CANCELED, SKIPPED = "r", "s", "m", "f", "x", "k"
ENDED = frozenset((MATERIALIZED, FAILED, CANCELED, SKIPPED))
_ATTEMPTS = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_ATTEMPTS = len(_ATTEMPTS)

_STATE_OF_RUN = {
    RunStatus.SUCCESS: MATERIALIZED,
    RunStatus.FAILURE: FAILED,
    RunStatus.CANCELED: CANCELED,
}


def state_of_run(status: RunStatus) -> str:
    """The chunk state a run's status stands for (submitted while it has not finished)."""
    return _STATE_OF_RUN.get(status, SUBMITTED)


@dataclass(frozen=True)
class Edge:
    """An upstream group a group waits for, and the mapping from its partitions to theirs."""

    group: int
    mapping: Mapping[str, Any]  # the mapping's snapshot


@dataclass
class Group:
    """Assets (or a job) that run together, with the state of each of their chunks."""

    name: str
    assets: tuple[AssetKey, ...] | None  # None: the runs of a job
    job_name: str | None
    partitions: Mapping[str, Any]  # the partitions definition's snapshot
    segments: list[tuple[str, str]]
    max_per_run: int | None  # None: one run per segment
    parents: list[Edge]
    template: Run | None  # None: each run is built by the code server
    states: bytearray = field(default_factory=bytearray)
    attempts: bytearray = field(default_factory=bytearray)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "assets": None if self.assets is None else [list(k.path) for k in self.assets],
            "job": self.job_name,
            "partitions": dict(self.partitions),
            "segments": [list(s) for s in self.segments],
            "max_partitions_per_run": self.max_per_run,
            "parents": [{"group": e.group, "mapping": dict(e.mapping)} for e in self.parents],
            "template": None if self.template is None else pack(self.template),
            "states": self.states.decode(),
            "attempts": self.attempts.decode(),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Group:
        assets = data.get("assets")
        template = data.get("template")
        return Group(
            name=data["name"],
            assets=None if assets is None else tuple(AssetKey(list(p)) for p in assets),
            job_name=data.get("job"),
            partitions=data["partitions"],
            segments=[(s[0], s[1]) for s in data["segments"]],
            max_per_run=data.get("max_partitions_per_run"),
            parents=[Edge(int(e["group"]), e["mapping"]) for e in data.get("parents", ())],
            template=None if template is None else unpack(template),
            states=bytearray(data.get("states", "").encode()),
            attempts=bytearray(data.get("attempts", "").encode()),
        )

    def attempt(self, chunk: int) -> int:
        return _ATTEMPTS.index(chr(self.attempts[chunk])) if self.attempts else 0

    def next_attempt(self, chunk: int) -> None:
        """Give ``chunk`` a new run id (its run failed or was canceled and it runs again)."""
        if not self.attempts:
            self.attempts = bytearray(b"0" * len(self.states))
        attempt = self.attempt(chunk) + 1
        if attempt >= MAX_ATTEMPTS:
            raise KnollError(
                f"partitions of {self.name} have been requested {MAX_ATTEMPTS} times: launch a "
                "new backfill of what remains instead of resuming this one again."
            )
        self.attempts[chunk] = ord(_ATTEMPTS[attempt])


@dataclass
class BackfillBody:
    """The body of a stored backfill (see the module)."""

    kind: str  # "assets" or "job"
    target: str  # the selection, or the job's name
    location: str
    requested: str  # how the partitions were asked for, for people
    tags: Mapping[str, str]
    run_config: Mapping[str, Any]
    groups: list[Group]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": BODY_VERSION,
            "kind": self.kind,
            "target": self.target,
            "location": self.location,
            "requested": self.requested,
            "tags": dict(self.tags),
            "run_config": dict(self.run_config),
            "groups": [g.to_json() for g in self.groups],
            "error": self.error,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> BackfillBody:
        version = data.get("version")
        if version != BODY_VERSION:
            raise KnollError(
                f"this backfill was stored by another version of knoll (body version "
                f"{version!r}, this one reads {BODY_VERSION}): run it with that version."
            )
        return BackfillBody(
            kind=data["kind"],
            target=data["target"],
            location=data["location"],
            requested=data["requested"],
            tags=data.get("tags", {}),
            run_config=data.get("run_config", {}),
            groups=[Group.from_json(g) for g in data["groups"]],
            error=data.get("error"),
        )

    def describe(self) -> str:
        return f"job {self.target!r}" if self.kind == "job" else f"assets {self.target!r}"


# ---- the plan: chunks and what each waits for ------------------------------------------------


@dataclass
class GroupPlan:
    """The chunks of one group: its keys, and each chunk's slice of them."""

    pdef: PartitionsDefinition
    keys: list[str]
    chunks: list[tuple[int, int]]  # [start, end) into ``keys``
    waits_for: list[tuple[tuple[int, int], ...]] | None = None  # per chunk: (group, chunk)
    _chunk_of_key: dict[str, int] | None = None

    def chunk_keys(self, chunk: int) -> list[str]:
        start, end = self.chunks[chunk]
        return self.keys[start:end]

    def chunk_range(self, chunk: int) -> tuple[str, str]:
        start, end = self.chunks[chunk]
        return self.keys[start], self.keys[end - 1]

    def chunk_size(self, chunk: int) -> int:
        start, end = self.chunks[chunk]
        return end - start

    def chunk_of_key(self) -> dict[str, int]:
        if self._chunk_of_key is None:
            self._chunk_of_key = {
                key: index
                for index, (start, end) in enumerate(self.chunks)
                for key in self.keys[start:end]
            }
        return self._chunk_of_key


def split_chunks(sizes: Sequence[int], max_per_run: int | None) -> list[tuple[int, int]]:
    """Slices of the concatenated segments (of ``sizes`` keys each): whole segments, or
    pieces of at most ``max_per_run`` keys."""
    chunks: list[tuple[int, int]] = []
    offset = 0
    for length in sizes:
        step = max(length if max_per_run is None else max_per_run, 1)
        for start in range(0, length, step):
            chunks.append((offset + start, offset + min(start + step, length)))
        offset += length
    return chunks


def plan_group(group: Group, store: DynamicPartitionsReader | None) -> GroupPlan:
    """The keys and chunks of ``group`` (its dependencies are filled by ``plan_backfill``)."""
    pdef = partitions_def_from_snapshot(group.partitions)
    by_segment = [
        list(
            pdef.get_partition_keys_in_range(
                PartitionKeyRange(a, b), dynamic_partitions_store=store
            )
        )
        for a, b in group.segments
    ]
    keys = [key for segment in by_segment for key in segment]
    chunks = split_chunks([len(segment) for segment in by_segment], group.max_per_run)
    return GroupPlan(pdef, keys, chunks)


def plan_backfill(body: BackfillBody, store: DynamicPartitionsReader | None) -> list[GroupPlan]:
    """Every group's chunks and, for groups downstream of others, the chunks each waits for."""
    plans = [plan_group(group, store) for group in body.groups]
    for group, plan in zip(body.groups, plans, strict=True):
        if group.parents:
            plan.waits_for = _waits_for(group, plan, plans, store)
    return plans


def _waits_for(
    group: Group, plan: GroupPlan, plans: Sequence[GroupPlan], store: DynamicPartitionsReader | None
) -> list[tuple[tuple[int, int], ...]]:
    edges = [(e.group, partition_mapping_from_snapshot(e.mapping)) for e in group.parents]
    waits: list[tuple[tuple[int, int], ...]] = []
    for chunk in range(len(plan.chunks)):
        keys = plan.chunk_keys(chunk)
        found: dict[tuple[int, int], None] = {}
        for parent, mapping in edges:
            upstream = plans[parent]
            chunk_of = upstream.chunk_of_key()
            for key in _upstream_keys(mapping, keys, plan.pdef, upstream.pdef, store):
                index = chunk_of.get(key)
                if index is not None:
                    found[(parent, index)] = None
        waits.append(tuple(found))
    return waits


def _upstream_keys(
    mapping: PartitionMapping,
    keys: Sequence[str],
    pdef: PartitionsDefinition,
    upstream: PartitionsDefinition,
    store: DynamicPartitionsReader | None,
) -> Iterator[str]:
    """The upstream keys ``keys`` read; keys whose upstream does not exist read nothing."""
    try:
        yield from mapping.get_upstream_partition_keys(
            keys, pdef, upstream, dynamic_partitions_store=store
        )
        return
    except KnollError:
        pass  # one key reads a partition that does not exist: ask key by key
    for key in keys:
        try:
            yield from mapping.get_upstream_partition_keys(
                [key], pdef, upstream, dynamic_partitions_store=store
            )
        except KnollError:
            continue


# ---- the runs of chunks -----------------------------------------------------------------------


def chunk_run_id(backfill_id: str, group: Group, first: str, last: str, attempt: int) -> str:
    """The run id of a chunk: the same for the same backfill, group, range and attempt."""
    parts = [backfill_id, group.name, first, last]
    if attempt:
        parts.append(f"attempt {attempt}")
    return derived_run_id(*parts)


def partition_tags(keys: Sequence[str]) -> dict[str, str]:
    """The partition tags of a run of ``keys``: one key, or a range."""
    if len(keys) == 1:
        return {PARTITION_TAG: keys[0]}
    return {PARTITION_RANGE_START_TAG: keys[0], PARTITION_RANGE_END_TAG: keys[-1]}


_PARTITION_TAGS = (PARTITION_TAG, PARTITION_RANGE_START_TAG, PARTITION_RANGE_END_TAG)


def without_partition(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k not in _PARTITION_TAGS}
