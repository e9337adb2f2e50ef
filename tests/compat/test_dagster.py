"""``knoll.compat.dagster``: every knoll name, Dagster's brand names, and a light import."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import knoll
import knoll.compat.dagster as dg
from knoll.compat.dagster import BRAND_NAMES
from tests.test_import_knoll import IMPORT_KNOLL_LOADS, knoll_modules_after, unexpected


def test_import_stays_light() -> None:
    allowed = IMPORT_KNOLL_LOADS | {"knoll.compat", "knoll.compat.dagster"}
    loaded = knoll_modules_after("import knoll.compat.dagster as dg")
    assert loaded <= allowed, unexpected(loaded, allowed, "import knoll.compat.dagster")


@pytest.mark.parametrize("name", knoll.__all__)
def test_every_knoll_name_is_offered(name: str) -> None:
    assert getattr(dg, name) is getattr(knoll, name)


@pytest.mark.parametrize(("brand", "target"), sorted(BRAND_NAMES.items()))
def test_each_brand_name_is_the_knoll_object(brand: str, target: str) -> None:
    assert getattr(dg, brand) is getattr(knoll, target)


def test_brand_names_live_only_in_the_compat_module() -> None:
    assert not [name for name in knoll.__all__ if "dagster" in name.lower()]
    assert not hasattr(knoll, "DagsterInstance")


def test_star_import_and_dir_list_every_name() -> None:
    namespace: dict[str, Any] = {}
    exec("from knoll.compat.dagster import *", namespace)
    expected = {*knoll.__all__, *BRAND_NAMES}
    assert expected <= set(namespace)
    assert expected <= set(dir(dg))
    assert dg.__all__ == sorted(expected)


def test_a_name_knoll_lacks_is_an_attribute_error_pointing_to_the_porting_page() -> None:
    with pytest.raises(AttributeError) as caught:
        getattr(dg, "DagsterInvariantViolationError")  # noqa: B009
    message = str(caught.value)
    assert message.startswith(
        "module 'knoll.compat.dagster' has no attribute 'DagsterInvariantViolationError': "
        "knoll does not offer this Dagster name (yet)."
    )
    assert message.endswith(
        "docs/porting.md lists the names knoll maps and what differs from Dagster."
    )
    with pytest.raises(AttributeError, match=r"Did you mean 'AssetSpec'"):
        getattr(dg, "AsetSpec")  # noqa: B009
    with pytest.raises(ImportError, match="SolidDefinition"):
        exec("from knoll.compat.dagster import SolidDefinition", {})
    assert not hasattr(dg, "__wrapped__")


# ---- each error alias catches the error knoll really raises --------------------------------


class Rows(dg.Config):
    limit: int


@dg.asset
def rows(config: Rows) -> list[int]:
    return list(range(config.limit))


@dg.asset
def exploding() -> int:
    raise ZeroDivisionError("no rows to average")


@dg.asset
def mistyped() -> int:
    return "twelve"  # type: ignore[return-value]


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["eu", "us"]))
def regional() -> int:
    return 1


@dg.asset
def needs_input(rows: list[int]) -> int:
    return len(rows)


def _bad_config() -> None:
    dg.materialize([rows], run_config={"ops": {"rows": {"config": {"limit": "ten"}}}})


def _duplicate_asset() -> None:
    @dg.asset(name="rows")
    def rows_again() -> int:
        return 0

    dg.Definitions(assets=[rows, rows_again])


TRIGGERS: dict[str, Callable[[], object]] = {
    "DagsterError": lambda: dg.materialize([rows], selection="nothing_here"),
    "DagsterInvalidConfigError": _bad_config,
    "DagsterInvalidDefinitionError": _duplicate_asset,
    "DagsterInvalidInvocationError": needs_input,
    "DagsterInvalidSubsetError": lambda: dg.materialize([rows], selection="rowz"),
    "DagsterUnknownPartitionError": lambda: dg.materialize([regional], partition_key="apac"),
    "DagsterTypeCheckDidNotPass": lambda: dg.materialize([mistyped]),
    "DagsterUserCodeExecutionError": lambda: dg.materialize([exploding]),
    "DagsterExecutionStepExecutionError": lambda: dg.materialize([exploding]),
}


def test_every_error_alias_has_a_trigger() -> None:
    errors = {name for name in BRAND_NAMES if name.endswith("Error") or "TypeCheck" in name}
    assert errors == set(TRIGGERS)


@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_the_alias_catches_what_knoll_raises(name: str) -> None:
    with pytest.raises(getattr(dg, name)) as caught:
        TRIGGERS[name]()
    assert isinstance(caught.value, dg.DagsterError)


def test_user_code_errors_keep_the_original() -> None:
    with pytest.raises(dg.DagsterUserCodeExecutionError) as caught:
        dg.materialize([exploding])
    assert isinstance(caught.value.original, ZeroDivisionError)
    assert caught.value.__cause__ is caught.value.original


def test_instance_run_and_event_names() -> None:
    @dg.asset
    def logged() -> int:
        dg.get_dagster_logger().info("computed 4")
        return 4

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([logged], instance=instance)
        run = result.dagster_run
        assert isinstance(run, dg.DagsterRun)
        assert run.status is dg.DagsterRunStatus.SUCCESS
        stored = instance.get_events(result.run_id).records
    log_lines = [
        (r.event.message, r.event.level)
        for r in stored
        if r.event.event_type is dg.DagsterEventType.LOG_MESSAGE
    ]
    assert log_lines == [("computed 4", logging.INFO)]
    assert dg.get_dagster_logger("etl").name == "knoll.builtin.etl"


def test_the_porting_page_lists_every_brand_name() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "porting.md"
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \|", page.read_text(), re.M)
    assert dict(rows) == BRAND_NAMES
