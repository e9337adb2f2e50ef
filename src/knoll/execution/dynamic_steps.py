"""Resolving a plan's mapped steps at run time, once their dynamic output is known.

A step wired with ``.map(fn)`` is planned once, as ``op[?]``. When the step whose dynamic output
it maps over has run, it becomes one step per mapping key (``op[key]``, in the order the keys
were yielded); a step reading ``.collect()`` reads the values of all those keys as a list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence

from knoll.execution.plan import (
    UNRESOLVED,
    ExecutionPlan,
    FromCollected,
    FromMany,
    FromMapped,
    FromStep,
    InputSource,
    Step,
)
from knoll.execution.run_state import RunState, StepOutcome

__all__ = [
    "concrete_step",
    "dynamic_output_key",
    "has_dynamic_outputs",
    "has_mapped_steps",
    "is_resolvable",
    "narrow_plan",
    "needs_resolution",
    "resolve_step",
    "resolved_steps",
    "selection_keys",
    "split_kept_name",
]


def dynamic_output_key(output_name: str, mapping_key: str) -> str:
    """The name one value of a dynamic output is kept under in a run (``items[key]``)."""
    return f"{output_name}[{mapping_key}]"


def split_kept_name(kept_as: str) -> tuple[str, str | None]:
    """A kept output name as (output name, mapping key): ``items[a]`` -> ``("items", "a")``.
    (Output names and mapping keys hold neither bracket, so the split is exact.)"""
    if kept_as.endswith("]") and "[" in kept_as:
        name, _, key = kept_as[:-1].partition("[")
        return name, key
    return kept_as, None


def concrete_step(steps: Mapping[str, Step], step_key: str) -> Step:
    """The step ``step_key`` names: one of ``steps``, or one mapping key of a mapped step
    (``op[a]`` of ``op[?]``), enough to rebuild the contexts of its outputs in another process
    (its inputs stay unresolved)."""
    step = steps.get(step_key)
    if step is not None:
        return step
    handle, key = split_kept_name(step_key)
    unresolved = steps[f"{handle}{UNRESOLVED}"]
    return dataclasses.replace(unresolved, key=step_key, mapping_key=key)


def needs_resolution(step: Step) -> bool:
    """Whether ``step`` waits for mapping keys before it can run: a mapped step, or one that
    collects the values of a dynamic output or of a mapped step (and is not resolved yet)."""
    if step.mapping_key is not None:
        return False
    return step.mapped_by is not None or any(
        isinstance(s, FromCollected) for s in step.inputs.values()
    )


def is_resolvable(state: RunState, step: Step, in_plan: set[str]) -> bool:
    """Whether the steps ``step`` (see :func:`needs_resolution`) depends on have gone far
    enough for its mapping keys to be known: every step it reads from has finished (or, a
    mapped step, has been resolved itself) or is not run here."""
    for up in step.upstream:
        if up in state.outcomes or up in state.resolved or up not in in_plan:
            continue
        return False
    return True


def resolve_step(state: RunState, step: Step) -> list[Step]:
    """``step`` as the steps it runs as once its mapping keys are known: itself with its
    collected inputs resolved, one step per mapping key, or none (it is then recorded as
    skipped, with what reads it)."""
    return _resolve(state, step)


def has_dynamic_outputs(plan: ExecutionPlan) -> bool:
    return any(d.is_dynamic for step in plan.steps for d in step.op.output_defs.values())


def has_mapped_steps(plan: ExecutionPlan) -> bool:
    """Whether steps of ``plan`` wait for mapping keys (see :func:`needs_resolution`)."""
    return any(needs_resolution(step) for step in plan.steps)


def narrow_plan(plan: ExecutionPlan, step_keys: Sequence[str]) -> ExecutionPlan:
    """``plan`` limited to ``step_keys``: keys of its steps, and ``op[key]`` for one mapping
    key of its mapped step ``op[?]`` (which then runs for the mapping keys named only). Raises
    ``DefinitionError`` naming a key that is neither."""
    by_key = {s.key: s for s in plan.steps}
    only: dict[str, set[str] | None] = {}
    for key in step_keys:
        if key in by_key:
            only[key] = None  # every mapping key of a mapped step
            continue
        handle, mapping_key = split_kept_name(key)
        unresolved = f"{handle}{UNRESOLVED}"
        if mapping_key is None or unresolved not in by_key:
            plan.step(key)  # raises, naming the closest step
        keys = only.setdefault(unresolved, set())
        if keys is not None and mapping_key is not None:
            keys.add(mapping_key)
    steps: list[Step] = []
    for step in plan.steps:
        if step.key not in only:
            continue
        keys = only[step.key]
        steps.append(
            step if keys is None else dataclasses.replace(step, only_mapping_keys=frozenset(keys))
        )
    return dataclasses.replace(plan, steps=tuple(steps))


def selection_keys(plan: ExecutionPlan) -> list[str]:
    """The step keys :func:`narrow_plan` takes to make ``plan`` again from its job's plan."""
    keys: list[str] = []
    for step in plan.steps:
        if step.only_mapping_keys is None:
            keys.append(step.key)
        else:
            keys.extend(f"{step.handle}[{k}]" for k in sorted(step.only_mapping_keys))
    return keys


