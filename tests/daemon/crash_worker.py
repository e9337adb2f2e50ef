"""``python -m tests.daemon.crash_worker HOME BACKFILL_ID KILL_AT``: one backfill pass in
batches of 10 that SIGKILLs its own process once it has stored the runs of batch KILL_AT,
before it stores the progress that says so (the daemon killed at the worst moment)."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from knoll.daemon.backfill import BackfillSubmitter, submit
from knoll.instance import Instance


def main(home: str, backfill_id: str, kill_at: int) -> None:
    written = 0
    save = submit.__dict__["save"]  # the function the pass calls to store its progress

    def save_or_die(*args: Any, **kwargs: Any) -> Any:
        nonlocal written
        written += 1
        if written == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return save(*args, **kwargs)

    submit.__dict__["save"] = save_or_die
    with Instance.get(home) as instance:
        stored = instance.storage.get_backfill(backfill_id)
        assert stored is not None
        BackfillSubmitter(instance, batch=10).one_pass()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
