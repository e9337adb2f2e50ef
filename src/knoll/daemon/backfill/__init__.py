"""Backfills: many partitions of assets (or of a job) materialized through the run queue.

``launch_backfill`` checks a request against a code location and stores the backfill as
REQUESTED; the daemon's ``backfills`` duty (:class:`BackfillSubmitter`) submits its runs,
upstream partitions before the downstream partitions that read them; ``cancel_backfill``,
``resume_backfill`` and ``backfill_progress`` are what ``knoll backfill`` offers. The state of
a backfill lives in its stored body (see ``knoll.daemon.backfill.model``).
"""

from knoll.daemon.backfill.control import GroupProgress as GroupProgress
from knoll.daemon.backfill.control import Progress as Progress
from knoll.daemon.backfill.control import backfill_progress as backfill_progress
from knoll.daemon.backfill.control import cancel_backfill as cancel_backfill
from knoll.daemon.backfill.control import resume_backfill as resume_backfill
from knoll.daemon.backfill.launch import BackfillRequest as BackfillRequest
from knoll.daemon.backfill.launch import launch_backfill as launch_backfill
from knoll.daemon.backfill.model import BACKFILL_TAG as BACKFILL_TAG
from knoll.daemon.backfill.submit import BACKFILL_DUTY as BACKFILL_DUTY
from knoll.daemon.backfill.submit import BackfillSubmitter as BackfillSubmitter

__all__ = [
    "BACKFILL_DUTY",
    "BACKFILL_TAG",
    "BackfillRequest",
    "BackfillSubmitter",
    "GroupProgress",
    "Progress",
    "backfill_progress",
    "cancel_backfill",
    "launch_backfill",
    "resume_backfill",
]
