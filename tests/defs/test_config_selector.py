"""``Selector`` (exactly one of its fields) and ``ScalarUnion`` (a scalar or a longer form)."""

from __future__ import annotations

import pytest

from knoll.defs.config_schema import (
    Field,
    ScalarUnion,
    Selector,
    Shape,
    check_config,
    config_json_schema,
)
from knoll.errors import DefinitionError

STORAGE = Selector(
    {
        "sqlite": Shape({"path": Field(str, default_value="knoll.db")}),
        "postgres": {"url": str},
    }
)


def test_a_selector_resolves_to_the_one_field_given() -> None:
    assert check_config(STORAGE, {"postgres": {"url": "u"}}).value == {"postgres": {"url": "u"}}
    assert check_config(STORAGE, {"sqlite": None}).value == {"sqlite": {"path": "knoll.db"}}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {},
            "at the root: expected a dict with exactly one of 'sqlite', 'postgres', got 0 keys. "
            "Write for example: {sqlite: {}}",
        ),
        (
            {"sqlite": {}, "postgres": {"url": "u"}},
            "at the root: expected a dict with exactly one of 'sqlite', 'postgres', got 2 keys. "
            "Write for example: {sqlite: {}}",
        ),
        ({"sqlit": {}}, "at the root: unknown field 'sqlit'. Did you mean 'sqlite'?"),
        (
            {"postgres": {}},
            "at path postgres: missing required field 'url' (str). Add it, for example: "
            'url: "..."',
        ),
        (
            "sqlite",
            "at the root: expected a dict with exactly one of 'sqlite', 'postgres', got str "
            "'sqlite'. Write for example: {sqlite: {}}",
        ),
    ],
)
def test_a_selector_names_what_is_wrong_and_the_fix(value: object, message: str) -> None:
    assert check_config(STORAGE, value).errors == (message,)


def test_a_scalar_union_takes_the_short_or_the_long_form() -> None:
    schema = ScalarUnion(str, {"module_name": str, "attribute": Field(str, is_required=False)})
    assert check_config(schema, "sales").value == "sales"
    assert check_config(schema, {"module_name": "sales"}).value == {"module_name": "sales"}
    assert check_config(schema, 3).errors == (
        'at the root: expected str or a dict like {module_name: "..."}, got int 3',
    )
    assert check_config(schema, {"module": "x"}).errors[0] == (
        "at the root: unknown field 'module'. Did you mean 'module_name'?"
    )


def test_json_schemas() -> None:
    assert config_json_schema(ScalarUnion(int, [int])) == {
        "anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]
    }
    schema = config_json_schema(Selector({"a": int}))
    assert schema == {
        "oneOf": [
            {
                "type": "object",
                "properties": {"a": {"type": "integer"}},
                "required": ["a"],
                "additionalProperties": False,
            }
        ]
    }


def test_a_scalar_union_needs_a_scalar_first() -> None:
    with pytest.raises(DefinitionError, match=r"ScalarUnion\(\.\.\.\) takes a scalar type first"):
        ScalarUnion({"a": int}, str)
