"""Running an observable source asset: its function's ``DataVersion`` becomes an observation.

No IO manager is called and no materialization is recorded: the step records one
ASSET_OBSERVATION per partition of the run (or one, unpartitioned), with the data version
under ``DATA_VERSION_TAG``.
"""

from __future__ import annotations

import logging
from typing import Any

from knoll.defs.data_version import DataVersion, check_data_version
from knoll.defs.observable import DATA_VERSION_TAG
from knoll.defs.output import AssetObservation
from knoll.errors import InvalidInvocationError
from knoll.execution.context import StepState
from knoll.execution.events import EventType
from knoll.execution.plan import Step
from knoll.execution.run_state import Returned, RunState, StepFailed, short_repr


def record_observation(
    state: RunState, step: Step, step_state: StepState, items: list[Any]
) -> None:
    """Record the data version an observable source asset's step returned."""
    assets_def = step.assets_def
    assert assets_def is not None
    values = [i.value if isinstance(i, Returned) else i for i in items]
    version = values[0] if len(values) == 1 else None
    if not isinstance(version, (DataVersion, str)):
        shown = short_repr(values[0]) if len(values) == 1 else f"{len(values)} items"
        raise StepFailed(
            InvalidInvocationError(
                f"observable source asset {assets_def.key.to_user_string()!r} returned {shown}; "
                "it must return one DataVersion('...') saying which version of the data it saw."
            )
        )
    text = check_data_version(version, f"observable source asset {assets_def.key}")
    assert text is not None
    scope = step_state.partition
    for partition in scope.keys if scope is not None else (None,):
        observation = AssetObservation(
            assets_def.key, partition=partition, tags={DATA_VERSION_TAG: text}
        )
        state.writer.emit(
            EventType.ASSET_OBSERVATION,
            step.key,
            f"observed {assets_def.key.to_user_string()} at data version {text!r}"
            + (f" [{partition}]" if partition else ""),
            logging.INFO,
            observation,
        )
