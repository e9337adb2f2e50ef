"""Storage held in this process's memory: for tests and ephemeral instances.

``InMemoryStorage`` implements every storage interface with the same semantics as the SQL
backend (the conformance suites under ``tests/storage/conformance`` hold both to them). One
lock guards everything, so a batch of events and the index updates it causes are one atomic
step, as a transaction is in SQL. Runs and events go through versioned JSON on the way in,
so what the SQL backend could not store is refused here too, and a caller that changes what
it passed in does not change what was stored.
"""

from __future__ import annotations

from knoll.storage.base import Storage
from knoll.storage.memory.access import MemoryAccessStorage
from knoll.storage.memory.automation import MemoryAutomationStorage
from knoll.storage.memory.daemon import MemoryDaemonStorage
from knoll.storage.memory.pools import MemoryQueueStorage
from knoll.storage.memory.retention import MemoryRetentionStorage
from knoll.storage.memory.runs import MemoryRunStorage
from knoll.storage.memory.schedules import MemoryScheduleStorage


class InMemoryStorage(
    MemoryRunStorage,
    MemoryScheduleStorage,
    MemoryQueueStorage,
    MemoryDaemonStorage,
    MemoryAutomationStorage,
    MemoryRetentionStorage,
    MemoryAccessStorage,
    Storage,
):
    """Every storage interface in one process, thread-safe; nothing survives the process."""
