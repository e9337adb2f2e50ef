"""A code location for run monitor tests: three assets in a chain, the middle one slow once.

Every execution of a step appends its pid to ``<KNOLL_TEST_MONITOR_DIR>/<asset>.runs``, so a
test can count how often each step ran. ``middle`` sleeps far longer than any test the first
time it runs (a test kills its worker then), and returns at once when it runs again.
"""

import os
import time
from pathlib import Path

from knoll import Definitions, asset, define_asset_job


def _record(name: str) -> int:
    """Append this execution to the step's file: how many executions there were before."""
    folder = Path(os.environ["KNOLL_TEST_MONITOR_DIR"])
    path = folder / f"{name}.runs"
    before = len(path.read_text().split()) if path.exists() else 0
    with path.open("a") as runs:
        runs.write(f"{os.getpid()}\n")
    return before


@asset
def first() -> int:
    _record("first")
    return 1


@asset
def middle(first: int) -> int:
    if _record("middle") == 0:
        time.sleep(300)
    return first + 1


@asset
def last(middle: int) -> int:
    _record("last")
    return middle + 1


@asset
def quick() -> int:
    return 1


defs = Definitions(
    assets=[first, middle, last, quick],
    jobs=[
        define_asset_job("chain_job", selection=["first", "middle", "last"]),
        define_asset_job("quick_job", selection=["quick"]),
    ],
)
