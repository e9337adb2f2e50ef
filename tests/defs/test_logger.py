"""``get_knoll_logger``: records written in a step are the run's log lines; outside, plain
Python logging."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from pathlib import Path

import pytest

from knoll import (
    Definitions,
    EventType,
    FilesystemIOManager,
    Instance,
    asset,
    define_asset_job,
    execute_job,
    get_knoll_logger,
    materialize,
    multiprocess_executor,
)
from knoll.execution.events import RunEvent
from tests.cli.helpers import knoll


def _log_lines(events: list[RunEvent]) -> list[tuple[str | None, str, int]]:
    return [
        (e.step_key, e.message, e.level) for e in events if e.event_type is EventType.LOG_MESSAGE
    ]


@asset
def loaded_rows() -> int:
    log = get_knoll_logger()
    log.debug("connecting")
    log.info("loaded %d rows", 3)
    get_knoll_logger("etl.checks").warning("2 rows had no id")
    return 3


def test_records_in_a_step_become_log_message_events() -> None:
    result = materialize([loaded_rows])
    assert _log_lines(result.all_events) == [
        ("loaded_rows", "connecting", logging.DEBUG),
        ("loaded_rows", "loaded 3 rows", logging.INFO),
        ("loaded_rows", "2 rows had no id", logging.WARNING),
    ]


def test_names_and_levels() -> None:
    assert get_knoll_logger().name == "knoll.builtin"
    assert get_knoll_logger("etl").name == "knoll.builtin.etl"
    assert get_knoll_logger("etl").getEffectiveLevel() == logging.DEBUG


def test_a_raised_level_drops_lines_below_it() -> None:
    logger = get_knoll_logger("quiet")
    logger.setLevel(logging.WARNING)
    try:

        @asset
        def quiet() -> None:
            logger.info("not kept")
            logger.error("kept")

        result = materialize([quiet])
    finally:
        logger.setLevel(logging.NOTSET)
    assert _log_lines(result.all_events) == [("quiet", "kept", logging.ERROR)]


def test_exception_keeps_the_traceback() -> None:
    @asset
    def parsed() -> None:
        try:
            int("x")
        except ValueError:
            get_knoll_logger().exception("could not parse")

    [(_, message, level)] = _log_lines(materialize([parsed]).all_events)
    assert level == logging.ERROR
    assert message.startswith("could not parse\nTraceback (most recent call last):")
    assert message.endswith("ValueError: invalid literal for int() with base 10: 'x'")


@asset
async def fetched() -> int:
    get_knoll_logger().info("awaited the API")
    return 1


def test_async_assets_route_their_records() -> None:
    expected = [("fetched", "awaited the API", logging.INFO)]
    assert _log_lines(materialize([fetched]).all_events) == expected

    async def from_a_running_loop() -> list[RunEvent]:
        return materialize([fetched]).all_events  # the coroutine runs in a helper thread

    assert _log_lines(asyncio.run(from_a_running_loop())) == expected


def test_outside_a_run_it_is_a_plain_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="knoll.builtin"):
        get_knoll_logger("script").info("no run here")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("knoll.builtin.script", "no run here")
    ]


def test_records_reach_python_logging_too(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="knoll.builtin"):
        materialize([loaded_rows])
    assert ("knoll.builtin", "loaded 3 rows") in [(r.name, r.getMessage()) for r in caplog.records]


def test_worker_processes_route_their_steps_records(tmp_path: Path) -> None:
    defs = Definitions(
        assets=[loaded_rows],
        jobs=[define_asset_job("all", selection="*")],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "outputs"))},
        executor=multiprocess_executor,
    )
    with Instance.get(tmp_path / "home") as instance:
        result = execute_job(defs.get_job_def("all"), instance)
        stored = [r.event for r in instance.get_events(result.run_id).records]
    assert ("loaded_rows", "loaded 3 rows", logging.INFO) in _log_lines(stored)


PROJECT = textwrap.dedent(
    """
    from knoll import Definitions, asset, get_knoll_logger

    logger = get_knoll_logger(__name__)

    @asset
    def orders() -> int:
        logger.info("fetched 12 orders")
        logger.warning("1 order had no customer")
        return 12

    defs = Definitions(assets=[orders])
    """
)


def test_knoll_run_logs_shows_the_lines_at_their_level(tmp_path: Path) -> None:
    (tmp_path / "project.py").write_text(PROJECT)
    done = knoll("asset", "materialize", "-f", "project.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    logs = knoll("run", "logs", "--last", cwd=tmp_path)
    assert logs.returncode == 0, logs.stderr
    # each line: time, level, event type, step, message
    rows = [line.split() for line in logs.stdout.splitlines() if "LOG_MESSAGE" in line]
    assert [(row[1], row[3], " ".join(row[4:])) for row in rows] == [
        ("INFO", "orders", "fetched 12 orders"),
        ("WARNING", "orders", "1 order had no customer"),
    ]
