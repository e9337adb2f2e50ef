"""The webserver's run list on 100,000 runs: ``GET /api/v1/runs`` on a SQLite instance, over
real HTTP (uvicorn on loopback, httpx), first page and filtered pages.

    python -m bench.server_runs [RUNS]

Fills a new instance in a temporary KNOLL_HOME with RUNS runs (default 100,000) through
storage's ``add_runs``: four jobs, every status, a tag on each run and an asset selection on
half of them. Then times each request (median and worst of 20, after 3 untimed ones) and
prints one line per request and a JSON line with every figure. Target: the first page
(100 runs) in 20 ms or less.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from knoll.defs.keys import AssetKey
from knoll.execution.run import Run, RunStatus, new_run_id
from knoll.instance import Instance
from knoll.server import ServerContext, create_app, serving
from knoll.server.context import Locations

DEFAULT_RUNS = 100_000
REPEAT = 20
WARM = 3
TARGET_MS = 20.0
_JOBS = ("crm_job", "sales_job", "finance_job", "__asset_job")
_STATUSES = tuple(RunStatus)
_BATCH = 10_000


def _run(i: int) -> Run:
    selection = frozenset({AssetKey(["sales", f"table_{i % 50}"])}) if i % 2 else None
    return Run(
        new_run_id(),
        _JOBS[i % len(_JOBS)],
        _STATUSES[i % len(_STATUSES)],
        {"team": f"team_{i % 20}"},
        asset_selection=selection,
    )


def fill(instance: Instance, count: int) -> float:
    """Store ``count`` runs; the seconds it took."""
    start = time.perf_counter()
    for first in range(0, count, _BATCH):
        instance.storage.add_runs([_run(i) for i in range(first, min(first + _BATCH, count))])
    return time.perf_counter() - start


def _time(http: httpx.Client, params: dict[str, object]) -> tuple[float, float, int]:
    """The median and worst milliseconds of the request, and how many runs it gave."""
    samples: list[float] = []
    count = 0
    for i in range(WARM + REPEAT):
        start = time.perf_counter()
        response = http.get("/api/v1/runs", params=params)  # type: ignore[arg-type]
        elapsed = (time.perf_counter() - start) * 1000
        response.raise_for_status()
        count = len(response.json()["items"])
        if i >= WARM:
            samples.append(elapsed)
    return statistics.median(samples), max(samples), count


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "knoll.yaml").write_text("storage:\n  sqlite:\n    path: knoll.db\n")
        with Instance.get(home) as instance:
            seconds = fill(instance, count)
            print(f"stored {count:,} runs in {seconds:.1f} s")
            app = create_app(ServerContext(instance, Locations({})))
            requests: dict[str, dict[str, object]] = {
                "first page": {},
                "second page": {},
                "status=FAILURE": {"status": "FAILURE"},
                "status=QUEUED&status=STARTED": {"status": ["QUEUED", "STARTED"]},
                "job=sales_job": {"job": "sales_job"},
                "tag=team=team_7": {"tag": "team=team_7"},
                "asset=sales/table_7": {"asset": "sales/table_7"},
                "job=crm_job&tag=team=team_4&status=SUCCESS": {
                    "job": "crm_job",
                    "tag": "team=team_4",
                    "status": "SUCCESS",
                },
            }
            figures: dict[str, dict[str, float]] = {}
            with serving(app) as running, httpx.Client(base_url=running.url) as http:
                first = http.get("/api/v1/runs").json()
                requests["second page"] = {"cursor": first["next_cursor"]}
                for name, params in requests.items():
                    median, worst, got = _time(http, params)
                    figures[name] = {"median_ms": median, "max_ms": worst, "runs": got}
                    print(f"{name:45} {median:6.1f} ms median, {worst:6.1f} ms max ({got} runs)")
    met = figures["first page"]["median_ms"] <= TARGET_MS
    print(f"first page target {TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}")
    print(json.dumps({"runs": count, "fill_seconds": seconds, "requests": figures}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RUNS)
