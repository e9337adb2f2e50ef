"""What the sensors that read the event log share: asset sensors, multi-asset sensors and
run status sensors.

Each kind keeps only what differs (what it reads and how it moves its cursor); the options
passed on to :class:`SensorDefinition`, the check that the context has an instance to read,
the decorator, and the call of the user's function live here once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypedDict, TypeVar

from knoll._utils import docstring
from knoll.defs._tick_fn import TickFunction
from knoll.defs.run_request import SensorResult
from knoll.defs.sensor import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorEvaluationResult,
)
from knoll.errors import DefinitionError, InvalidInvocationError

T = TypeVar("T")


class SensorOptions(TypedDict, total=False):
    """The keyword arguments of ``@sensor`` that every sensor kind passes on as they are:
    what it targets (``job``, ``job_name``, ``jobs`` or ``target``), how often it runs, its
    description, whether it starts running, its tags and metadata."""

    job: Any
    job_name: str | None
    jobs: Sequence[Any] | None
    target: Any
    minimum_interval_seconds: int
    description: str | None
    default_status: DefaultSensorStatus
    tags: Mapping[str, str] | None
    metadata: Mapping[str, Any] | None


def instance_reader(instance: object, reader: type[Any], owner: str, reads: str) -> Any:
    """``instance`` when it is a ``reader`` (a runtime-checkable protocol), or an error
    saying how to give ``owner`` one."""
    if isinstance(instance, reader):
        return instance
    got = "no instance" if instance is None else f"a {type(instance).__name__} as its instance"
    raise InvalidInvocationError(
        f"{owner} reads {reads} from context.instance, but its context has {got}. "
        "Evaluate it against an instance: in tests, "
        "build_sensor_context(instance=Instance.ephemeral()) (or an Instance.get(home))."
    )


class EventSensorDefinition(SensorDefinition):
    """A sensor whose ticks read ``context.instance``: a tick without a usable instance is
    refused before the user's function runs."""

    reader: ClassVar[type]
    reads: ClassVar[str]

    @property
    def owner(self) -> str:
        """How errors name this sensor."""
        raise NotImplementedError

    def evaluate_tick(self, context: SensorEvaluationContext) -> SensorEvaluationResult:
        if isinstance(context, SensorEvaluationContext):
            instance_reader(context.instance, self.reader, self.owner, self.reads)
        return super().evaluate_tick(context)


def sensor_decorator(
    kind: str,
    name: str | None,
    description: str | None,
    build: Callable[[str, Callable[..., Any], str | None], T],
) -> Callable[[Callable[..., Any]], T]:
    """The decorator of ``@kind``: ``build(name, fn, description)`` with the function's name
    and docstring when none is given."""

    def decorate(fn: Callable[..., Any]) -> T:
        if not callable(fn):
            raise DefinitionError(f"@{kind} must decorate a function, got {type(fn).__name__}.")
        return build(name or str(getattr(fn, "__name__", "")), fn, description or docstring(fn))

    return decorate


def call_user_fn(
    user: TickFunction,
    context: Any,
    kwargs: Mapping[str, Any],
    owner: str,
    own_cursor: str,
) -> Any:
    """Call the user's function with the context it takes and its resources; a generator is
    consumed. A sensor kind that keeps its own cursor (``own_cursor`` says how) refuses a
    ``SensorResult`` that sets one."""
    fn = user.fn
    result = fn(context, **kwargs) if user.context_param is not None else fn(**kwargs)
    if isinstance(result, Iterator):
        result = list(result)
    if isinstance(result, SensorResult) and result.cursor is not None:
        raise DefinitionError(f"{owner} returned SensorResult(cursor=...): {own_cursor}")
    return result


def with_signature(
    evaluate: Callable[..., Any], name: str, user: TickFunction, resources: Sequence[str]
) -> Callable[..., Any]:
    """``evaluate`` named ``name``, with the signature ``SensorDefinition`` reads: the
    context, then ``resources`` as keyword arguments with the user's defaults."""
    signature = inspect.signature(user.fn).parameters
    params = [inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [
        inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, default=signature[p].default)
        for p in resources
    ]
    evaluate.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    evaluate.__name__ = name
    return evaluate


def described(options: SensorOptions, description: str | None) -> SensorOptions:
    """``options`` with ``description`` in place of the one they had."""
    return {**options, "description": description}
