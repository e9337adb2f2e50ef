"""``compute_kind=``: Dagster's older spelling of one kind of an asset, kept for ported code.

The kind lands in the asset's ``kinds`` (so ``AssetSelection.kind``-style lookups and the
snapshot see it) and in the op's tags under ``COMPUTE_KIND_TAG``, as Dagster records it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from knoll.errors import DefinitionError

COMPUTE_KIND_TAG = "knoll/compute_kind"


def with_compute_kind(
    op_tags: Mapping[str, str] | None, compute_kind: str | None
) -> Mapping[str, str] | None:
    """The op tags, with the compute kind added under ``COMPUTE_KIND_TAG``."""
    if compute_kind is None:
        return op_tags
    return {**(op_tags or {}), COMPUTE_KIND_TAG: compute_kind}


def kinds_with_compute_kind(
    kinds: Sequence[str] | None, compute_kind: str | None, owner: str
) -> Sequence[str] | None:
    """``kinds``, or ``[compute_kind]``; Dagster refuses both at once, and so does knoll."""
    if compute_kind is None:
        return kinds
    if kinds:
        raise DefinitionError(
            f"{owner} sets both compute_kind={compute_kind!r} and kinds={sorted(kinds)}; "
            "compute_kind is the older spelling of one kind: keep kinds=[...] alone "
            f"(add {compute_kind!r} to it)."
        )
    if not compute_kind:
        raise DefinitionError(
            f"compute_kind of {owner} must be a non-empty string such as 'pandas', "
            f"got {compute_kind!r}."
        )
    return [compute_kind]
