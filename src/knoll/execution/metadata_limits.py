"""Warning events for metadata values cut to ``MAX_METADATA_VALUE_BYTES``.

A value over the limit is cut where it is made (``knoll.defs.metadata``); this module
records, in the run's events, one warning per cut value wherever metadata is recorded: the
materializations of outputs, events logged with ``context.log_event`` (or yielded), and asset
check results. Each names the asset or check, the key, the original size and the limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from knoll.defs.metadata import MetadataValue, truncation_messages
from knoll.execution.events import EventType

if TYPE_CHECKING:
    from knoll.defs.keys import AssetKey
    from knoll.execution.plan import Step
    from knoll.execution.run_state import EventWriter

__all__ = ["output_owner", "warn_of_cut_values", "warn_of_cut_values_in_step"]

WarningEmit = Callable[[EventType, str, int, None], object]


def warn_of_cut_values(
    emit: WarningEmit, metadata: Mapping[str, MetadataValue], owner: str
) -> None:
    """Emit a WARNING LOG_MESSAGE through ``emit`` (a step's emit) for each value of
    ``metadata`` that was cut; ``owner`` names what the metadata belongs to."""
    for message in truncation_messages(metadata, owner):
        emit(EventType.LOG_MESSAGE, message, logging.WARNING, None)


def warn_of_cut_values_in_step(
    writer: EventWriter, step_key: str, metadata: Mapping[str, MetadataValue], owner: str
) -> None:
    """:func:`warn_of_cut_values` for the event writer of a run, in step ``step_key``."""
    for message in truncation_messages(metadata, owner):
        writer.emit(EventType.LOG_MESSAGE, step_key, message, logging.WARNING)


def output_owner(step: Step, output_name: str, asset_key: AssetKey | None) -> str:
    """What the metadata of an output belongs to: its asset, else the output of its op."""
    if asset_key is not None:
        return f"asset {asset_key.to_user_string()}"
    return f"output {output_name!r} of {step.describe()}"
