"""Retry and backfill policies attached to assets and ops (and AutomationCondition, re-exported)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knoll._serdes import serializable
from knoll.defs.automation import AutomationCondition
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from random import Random

# AutomationCondition lives in knoll.defs.automation; it is importable from here as before.
__all__ = ["AutomationCondition", "BackfillPolicy", "Backoff", "Jitter", "RetryPolicy"]


@serializable()
class Backoff(enum.Enum):
    """How the delay between retries grows."""

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


@serializable()
class Jitter(enum.Enum):
    """Randomness added to the delay between retries."""

    FULL = "FULL"  # a random delay between 0 and the computed delay
    PLUS_MINUS = "PLUS_MINUS"  # the computed delay, plus or minus up to the base delay


@serializable()
@dataclass(frozen=True)
class RetryPolicy:
    """Retry a failed step up to ``max_retries`` times, waiting ``delay`` seconds between."""

    max_retries: int = 1
    delay: float | None = None
    backoff: Backoff | None = None
    jitter: Jitter | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise DefinitionError(
                f"RetryPolicy(max_retries={self.max_retries!r}): max_retries must be an int >= 0."
            )
        if self.delay is not None and self.delay < 0:
            raise DefinitionError(f"RetryPolicy(delay={self.delay!r}): delay must be >= 0 seconds.")
        if (self.backoff or self.jitter) and self.delay is None:
            raise DefinitionError(
                "RetryPolicy with backoff or jitter needs a base delay: "
                "for example RetryPolicy(max_retries=3, delay=1, backoff=Backoff.EXPONENTIAL)."
            )

    def delay_before(self, attempt: int, rng: Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        if self.delay is None:
            return 0.0
        base = self.delay
        if self.backoff is Backoff.LINEAR:
            wait = base * attempt
        elif self.backoff is Backoff.EXPONENTIAL:
            wait = base * (2 ** (attempt - 1))
        else:
            wait = base
        if rng is None:
            import random  # only when a retry happens

            rng = random.Random()
        rand = rng.random()
        if self.jitter is Jitter.FULL:
            wait = wait * rand
        elif self.jitter is Jitter.PLUS_MINUS:
            wait = max(0.0, wait + base * (2 * rand - 1))
        return wait


@serializable()
@dataclass(frozen=True)
class BackfillPolicy:
    """How a backfill splits a partition range into runs: one run, or runs of at most N."""

    max_partitions_per_run: int | None = 1

    def __post_init__(self) -> None:
        if self.max_partitions_per_run is not None and self.max_partitions_per_run < 1:
            raise DefinitionError(
                f"BackfillPolicy.multi_run(max_partitions_per_run={self.max_partitions_per_run}):"
                " give 1 or more."
            )

    @staticmethod
    def single_run() -> BackfillPolicy:
        """Materialize every partition of a backfill in one run."""
        return BackfillPolicy(max_partitions_per_run=None)

    @staticmethod
    def multi_run(max_partitions_per_run: int = 1) -> BackfillPolicy:
        """Split a backfill into runs of at most ``max_partitions_per_run`` partitions."""
        return BackfillPolicy(max_partitions_per_run=max_partitions_per_run)

    @property
    def is_single_run(self) -> bool:
        return self.max_partitions_per_run is None
