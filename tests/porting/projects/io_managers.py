"""IO managers: the file system one, an in-memory one, a configurable factory, with_resources."""

import json
import os
from pathlib import Path

import dagster as dg


class JsonLinesIOManager(dg.IOManager):
    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def handle_output(self, context: dg.OutputContext, obj: list) -> None:
        path = self.folder / f"{context.asset_key.path[-1]}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in obj))

    def load_input(self, context: dg.InputContext) -> list:
        path = self.folder / f"{context.upstream_output.asset_key.path[-1]}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]


class JsonLinesIOManagerFactory(dg.ConfigurableIOManagerFactory):
    folder: str

    def create_io_manager(self, context) -> JsonLinesIOManager:
        return JsonLinesIOManager(self.folder)


@dg.asset(io_manager_key="lines")
def trips() -> list:
    return [{"km": 3}, {"km": 12}, {"km": 5}]


@dg.asset(io_manager_key="lines")
def long_trips(trips: list) -> list:
    return [trip for trip in trips if trip["km"] > 4]


@dg.asset(io_manager_key="memory")
def trip_count(long_trips: list) -> int:
    return len(long_trips)


@dg.asset
def summary(trip_count: int) -> str:
    return f"{trip_count} long trips"


folder = os.environ.get("PORTING_OUTPUT_DIR", ".")
assets = dg.with_resources(
    [trips, long_trips, trip_count, summary],
    {
        "lines": JsonLinesIOManagerFactory(folder=folder),
        "memory": dg.mem_io_manager,
        "io_manager": dg.fs_io_manager.configured({"base_dir": str(Path(folder) / "fs")}),
    },
)

defs = dg.Definitions(assets=assets)
