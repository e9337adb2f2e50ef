"""The snow report example: the resort asset factory, a daily partition run, the schedule, and
the choice of snow API client by environment (the production client is never used to fetch)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from examples.snow_report import assets, definitions
from examples.snow_report.resources import (
    FIXTURES_DIR,
    LocalSnowApiClient,
    ProductionSnowApiClient,
)

from knoll import (
    AssetKey,
    EnvVarNotSetError,
    EventType,
    FilesystemIOManager,
    asset,
    build_asset_context,
    build_schedule_context,
    materialize_to_memory,
)

DAY = "2024-01-20"


@pytest.fixture(autouse=True)
def local_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SNOW_REPORT_ENV", raising=False)
    monkeypatch.delenv("SNOW_API_KEY", raising=False)


def fixture_readings(day: str) -> dict[str, dict[str, Any]]:
    """Each resort's reading of ``day``, read straight from the fixture files."""
    out = {}
    for path in sorted(FIXTURES_DIR.glob("*.json")):
        report = json.loads(path.read_text())
        for reading in report["readings"]:
            if reading["date"] == day:
                out[report["resort"]] = {"name": report["name"], **reading}
    return out


def test_definitions_validate_with_the_local_client() -> None:
    defs = definitions.build_definitions()
    assert type(defs.resources["snow_api"]) is LocalSnowApiClient
    keys = {k.to_user_string() for k in defs.get_asset_graph().executable_keys}
    assert keys == {
        "raw/powder_ridge",
        "raw/glacier_bowl",
        "raw/pine_valley",
        "conditions",
        "summary",
    }
    job = defs.get_job_def("snow_report_job")
    assert job.partitions_def is assets.daily_partitions
    assert defs.get_schedule_def("daily_snow_report").job_name == "snow_report_job"


def test_factory_builds_one_asset_per_resort() -> None:
    made = assets.build_raw_report_asset("north_face")
    assert made.key == AssetKey(["raw", "north_face"])
    spec = made.specs[0]
    assert spec.group_name == "raw_snow"
    assert spec.tags == {"resort": "north_face"}
    assert "json" in spec.kinds
    assert [a.key for a in assets.raw_reports] == [assets.raw_report_key(r) for r in assets.RESORTS]


def test_local_client_reads_the_fixtures() -> None:
    report = LocalSnowApiClient().get_report("glacier_bowl")
    assert report["name"] == "Glacier Bowl"
    assert len(report["readings"]) == 7


def test_job_for_one_day(tmp_path: Path) -> None:
    job = definitions.defs.get_job_def("snow_report_job")
    result = job.execute_in_process(
        partition_key=DAY, resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    )
    assert result.success
    assert result.run.tags["knoll/partition"] == DAY

    expected = fixture_readings(DAY)
    conditions = result.asset_value("conditions")
    assert {c["resort"]: {k: v for k, v in c.items() if k != "resort"} for c in conditions} == (
        expected
    )
    summary = result.asset_value("summary")
    best = max(expected, key=lambda r: (expected[r]["new_snow_cm"], expected[r]["base_depth_cm"]))
    assert summary["best_resort"] == best
    assert summary["total_new_snow_cm"] == sum(r["new_snow_cm"] for r in expected.values())
    assert summary["coldest_resort"] == min(expected, key=lambda r: expected[r]["temperature_c"])

    # raw reports are not partitioned; conditions and summary are stored per day
    for resort in assets.RESORTS:
        assert (tmp_path / "raw" / resort).is_file()
    assert (tmp_path / "conditions" / DAY).is_file()
    assert (tmp_path / "summary" / DAY).is_file()

    (materialization,) = result.asset_materializations_for_node("summary")
    assert materialization.partition == DAY
    assert materialization.metadata["best_resort"].value == expected[best]["name"]
    assert materialization.metadata["report"].value.startswith(f"# Snow report for {DAY}")


def test_a_day_without_readings() -> None:
    result = materialize_to_memory(
        [*assets.raw_reports, assets.conditions, assets.summary],
        resources={"snow_api": LocalSnowApiClient()},
        partition_key="2024-03-01",
    )
    assert result.asset_value("conditions") == []
    assert result.asset_value("summary")["resorts"] == 0
    warnings = [e.message for e in result.events_of_type(EventType.LOG_MESSAGE)]
    assert "powder_ridge has no reading for 2024-03-01" in warnings


def test_conditions_called_directly() -> None:
    reports = {r: LocalSnowApiClient().get_report(r) for r in assets.RESORTS}
    context = build_asset_context(partition_key=DAY)
    rows = assets.conditions(context, **reports)
    assert [row["resort"] for row in rows] == sorted(assets.RESORTS)


def test_schedule_requests_yesterday() -> None:
    schedule = definitions.defs.get_schedule_def("daily_snow_report")
    tick = schedule.evaluate_tick(
        build_schedule_context(scheduled_execution_time=datetime(2024, 1, 21, 7, tzinfo=UTC))
    )
    (request,) = tick.run_requests
    assert request.partition_key == DAY
    assert request.run_key == DAY
    assert request.job_name == "snow_report_job"

    result = definitions.defs.get_job_def(request.job_name).execute_in_process(
        partition_key=request.partition_key, tags=request.tags
    )
    assert result.asset_value("summary")["day"] == DAY

    early = schedule.evaluate_tick(
        build_schedule_context(scheduled_execution_time=datetime(2024, 1, 15, 7, tzinfo=UTC))
    )
    assert early.run_requests == ()
    assert early.skip_message == "2024-01-14 is before the first day of the report"


def test_production_environment_picks_the_production_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SNOW_REPORT_ENV", "production")
    defs = definitions.build_definitions()  # SNOW_API_KEY is not set: loading must not need it
    client = defs.resources["snow_api"]
    assert type(client) is ProductionSnowApiClient
    assert "api_key=EnvVar('SNOW_API_KEY')" in repr(client)

    # The key is read when a run starts: without it, the run fails before any step.
    job = defs.get_job_def("snow_report_job")
    with pytest.raises(EnvVarNotSetError, match=r"'SNOW_API_KEY' used by resource 'snow_api'"):
        job.execute_in_process(partition_key=DAY)
    result = job.execute_in_process(partition_key=DAY, raise_on_error=False)
    assert not result.success
    assert result.events_of_type(EventType.STEP_START) == []


def test_production_key_is_resolved_when_the_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOW_REPORT_ENV", "production")
    defs = definitions.build_definitions()
    monkeypatch.setenv("SNOW_API_KEY", "key-set-after-loading")

    # A probe that only looks at the client it was given: nothing is fetched.
    @asset
    def probe(snow_api: ProductionSnowApiClient) -> str:
        return snow_api.api_key

    result = materialize_to_memory([probe], resources={"snow_api": defs.resources["snow_api"]})
    assert result.asset_value("probe") == "key-set-after-loading"
    assert "key-set-after-loading" not in repr(defs.resources["snow_api"])


def test_unknown_environment_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOW_REPORT_ENV", "staging")
    with pytest.raises(ValueError, match=r"SNOW_REPORT_ENV is 'staging'; set it to 'local' or"):
        definitions.build_definitions()
