"""UPathIOManager: one file per output (per partition), on local paths and on memory://."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from upath import UPath

from knoll import (
    AssetIn,
    StaticPartitionsDefinition,
    UPathIOManager,
    asset,
    build_input_context,
    build_output_context,
    job,
    materialize,
    op,
)
from knoll.errors import ExecutionError, InvalidInvocationError, UserCodeError


class JsonIOManager(UPathIOManager):
    """Stores each output as a JSON document."""

    extension = ".json"

    def dump_to_path(self, context: Any, obj: Any, path: UPath) -> None:
        path.write_text(json.dumps(obj))

    def load_from_path(self, context: Any, path: UPath) -> Any:
        return json.loads(path.read_text())

    def get_metadata(self, context: Any, obj: Any) -> dict[str, Any]:
        return {"items": len(obj)} if isinstance(obj, list) else {}


regions = StaticPartitionsDefinition(["eu", "us", "apac"])


@asset(partitions_def=regions)
def sales(context: Any) -> list[str]:
    return [f"{context.partition_key}-order"]


@asset
def all_sales(sales: dict[str, list[str]]) -> list[str]:
    return [row for region in sorted(sales) for row in sales[region]]


@asset(ins={"sales": AssetIn(metadata={"allow_missing_partitions": True})})
def known_sales(sales: dict[str, list[str]]) -> list[str]:
    return sorted(sales)


@pytest.fixture(params=["local", "memory"])
def base(request: pytest.FixtureRequest, tmp_path: Path) -> UPath:
    if request.param == "local":
        return UPath(tmp_path / "lake")
    return UPath(f"memory://lake-{uuid.uuid4().hex}")


def test_partitions_are_one_file_each_and_load_downstream_as_a_dict(base: UPath) -> None:
    io = JsonIOManager(base)
    for region in ("eu", "us", "apac"):
        assert materialize([sales], resources={"io_manager": io}, partition_key=region).success
    assert sorted(p.name for p in (base / "sales").iterdir()) == ["apac.json", "eu.json", "us.json"]
    result = materialize([sales, all_sales], selection=[all_sales], resources={"io_manager": io})
    assert result.output_for_node("all_sales") == ["apac-order", "eu-order", "us-order"]
    assert json.loads((base / "all_sales.json").read_text()) == result.output_for_node("all_sales")
    (event,) = result.asset_materializations_for_node("all_sales")
    assert event.metadata["items"].value == 3
    assert event.metadata["path"].value == str(base / "all_sales.json")


def test_missing_partitions_fail_unless_the_input_allows_them(base: UPath) -> None:
    io = JsonIOManager(base)
    materialize([sales], resources={"io_manager": io}, partition_key="eu")
    allowed = materialize(
        [sales, known_sales], selection=[known_sales], resources={"io_manager": io}
    )
    assert allowed.output_for_node("known_sales") == ["eu"]
    with pytest.raises(
        UserCodeError, match=r"asset 'sales' \(partition 'us'\) has no stored value"
    ):
        materialize([sales, all_sales], selection=[all_sales], resources={"io_manager": io})


def test_op_outputs_are_stored_under_the_run_and_step(tmp_path: Path) -> None:
    @op
    def numbers() -> list[int]:
        return [1, 2]

    @op
    def total(values: list[int]) -> int:
        return sum(values)

    @job(resource_defs={"io_manager": JsonIOManager(UPath(tmp_path))})
    def sums() -> None:
        total(numbers())

    result = sums.execute_in_process()
    assert result.output_for_node("total") == 3
    stored = tmp_path / result.run_id / "numbers" / "result.json"
    assert json.loads(stored.read_text()) == [1, 2]


def test_unit_testing_with_built_contexts(tmp_path: Path) -> None:
    io = JsonIOManager(UPath(tmp_path))
    out = build_output_context(asset_key=["shop", "orders"], partition_key="2024-05-01")
    io.handle_output(out, ["a"])
    assert (tmp_path / "shop" / "orders" / "2024-05-01.json").exists()
    assert out.added_metadata["items"].value == 1
    loaded = io.load_input(
        build_input_context(asset_key=["shop", "orders"], partition_key="2024-05-01")
    )
    assert loaded == ["a"]
    assert io.has_output(out)


def test_a_range_of_partitions_in_one_output_is_refused_with_a_reason(tmp_path: Path) -> None:
    io = JsonIOManager(UPath(tmp_path))
    from knoll import PartitionKeyRange

    out = build_output_context(
        asset_key="sales",
        asset_partitions_def=regions,
        asset_partition_key_range=PartitionKeyRange("eu", "us"),
    )
    with pytest.raises(ExecutionError, match=r"one partition per file.*covers 2 partitions"):
        io.handle_output(out, [])


def test_an_extension_without_a_dot_is_named() -> None:
    class Csv(JsonIOManager):
        extension = "csv"

    with pytest.raises(InvalidInvocationError, match=r"Csv.extension is 'csv'.*extension = '.csv'"):
        Csv()


def test_without_universal_pathlib_the_error_says_what_to_install() -> None:
    code = "import sys\nsys.modules['upath'] = None\nimport knoll\nknoll.UPathIOManager\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "needs universal-pathlib" in done.stderr
    assert "pip install 'knoll[upath]'" in done.stderr


def test_fs_and_storage_options_come_from_the_base_path() -> None:
    io = JsonIOManager(UPath("memory://opts"))
    assert "memory" in io.fs.protocol
    assert io.storage_options == {}
    assert io.base_path == UPath("memory://opts")
