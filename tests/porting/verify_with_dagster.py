"""Run the porting projects under Dagster itself, by hand, to confirm the expected values
that tests/porting/test_projects.py writes down (not part of the test suite: it needs
Dagster installed)::

    PORTING_OUTPUT_DIR=$(mktemp -d) WEATHER_TOKEN=tok-123 \\
        /work/main/bench/.venv-dagster/bin/python tests/porting/verify_with_dagster.py

It prints each project's asset graph (keys, deps, groups, partition keys) and the results
that the tests compare, as JSON.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg

PROJECTS = Path(__file__).parent / "projects"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PROJECTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _graph(defs: Any) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    out = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        pdef = node.partitions_def
        out[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "partitions": None if pdef is None else list(pdef.get_partition_keys()),
        }
    return out


def _materialized(result: Any) -> list[str]:
    return sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events())


def main() -> None:
    report: dict[str, Any] = {}
    for path in sorted(PROJECTS.glob("*.py")):
        if path.stem != "__init__":
            report[path.stem] = {"graph": _graph(_load(path.stem).defs)}

    m = sys.modules["daily_schedule"]
    morning = datetime(2024, 3, 5, 6, tzinfo=UTC)
    request = m.every_morning(dg.build_schedule_context(scheduled_execution_time=morning))
    result = m.defs.get_job_def("daily_job").execute_in_process(partition_key=request.partition_key)
    report["daily_schedule"]["report"] = result.asset_value("daily_report")

    m = sys.modules["asset_checks"]
    result = m.defs.get_implicit_global_asset_job_def().execute_in_process()
    report["asset_checks"]["checks"] = {
        e.check_name: [e.passed, e.severity.value, {k: v.value for k, v in e.metadata.items()}]
        for e in result.get_asset_check_evaluations()
    }
    report["asset_checks"]["success"] = result.success

    m = sys.modules["op_job_config"]
    greet = {"config": {"name": "Ada", "excited": True}}
    result = m.greeting_job.execute_in_process(
        run_config=dg.RunConfig(ops={"greet": greet, "repeat": {"config": {"times": 2}}})
    )
    report["op_job_config"]["repeat"] = result.output_for_node("repeat")

    m = sys.modules["multi_asset"]
    result = m.defs.get_implicit_global_asset_job_def().execute_in_process()
    report["multi_asset"]["materialized"] = _materialized(result)

    m = sys.modules["sensor_runs"]
    context = dg.build_sensor_context(cursor="2024-01-01.csv")
    requests = m.new_files(context)
    report["sensor_runs"]["requests"] = [[r.run_key, r.tags] for r in requests]
    report["sensor_runs"]["cursor"] = context.cursor

    m = sys.modules["materialize_result"]
    result = dg.materialize([m.exported_table, m.scores])
    report["materialize_result"]["metadata"] = {
        e.asset_key.to_user_string(): {
            k: str(v.value) for k, v in e.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
    }

    m = sys.modules["selection_jobs"]
    report["selection_jobs"]["sources_job"] = _materialized(
        m.defs.get_job_def("sources_job").execute_in_process()
    )
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([m.stations, m.readings], instance=instance)
    totals = m.defs.get_job_def("totals_job").execute_in_process(instance=instance)
    report["selection_jobs"]["totals_job"] = [
        _materialized(totals),
        totals.asset_value("grand_total"),
    ]

    m = sys.modules["multi_partitions"]
    key = dg.MultiPartitionKey({"date": "2024-05-02", "region": "us"})
    result = dg.materialize([m.sales], partition_key=key)
    report["multi_partitions"]["sales"] = result.asset_value("sales")

    m = sys.modules["retries"]
    result = dg.materialize([m.flaky_download])
    report["retries"]["retry_events"] = len(
        [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    )

    m = sys.modules["logger_and_errors"]
    report["logger_and_errors"]["run_with"] = [m.run_with(3), m.run_with("three")]

    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