def resolved_steps(state: RunState, plan: ExecutionPlan) -> Iterator[Step]:
    """The steps of ``plan`` in order, each mapped step as one step per mapping key; read
    lazily, since a step's mapping keys are known only once the steps before it have run."""
    for step in plan.steps:
        yield from _resolve(state, step)


def _resolve(state: RunState, step: Step) -> list[Step]:
    if step.mapped_by is None:
        if not any(isinstance(s, FromCollected) for s in step.inputs.values()):
            return [step]
        inputs = {n: _collected(state, s) for n, s in step.inputs.items()}
        return [dataclasses.replace(step, inputs=inputs, upstream=_upstream(state, step, None))]
    keys = _keys_of(state, step.mapped_by)
    if not keys:
        # nothing to map over (the dynamic step failed, was skipped or yielded nothing):
        # what reads this step's outputs is skipped too
        state.outcomes[step.key] = StepOutcome.SKIPPED
        return []
    handle = step.handle
    # the steps it becomes, even those a re-execution does not run (a collect reads them all)
    state.resolved[step.key] = [f"{handle}[{key}]" for key in keys]
    only = step.only_mapping_keys
    return [
        dataclasses.replace(
            step,
            key=f"{handle}[{key}]",
            inputs={n: _for_key(state, s, key) for n, s in step.inputs.items()},
            upstream=_upstream(state, step, key),
            mapping_key=key,
            only_mapping_keys=None,
        )
        for key in keys
        if only is None or key in only
    ]


def _keys_of(state: RunState, dynamic: tuple[str, str]) -> list[str]:
    if state.outcomes.get(dynamic[0]) is not StepOutcome.SUCCESS:
        return []
    return state.mapping_keys.get(dynamic, [])


def _for_key(state: RunState, source: InputSource, key: str) -> InputSource:
    if isinstance(source, FromMapped):
        return FromStep(source.step_key, dynamic_output_key(source.output_name, key))
    if isinstance(source, FromStep) and source.step_key.endswith(UNRESOLVED):
        return FromStep(_keyed(source.step_key, key), source.output_name)
    return _collected(state, source)


def _keyed(unresolved: str, key: str) -> str:
    return f"{unresolved[: -len(UNRESOLVED)]}[{key}]"


def _collected(state: RunState, source: InputSource) -> InputSource:
    if not isinstance(source, FromCollected):
        return source
    if source.of_dynamic:
        keys = _keys_of(state, (source.step_key, source.output_name))
        return FromMany(
            tuple(
                FromStep(source.step_key, dynamic_output_key(source.output_name, k)) for k in keys
            )
        )
    return FromMany(
        tuple(FromStep(k, source.output_name) for k in _mapped_keys(state, source.step_key))
    )


def _mapped_keys(state: RunState, unresolved: str) -> list[str]:
    """The step keys an unresolved mapped step became (in the order of its mapping keys)."""
    return state.resolved.get(unresolved, [])


def _upstream(state: RunState, step: Step, key: str | None) -> tuple[str, ...]:
    upstream: list[str] = []
    for up in step.upstream:
        if not up.endswith(UNRESOLVED):
            upstream.append(up)
        elif key is not None and _reads_keyed(step, up):
            upstream.append(_keyed(up, key))
        else:
            # a collect waits for every key; with none, it is skipped like the mapped step
            upstream.extend(_mapped_keys(state, up) or [up])
    return tuple(dict.fromkeys(upstream))


def _reads_keyed(step: Step, up: str) -> bool:
    """Whether ``step`` reads ``up`` (a mapped step) for its own mapping key, not collected."""
    return any(isinstance(s, FromStep) and s.step_key == up for s in step.inputs.values())
