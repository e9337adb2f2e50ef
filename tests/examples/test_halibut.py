"""The halibut team project: team metadata on every asset, and the weekly job with its config."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from examples.halibut import assets
from examples.halibut.assets import LANDINGS_CSV, HalibutConfig
from examples.halibut.config import OWNERS, TEAM_TAGS
from examples.halibut.definitions import defs

from knoll import (
    AssetSelection,
    ExecuteInProcessResult,
    FilesystemIOManager,
    InvalidConfigError,
    PartitionKeyError,
    RunConfig,
    build_asset_context,
)

WEEK = "2024-01-08"
JOB = "halibut_weekly_job"


def landings_between(first: str, end: str) -> list[dict[str, str]]:
    """Rows of the bundled CSV dated ``first`` <= date < ``end`` (ISO dates compare as text)."""
    with LANDINGS_CSV.open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if first <= row["date"] < end]


def run_week(
    config: HalibutConfig, week: str = WEEK, resources: dict[str, Any] | None = None
) -> ExecuteInProcessResult:
    """Run the weekly job for ``week`` with ``config`` for ``landings``, as typed run config."""
    run_config = RunConfig(ops={"landings": config})
    result: ExecuteInProcessResult = defs.get_job_def(JOB).execute_in_process(
        run_config,
        partition_key=week,
        resources=resources,
    )
    return result


def test_definitions_validate() -> None:
    keys = {k.to_user_string() for k in defs.get_asset_graph().executable_keys}
    assert keys == {"landings", "landings_by_species", "weekly_landings_report"}
    for key in keys:
        spec = defs.get_assets_def(key).specs[0]
        assert spec.group_name == "halibut"
        assert spec.owners == tuple(OWNERS)
        assert spec.tags.items() >= TEAM_TAGS.items()
        assert spec.kinds
        assert spec.metadata["contact"].value == "#halibut-data"
    assert AssetSelection.groups("halibut").resolve(defs.get_asset_graph()) == frozenset(
        defs.get_asset_graph().executable_keys
    )

    job = defs.get_job_def(JOB)
    assert job.tags == {"team": "halibut", "project": "landings", "cadence": "weekly"}
    assert job.partitions_def is assets.weekly_partitions
    assert assets.weekly_partitions.get_partition_keys()[:3] == [
        "2024-01-01",
        "2024-01-08",
        "2024-01-15",
    ]


def test_weekly_job_for_one_week(tmp_path: Path) -> None:
    result = run_week(
        HalibutConfig(data_start_date="2024-01-01"),
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
    )
    assert result.success
    assert result.run.tags["team"] == "halibut"
    assert result.run.tags["knoll/partition"] == WEEK

    expected = landings_between("2024-01-08", "2024-01-15")
    landings = result.asset_value("landings")
    assert [(r["date"], r["vessel"], r["kg"]) for r in landings] == [
        (r["date"], r["vessel"], float(r["kg"])) for r in expected
    ]

    totals: dict[str, float] = defaultdict(float)
    for row in expected:
        totals[row["species"]] += float(row["kg"])
    by_species = result.asset_value("landings_by_species")
    assert by_species == pytest.approx(totals, abs=0.05)
    assert list(by_species) == sorted(totals, key=lambda s: totals[s], reverse=True)

    report = result.asset_value("weekly_landings_report")
    assert report.startswith(f"# Landings, week of {WEEK}\n\n{len(expected)} landings by ")

    (landed,) = result.asset_materializations_for_node("landings")
    assert landed.partition == WEEK
    assert landed.metadata["mode"].value == "incremental"
    assert landed.metadata["rows"].value == len(expected)
    for name in ("landings", "landings_by_species", "weekly_landings_report"):
        assert (tmp_path / name / WEEK).is_file()


def test_data_start_date_cuts_the_week() -> None:
    result = defs.get_job_def(JOB).execute_in_process(
        run_config={"ops": {"landings": {"config": {"data_start_date": "2024-01-11"}}}},
        partition_key=WEEK,
    )
    dates = {r["date"] for r in result.asset_value("landings")}
    assert dates == {r["date"] for r in landings_between("2024-01-11", "2024-01-15")}


def test_full_refresh_loads_from_the_start_date() -> None:
    config = HalibutConfig(data_start_date="2024-01-03", full_refresh=True)
    result = run_week(config)
    assert len(result.asset_value("landings")) == len(landings_between("2024-01-03", "2024-01-15"))
    (landed,) = result.asset_materializations_for_node("landings")
    assert landed.metadata["mode"].value == "full refresh"
    assert landed.metadata["first_day"].value == "2024-01-03"


def test_weekly_job_needs_data_start_date() -> None:
    with pytest.raises(InvalidConfigError, match=r"at path ops:landings: .*data_start_date"):
        defs.get_job_def(JOB).execute_in_process(partition_key=WEEK)


def test_weekly_job_needs_a_week_key() -> None:
    with pytest.raises(PartitionKeyError, match=r"2024-01-10"):
        run_week(HalibutConfig(data_start_date="2024-01-01"), week="2024-01-10")


def test_landings_called_with_asset_config() -> None:
    context = build_asset_context(
        partition_key=WEEK, asset_config={"data_start_date": "2024-01-01"}
    )
    rows = assets.landings(context)
    assert len(rows) == len(landings_between("2024-01-08", "2024-01-15"))


def test_landings_called_with_a_config_object() -> None:
    context = build_asset_context(partition_key=WEEK)
    rows = assets.landings(context, config=HalibutConfig(data_start_date="2024-01-01"))
    assert len(rows) == len(landings_between("2024-01-08", "2024-01-15"))
