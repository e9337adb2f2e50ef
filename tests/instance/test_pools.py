"""Concurrency pools across processes: a slot whose holder is killed with SIGKILL is free
again once its lease expires, and a pool of limit 1 never has two holders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knoll.instance import Instance
from tests.instance.conftest import MakeInstance

REPO = Path(__file__).resolve().parents[2]
CYCLES = 50
LEASE = 0.3  # short, so that 50 crashed holders expire quickly


def hold(home: str, run_id: str) -> None:
    """Claim the slot, say so, and keep renewing it until killed."""
    storage = Instance.get(home).storage
    deadline = time.monotonic() + 60
    while not storage.claim_slot("db", run_id, "step", LEASE):
        if time.monotonic() > deadline:
            raise SystemExit("never got the slot")
        time.sleep(0.01)
    print("held", flush=True)
    while True:
        time.sleep(LEASE / 3)
        if not storage.renew_slot("db", run_id, "step", LEASE):
            raise SystemExit("lost the slot while alive")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_killed_holders_never_leak_a_slot_nor_share_it(
    make_instance: MakeInstance, backend: str
) -> None:
    instance = make_instance(backend)
    storage = instance.storage
    storage.set_pool_limit("db", 1)
    for cycle in range(CYCLES):
        holder = f"crashed-{cycle}"
        code = (
            f"from tests.instance.test_pools import hold; hold({str(instance.home)!r}, {holder!r})"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "held"
            assert [s.run_id for s in storage.get_pool_slots("db")] == [holder]
            assert not storage.claim_slot("db", f"waiting-{cycle}", "step", LEASE)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            if child.stdout is not None:
                child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        # Retry until the dead holder's lease runs out; never two holders meanwhile.
        deadline = time.monotonic() + 30
        while not storage.claim_slot("db", f"waiting-{cycle}", "step", LEASE):
            assert len(storage.get_pool_slots("db")) <= 1
            assert time.monotonic() < deadline, "the killed holder's slot never came free"
            time.sleep(0.02)
        assert [s.run_id for s in storage.get_pool_slots("db")] == [f"waiting-{cycle}"]
        storage.release_slot("db", f"waiting-{cycle}", "step")
    assert storage.get_pool_slots("db") == []
    # and nothing is held by any of the killed runs once their leases are past
    assert storage.get_pool_slots("db", now=time.time() + LEASE) == []
    assert sum(storage.free_slots_of_run(f"crashed-{c}") for c in range(CYCLES)) == 0
