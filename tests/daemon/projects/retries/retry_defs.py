"""A code location for run retry tests: steps that fail the first time and succeed after.

Every execution of a step appends its pid to ``<KNOLL_TEST_RETRY_DIR>/<step>.runs``, so a test
can count how often each step ran. ``flaky`` and ``flaky_op`` raise the first time they run
(there is no ``.runs`` file for them yet); ``sleepy`` sleeps far longer than any test the first
time (a test kills its worker then); ``broken`` always raises.
"""

import os
import time
from pathlib import Path

from knoll import Definitions, asset, define_asset_job, job, op


def _record(name: str) -> int:
    """Append this execution to the step's file: how many executions there were before."""
    path = Path(os.environ["KNOLL_TEST_RETRY_DIR"]) / f"{name}.runs"
    before = len(path.read_text().split()) if path.exists() else 0
    with path.open("a") as runs:
        runs.write(f"{os.getpid()}\n")
    return before


@asset
def first() -> int:
    _record("first")
    return 1


@asset
def flaky(first: int) -> int:
    if _record("flaky") == 0:
        raise RuntimeError("the warehouse is not up yet")
    return first + 1


@asset
def last(flaky: int) -> int:
    _record("last")
    return flaky + 1


@asset
def sleepy() -> int:
    if _record("sleepy") == 0:
        time.sleep(300)
    return 1


@asset
def broken() -> int:
    _record("broken")
    raise ValueError("broken for good")


@op
def produce() -> int:
    _record("produce")
    return 20


@op
def flaky_op(number: int) -> int:
    if _record("flaky_op") == 0:
        raise RuntimeError("the op is not ready yet")
    return number + 1


@op
def consume(number: int) -> None:
    _record("consume")
    (Path(os.environ["KNOLL_TEST_RETRY_DIR"]) / "consumed").write_text(str(number))


@job
def op_chain() -> None:
    consume(flaky_op(produce()))


defs = Definitions(
    assets=[first, flaky, last, sleepy, broken],
    jobs=[
        define_asset_job("flaky_job", selection=["first", "flaky", "last"]),
        define_asset_job(
            "flaky_all_steps",
            selection=["first", "flaky", "last"],
            tags={"knoll/retry_strategy": "ALL_STEPS"},
        ),
        define_asset_job("sleepy_job", selection=["sleepy"]),
        define_asset_job("broken_job", selection=["broken"], tags={"knoll/max_retries": "2"}),
        op_chain,
    ],
)
