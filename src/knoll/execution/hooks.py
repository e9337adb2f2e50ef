"""Running hooks: after a step ends, in the step's own process, each attached hook whose
trigger matches the outcome is called with a ``HookContext``.

A hook's error is recorded as a ``HOOK_ERRORED`` event (with the hook's name and the
traceback) and never changes the step's outcome or the run's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from knoll.defs.hook import HookDefinition
from knoll.defs.op import OpDefinition
from knoll.defs.resource_definition import ResourceDefinition, Resources
from knoll.errors import InvalidInvocationError, UserCodeError
from knoll.execution.context import RunLogger
from knoll.execution.events import EventType, HookData, SerializableError
from knoll.execution.run_state import RunState, StepOutcome

if TYPE_CHECKING:
    from knoll.execution.plan import Step


class HookContext:
    """What a hook function receives: the step that ended, its run and the hook's resources.

    ``op_exception`` is the exception the step's code raised (``None`` after a success);
    ``op_output_values`` maps each output the step produced in this process to its value.
    """

    def __init__(  # noqa: PLR0913 (the fields Dagster's HookContext offers)
        self,
        *,
        hook_def: HookDefinition | None,
        op: OpDefinition | None,
        step_key: str,
        run_id: str,
        job_name: str,
        resources: Resources,
        log: RunLogger,
        op_exception: BaseException | None = None,
        op_config: Any = None,
        op_output_values: Mapping[str, Any] | None = None,
        instance: object | None = None,
    ) -> None:
        self.hook_def = hook_def
        self.op = op
        self.step_key = step_key
        self.run_id = run_id
        self.job_name = job_name
        self.resources = resources
        self.log = log
        self.op_exception = op_exception
        self.op_config = op_config
        self.op_output_values: dict[str, Any] = dict(op_output_values or {})
        self.instance = instance

    @property
    def required_resource_keys(self) -> frozenset[str]:
        return self.hook_def.required_resource_keys if self.hook_def is not None else frozenset()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __repr__(self) -> str:
        return f"HookContext(step_key={self.step_key!r}, run_id={self.run_id!r})"


def build_hook_context(
    resources: Mapping[str, Any] | None = None,
    op: OpDefinition | None = None,
    run_id: str | None = None,
    job_name: str | None = None,
    op_exception: BaseException | None = None,
    instance: object | None = None,
) -> HookContext:
    """A ``HookContext`` for calling a hook directly in a test: ``my_hook(build_hook_context())``.

    ``resources`` are used as they are: pass ready values (clients, fakes), not definitions.
    """
    for key, value in (resources or {}).items():
        if isinstance(value, ResourceDefinition):
            raise InvalidInvocationError(
                f"build_hook_context(resources=...): resource {key!r} is a "
                f"{type(value).__name__}; pass the value it makes instead, for example "
                f"{{{key!r}: {value.name}(build_init_resource_context())}}."
            )
    step_key = op.name if op is not None else "test-step"
    return HookContext(
        hook_def=None,
        op=op,
        step_key=step_key,
        run_id=run_id or "test-run",
        job_name=job_name or "test-job",
        resources=Resources(dict(resources or {}), "this hook", hint="Pass it in resources=..."),
        log=RunLogger(None, step_key),
        op_exception=op_exception,
        instance=instance,
    )


def hooks_for(state: RunState, step: Step) -> frozenset[HookDefinition]:
    """The hooks attached to ``step``: its op's and its job's."""
    return step.op.hook_defs | state.job.hook_defs


def run_hooks(state: RunState, step: Step, outcome: StepOutcome) -> None:
    """Call the hooks of ``step`` that ``outcome`` triggers, recording one event per hook."""
    hooks = hooks_for(state, step)
    if not hooks or outcome is StepOutcome.SKIPPED:
        return
    succeeded = outcome is StepOutcome.SUCCESS
    error = state.errors.get(step.key)
    original = error.original if isinstance(error, UserCodeError) else error
    outputs = {name: v for (key, name), v in state.outputs.items() if key == step.key}
    for hook in sorted(hooks, key=lambda h: h.name):
        if not hook.should_run(succeeded):
            state.writer.emit(
                EventType.HOOK_SKIPPED,
                step.key,
                f"skipped {hook.describe()}: the step {'succeeded' if succeeded else 'failed'}",
                logging.DEBUG,
                HookData(hook.name),
            )
            continue
        _call_hook(state, step, hook, original, outputs)


def _call_hook(
    state: RunState,
    step: Step,
    hook: HookDefinition,
    op_exception: BaseException | None,
    outputs: Mapping[str, Any],
) -> None:
    writer = state.writer

    def emit(event_type: EventType, message: str, level: int, data: Any) -> None:
        writer.emit(event_type, step.key, message, level, data)

    context = HookContext(
        hook_def=hook,
        op=step.op,
        step_key=step.key,
        run_id=state.run.run_id,
        job_name=state.run.job_name,
        resources=state.resources.for_owner(
            hook.required_resource_keys,
            hook.describe(),
            hint="Add it to the hook's required_resource_keys and provide it in resources=.",
        ),
        log=RunLogger(emit, step.key),
        op_exception=op_exception,
        op_config=state.node_config.get(step.key),
        op_output_values=outputs,
        instance=state.recorder.context_instance,
    )
    try:
        hook.hook_fn(context)
    except Exception as exc:
        writer.emit(
            EventType.HOOK_ERRORED,
            step.key,
            f"error in {hook.describe()} after step {step.key!r}: {type(exc).__name__}: {exc}. "
            "The step's outcome stands; fix the hook to stop this error.",
            logging.ERROR,
            HookData(hook.name, SerializableError.from_exception(exc)),
        )
        return
    writer.emit(
        EventType.HOOK_COMPLETED,
        step.key,
        f"finished {hook.describe()} after step {step.key!r}",
        logging.DEBUG,
        HookData(hook.name),
    )
