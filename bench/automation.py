"""One automation tick over N assets with eager conditions (a measurement, not a test).

Run: ``.venv/bin/python bench/automation.py [N]`` (default 10,000; knoll's target is at most
1 s). The graph is the benchmarks' layered DAG (``bench/dag.py``) with
``AutomationCondition.eager()`` on every asset. Every asset has one materialization. After a
first evaluation (the baseline), a second one finds nothing changed (*quiet*); then the first
layer is materialized again, so the third evaluation finds every other asset due (a
dependency updated, or will be requested: *busy*). Timed:

- knoll *quiet* and *busy*: ``evaluate_automation`` over the graph against a SQLite instance,
  reading storage through ``StorageAutomationFacts`` (what the code server's ``POST
  /automation/tick`` does before preparing runs);
- knoll *tick*: the same plus preparing the requested runs (``knoll.codeloc.automation.
  automation_tick``);
- Dagster (when ``bench/.venv-dagster`` exists, see ``bench/run``): the second
  ``evaluate_automation_conditions(defs, instance, cursor)`` over the same graph and
  history, Dagster's own in-process evaluation of automation conditions.

Each side runs in a fresh subprocess; the figures are medians of three repetitions. The
ratio is Dagster's time over knoll's *busy* evaluation (above 1: knoll is faster).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGSTER_PYTHON = ROOT / "bench" / ".venv-dagster" / "bin" / "python"
REPETITIONS = 3
BATCH = 1000


def _knoll(size: int) -> dict[str, float | int]:
    from datetime import UTC, datetime, timedelta

    from bench.dag import build
    from knoll import (
        AssetKey,
        AssetMaterialization,
        AutomationCondition,
        Definitions,
        EventType,
        Instance,
        RunEvent,
        asset,
    )
    from knoll.codeloc.automation import automation_tick
    from knoll.defs.automation_eval import evaluate_automation
    from knoll.instance.automation_facts import StorageAutomationFacts

    dag = build(size)
    eager = AutomationCondition.eager()
    assets = [asset(automation_condition=eager)(dag.functions[n.name]) for n in dag.nodes]
    defs = Definitions(assets=assets)
    graph = defs.asset_graph

    def materialized(names: list[str], run_id: str) -> None:
        for first in range(0, len(names), BATCH):
            instance.storage.store_events(
                [
                    RunEvent(
                        event_type=EventType.ASSET_MATERIALIZATION,
                        run_id=run_id,
                        job_name="bench_automation",
                        timestamp=time.time(),
                        data=AssetMaterialization(AssetKey(name)),
                    )
                    for name in names[first : first + BATCH]
                ]
            )

    with (
        tempfile.TemporaryDirectory(prefix="knoll-bench-") as folder,
        Instance.get(folder) as instance,
    ):
        materialized([n.name for n in dag.nodes], "seed")
        when = datetime(2024, 5, 1, tzinfo=UTC)
        facts = StorageAutomationFacts(instance.storage, graph.toposorted_keys)
        first = evaluate_automation(graph, facts, evaluation_time=when)

        started = time.perf_counter()
        facts = StorageAutomationFacts(instance.storage, graph.toposorted_keys)
        quiet = evaluate_automation(
            graph, facts, evaluation_time=when + timedelta(seconds=15), previous_state=first.state
        )
        quiet_s = time.perf_counter() - started
        assert not quiet.run_requests
        first = quiet

        materialized([n.name for n in dag.nodes if not n.parents], "update")
        later = when + timedelta(seconds=30)

        started = time.perf_counter()
        facts = StorageAutomationFacts(instance.storage, graph.toposorted_keys)
        second = evaluate_automation(
            graph, facts, evaluation_time=later, previous_state=first.state
        )
        evaluate_s = time.perf_counter() - started

        started = time.perf_counter()
        tick = automation_tick(
            defs,
            "bench",
            instance,
            evaluation_id=2,
            evaluation_time=later,
            previous_state=first.state,
        )
        tick_s = time.perf_counter() - started
    requested = sum(r.num_requested for r in second.records)
    roots = sum(1 for n in dag.nodes if not n.parents)
    assert requested == size - roots, (requested, size, roots)
    assert len(tick.runs) == 1
    return {"quiet_s": quiet_s, "evaluate_s": evaluate_s, "tick_s": tick_s, "requested": requested}


def _dagster(size: int) -> dict[str, float | int]:
    import dagster as dg

    from bench.dag import build

    dag = build(size)
    eager = dg.AutomationCondition.eager()
    assets = [dg.asset(automation_condition=eager)(dag.functions[n.name]) for n in dag.nodes]
    defs = dg.Definitions(assets=assets)
    with dg.DagsterInstance.ephemeral() as instance:
        for node in dag.nodes:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=node.name))
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        for node in dag.nodes:
            if not node.parents:
                instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=node.name))
        started = time.perf_counter()
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor
        )
        evaluate_s = time.perf_counter() - started
    return {"evaluate_s": evaluate_s, "requested": second.total_requested}


def _sample(python: Path | str, system: str, size: int) -> dict[str, float | int]:
    done = subprocess.run(
        [str(python), str(Path(__file__)), "--one", system, str(size)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )
    if done.returncode != 0:
        raise SystemExit(f"{system} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float | int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(samples: list[dict[str, float | int]], key: str) -> float:
    return statistics.median(float(s[key]) for s in samples)


def main(size: int) -> None:
    knoll = [_sample(sys.executable, "knoll", size) for _ in range(REPETITIONS)]
    evaluate, tick = _median(knoll, "evaluate_s"), _median(knoll, "tick_s")
    print(f"assets: {size:,}, eager everywhere; requested when busy: {knoll[0]['requested']:,}")
    print(f"knoll evaluate, quiet: {_median(knoll, 'quiet_s'):.3f} s (target <= 1 s)")
    print(f"knoll evaluate, busy: {evaluate:.3f} s (target <= 1 s)")
    print(f"knoll busy tick (evaluate + prepare the run): {tick:.3f} s")
    if not DAGSTER_PYTHON.exists():
        print("dagster: bench/.venv-dagster is missing (bench/run creates it); no ratio")
        return
    dagster = [_sample(DAGSTER_PYTHON, "dagster", size) for _ in range(REPETITIONS)]
    theirs = _median(dagster, "evaluate_s")
    print(
        f"dagster evaluate_automation_conditions: {theirs:.3f} s "
        f"(requested {dagster[0]['requested']:,})"
    )
    print(f"ratio dagster/knoll (busy evaluate): {theirs / evaluate:.1f}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--one":
        measure = _knoll if sys.argv[2] == "knoll" else _dagster
        print(json.dumps(measure(int(sys.argv[3]))))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
