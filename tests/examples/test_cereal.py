"""The cereal example, materialized for real: as assets, and as the ``cereal_job`` op job."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from examples.cereal import assets, ops
from examples.cereal.common import CEREAL_CSV, OutputDirectory

from knoll import (
    AssetKey,
    EventType,
    ExecuteInProcessResult,
    FilesystemIOManager,
    InvalidConfigError,
    build_op_context,
    materialize,
)

ASSETS = [
    assets.cereals,
    assets.cereals_with_sugar_per_cup,
    assets.sugar_cutoff,
    assets.top_quartile_cereals,
    assets.top_quartile_csv,
]


def sugar_per_cup_from_csv() -> dict[str, float]:
    """Sugar per cup of every cereal, read straight from the bundled file."""
    with CEREAL_CSV.open(newline="") as handle:
        return {r["name"]: float(r["sugars"]) / float(r["cups"]) for r in csv.DictReader(handle)}


def upper_quartile(values: list[float]) -> float:
    """The 75th percentile, interpolating at rank 0.75 * (n + 1) (the "exclusive" method)."""
    data = sorted(values)
    rank = 0.75 * (len(data) + 1)
    below = int(rank)
    return data[below - 1] + (rank - below) * (data[below] - data[below - 1])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def log_messages(result: ExecuteInProcessResult) -> list[str]:
    return [e.message for e in result.events_of_type(EventType.LOG_MESSAGE)]


def test_definitions_validate() -> None:
    graph = assets.defs.get_asset_graph()
    names = {key.to_user_string() for key in graph.executable_keys}
    assert names == {a.key.to_user_string() for a in ASSETS}
    assert {assets.defs.get_assets_def(a.key).specs[0].group_name for a in ASSETS} == {"cereal"}
    assert isinstance(assets.defs.resources["output_dir"], OutputDirectory)
    assert set(ops.defs.job_defs) == {"cereal_job"}


def test_materialize_assets_writes_the_top_quartile(tmp_path: Path) -> None:
    out_dir = tmp_path / "reports"
    storage = tmp_path / "storage"
    result = assets.defs.get_implicit_asset_job().execute_in_process(
        resources={
            "output_dir": OutputDirectory(path=str(out_dir)),
            "io_manager": FilesystemIOManager(base_dir=str(storage)),
        }
    )
    assert result.success

    per_cup = sugar_per_cup_from_csv()
    cutoff = upper_quartile(list(per_cup.values()))
    assert result.asset_value("sugar_cutoff") == pytest.approx(cutoff)
    expected = {name for name, value in per_cup.items() if value > cutoff}
    assert 0 < len(expected) < len(per_cup)

    top = result.asset_value("top_quartile_cereals")
    assert {row["name"] for row in top} == expected
    assert [row["sugar_per_cup"] for row in top] == sorted(
        (row["sugar_per_cup"] for row in top), reverse=True
    )

    written = read_csv(out_dir / assets.TOP_QUARTILE_FILE)
    assert [row["name"] for row in written] == [row["name"] for row in top]
    for row in written:
        assert float(row["sugar_per_cup"]) == pytest.approx(per_cup[row["name"]])
    assert list(written[0]) == [*read_csv(CEREAL_CSV)[0], "sugar_per_cup"]

    # every asset with a value was stored by the IO manager under its key
    for name in ("cereals", "cereals_with_sugar_per_cup", "sugar_cutoff", "top_quartile_cereals"):
        assert (storage / name).is_file()
    assert not (storage / "top_quartile_csv").exists()  # a MaterializeResult has no value


def test_top_quartile_csv_metadata(tmp_path: Path) -> None:
    result = materialize(ASSETS, resources={"output_dir": OutputDirectory(path=str(tmp_path))})
    (event,) = result.asset_materializations_for_node("top_quartile_csv")
    assert event.asset_key == AssetKey("top_quartile_csv")
    metadata = {key: value.value for key, value in event.metadata.items()}
    path = tmp_path / assets.TOP_QUARTILE_FILE
    assert metadata["path"] == str(path)
    assert metadata["row_count"] == len(read_csv(path))
    preview = metadata["preview"].splitlines()
    assert preview[0] == "| name | mfr | sugars | sugar_per_cup |"
    first = read_csv(path)[0]
    assert preview[2].startswith(f"| {first['name']} | {first['mfr']} | {first['sugars']} |")


def test_default_folders_are_under_knoll_home(knoll_home: Path) -> None:
    # the resource as defs declares it: no path, so reports go to $KNOLL_HOME/cereal
    result = materialize(ASSETS, resources=assets.defs.resources)
    assert result.success
    assert (knoll_home / "cereal" / assets.TOP_QUARTILE_FILE).is_file()
    assert (knoll_home / "storage" / "sugar_cutoff").is_file()


def test_asset_check_runs_with_the_assets(tmp_path: Path) -> None:
    result = materialize(
        [*ASSETS, assets.sugar_per_cup_is_non_negative],
        resources={"output_dir": OutputDirectory(path=str(tmp_path))},
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.asset_key == AssetKey("cereals_with_sugar_per_cup")
    assert evaluation.check_name == "sugar_per_cup_is_non_negative"
    assert evaluation.passed
    assert evaluation.metadata["negative_count"].value == 0


def test_asset_check_fails_on_negative_sugar() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "Fine Flakes", "sugar_per_cup": 4.0},
        {"name": "Broken Row", "sugar_per_cup": -1.0},
    ]
    result = assets.sugar_per_cup_is_non_negative(rows)
    assert result.passed is False
    assert result.metadata["negative"].value == "Broken Row"


def test_assets_can_be_called_directly() -> None:
    rows = assets.cereals()
    assert len(rows) == 30
    assert rows[0]["calories"] == int(read_csv(CEREAL_CSV)[0]["calories"])
    with_sugar = assets.cereals_with_sugar_per_cup(
        [{"name": "Half Cup Hoops", "sugars": 6, "cups": 0.5}]
    )
    assert with_sugar == [
        {"name": "Half Cup Hoops", "sugars": 6, "cups": 0.5, "sugar_per_cup": 12.0}
    ]


# ---- the op job ------------------------------------------------------------------------------


def test_cereal_job_without_config(tmp_path: Path) -> None:
    job = ops.defs.get_job_def("cereal_job")
    result = job.execute_in_process(resources={"output_dir": OutputDirectory(path=str(tmp_path))})
    assert result.success
    path = Path(result.output_for_node("write_sugariest"))
    assert path == tmp_path / ops.SUGARIEST_FILE

    per_cup = sugar_per_cup_from_csv()
    cutoff = upper_quartile(list(per_cup.values()))
    assert result.output_for_node("compute_cutoff") == pytest.approx(cutoff)
    assert {row["name"] for row in read_csv(path)} == {n for n, v in per_cup.items() if v > cutoff}
    assert not any("waiting" in message for message in log_messages(result))


def test_cereal_job_with_delay(tmp_path: Path) -> None:
    run_config = {"ops": {"add_sugar_per_cup": {"config": {"delay": 0.05}}}}
    result = ops.cereal_job.execute_in_process(
        run_config, resources={"output_dir": OutputDirectory(path=str(tmp_path))}
    )
    assert result.success
    assert "waiting 0.05 s before computing sugar per cup" in log_messages(result)
    assert result.run.run_config["ops"]["add_sugar_per_cup"]["config"]["delay"] == 0.05
    assert (tmp_path / ops.SUGARIEST_FILE).is_file()


def test_cereal_job_rejects_a_bad_delay(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigError, match=r"ops:add_sugar_per_cup:config:delay"):
        ops.cereal_job.execute_in_process(
            {"ops": {"add_sugar_per_cup": {"config": {"delay": "soon"}}}},
            resources={"output_dir": OutputDirectory(path=str(tmp_path))},
        )


def test_ops_can_be_called_directly() -> None:
    rows = [{"name": f"c{i}", "sugar_per_cup": float(i)} for i in range(8)]
    assert ops.filter_below_cutoff(rows, 5.0) == rows[6:]
    context = build_op_context(op_config={"delay": 0.0})
    with_sugar = ops.add_sugar_per_cup(context, [{"name": "x", "sugars": 3, "cups": 0.75}])
    assert with_sugar[0]["sugar_per_cup"] == pytest.approx(4.0)
