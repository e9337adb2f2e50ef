"""A code location for launch tests: quick assets, a slow one to cancel, an import counter.

Every import appends a line to the file named by ``KNOLL_TEST_IMPORT_LOG`` (when set), so a
test can tell that a run worker did not import this module again.
"""

import os
import time
from pathlib import Path

from knoll import AssetExecutionContext, Config, Definitions, asset, define_asset_job

_LOG = os.environ.get("KNOLL_TEST_IMPORT_LOG")
if _LOG:
    with open(_LOG, "a") as log:
        log.write(f"{os.getpid()}\n")


class NumbersConfig(Config):
    count: int = 3


@asset
def numbers(config: NumbersConfig) -> list[int]:
    return list(range(config.count))


@asset
def total(numbers: list[int]) -> int:
    return sum(numbers)


@asset
def slow(context: AssetExecutionContext) -> int:
    """Records the pid of the process running it, then sleeps far longer than any test."""
    marker = os.environ.get("KNOLL_TEST_SLOW_MARKER")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    context.log.info("sleeping")
    time.sleep(300)
    return 1


defs = Definitions(
    assets=[numbers, total, slow],
    jobs=[
        define_asset_job("quick_job", selection=["numbers", "total"]),
        define_asset_job("slow_job", selection=["slow"]),
    ],
)
