"""Config values are never converted silently: `true` and "10" are no int (as in Dagster),
while an int fits a float field. Config classes, dict schemas and resources alike."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from knoll.defs.config import Config
from knoll.defs.config_schema import check_config
from knoll.defs.resource import ConfigurableResource, configure_for_run
from tests.cli.helpers import knoll


class Numbers(Config):
    count: int = 1
    ratio: float = 0.5
    enabled: bool = False
    name: str = "x"
    counts: list[int] = []  # noqa: RUF012 - pydantic copies defaults
    by_name: dict[str, int] = {}  # noqa: RUF012
    maybe: int | None = None


class Warehouse(ConfigurableResource):
    port: int = 5432
    timeout: float = 1.0


DICT_SCHEMA = {
    "count": int,
    "ratio": float,
    "enabled": bool,
    "counts": [int],
}

REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"count": True}, "at path count: expected int, got bool True"),
    ({"count": "10"}, "at path count: expected int, got str '10'"),
    ({"count": 2.0}, "at path count: expected int, got float 2.0"),
    ({"ratio": "1.5"}, "at path ratio: expected float, got str '1.5'"),
    ({"ratio": True}, "at path ratio: expected float, got bool True"),
    ({"enabled": "true"}, "at path enabled: expected bool, got str 'true'"),
    ({"enabled": 1}, "at path enabled: expected bool, got int 1"),
    ({"counts": [1, "2"]}, "at path counts[1]: expected int, got str '2'"),
]


@pytest.mark.parametrize(("value", "message"), REFUSED)
def test_a_config_class_refuses_a_value_of_another_type(
    value: dict[str, Any], message: str
) -> None:
    result = check_config(Numbers, value)
    assert result.errors == (message,)


def test_a_config_class_refuses_coercion_in_dicts_unions_and_strings() -> None:
    result = check_config(Numbers, {"by_name": {"a": "1"}, "maybe": "3", "name": 3})
    assert result.errors == (
        "at path name: expected str, got int 3. Quote it in YAML to pass a string, for "
        'example: "3"',
        "at path by_name:a: expected int, got str '1'",
        "at path maybe: expected int | None, got str '3'",
    )


@pytest.mark.parametrize(("value", "message"), [r for r in REFUSED if "counts" not in r[0]])
def test_a_dict_schema_refuses_a_value_of_another_type(value: dict[str, Any], message: str) -> None:
    full = {"count": 1, "ratio": 0.5, "enabled": False, "counts": [], **value}
    assert check_config(DICT_SCHEMA, full).errors == (message,)


def test_an_int_is_accepted_for_a_float_everywhere() -> None:
    resolved = check_config(Numbers, {"ratio": 3}).value
    assert resolved.ratio == 3.0
    assert isinstance(resolved.ratio, float)
    plain = {"count": 1, "ratio": 3, "enabled": True, "counts": [1]}
    assert check_config(DICT_SCHEMA, plain).value["ratio"] == 3.0
    fresh, errors = configure_for_run(
        Warehouse(), {"timeout": 3}, label="warehouse", config_path=("resources", "warehouse")
    )
    assert errors == []
    assert fresh is not None
    assert fresh.timeout == 3.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "at path resources:warehouse:config:port: expected int, got bool True"),
        ("10", "at path resources:warehouse:config:port: expected int, got str '10'"),
    ],
)
def test_resource_config_refuses_a_value_of_another_type(value: object, message: str) -> None:
    fresh, errors = configure_for_run(
        Warehouse(),
        {"port": value},
        label="warehouse",
        config_path=("resources", "warehouse", "config"),
    )
    assert fresh is None
    assert errors == [message]


def test_a_resource_built_in_python_refuses_a_string_for_an_int() -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="Input should be a valid integer"):
        Warehouse(port="10")  # type: ignore[arg-type]


PROJECT = textwrap.dedent(
    """
    from knoll import Config, ConfigurableResource, Definitions, asset


    class LoadConfig(Config):
        days: int = 1


    class Warehouse(ConfigurableResource):
        port: int = 5432


    @asset
    def orders(config: LoadConfig, warehouse: Warehouse) -> int:
        return config.days + warehouse.port


    defs = Definitions(assets=[orders], resources={"warehouse": Warehouse()})
    """
)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "ops: {orders: {config: {days: true}}}",
            "  - at path ops:orders:config:days: expected int, got bool True",
        ),
        (
            "resources: {warehouse: {config: {port: '10'}}}",
            "  - at path resources:warehouse:config:port: expected int, got str '10'",
        ),
    ],
)
def test_the_cli_names_the_path_and_the_expected_type(
    tmp_path: Path, config: str, message: str
) -> None:
    (tmp_path / "project.py").write_text(PROJECT)
    (tmp_path / "run.yaml").write_text(config)
    done = knoll(
        "asset",
        "materialize",
        "-m",
        "project",
        "--select",
        "orders",
        "--config",
        "run.yaml",
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[1:] == [message]
