"""An op job with default config, a config mapping and success/failure hooks that log."""

import os
from pathlib import Path

import dagster as dg


def _note(line: str) -> None:
    with open(Path(os.environ["PORTING_OUTPUT_DIR"]) / "hooks.txt", "a") as notes:
        notes.write(line + "\n")


@dg.success_hook
def note_success(context: dg.HookContext) -> None:
    _note(f"ok {context.op.name}")


@dg.failure_hook
def note_failure(context: dg.HookContext) -> None:
    _note(f"failed {context.op.name}")


class FetchConfig(dg.Config):
    rows: int
    fail: bool = False


@dg.op
def fetch(config: FetchConfig) -> list[int]:
    if config.fail:
        raise ValueError("the source is down")
    return list(range(config.rows))


@dg.op
def total(numbers: list[int]) -> int:
    dg.get_dagster_logger().info("summing %d numbers", len(numbers))
    return sum(numbers)


@dg.job(
    config=dg.RunConfig(ops={"fetch": FetchConfig(rows=4)}),
    hooks={note_success, note_failure},
)
def nightly_totals():
    total(fetch())


def _sized(config: dict) -> dict:
    return {"ops": {"fetch": {"config": {"rows": config["size"], "fail": config["size"] < 0}}}}


@dg.job(
    config=dg.ConfigMapping(config_fn=_sized, config_schema={"size": int}),
    hooks={note_success, note_failure},
)
def sized_totals():
    total(fetch())


defs = dg.Definitions(jobs=[nightly_totals, sized_totals])
