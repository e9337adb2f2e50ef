import enum
import json
import subprocess
import sys
from typing import Any, Literal

import pydantic
import pytest

from knoll.defs.config import Config, PermissiveConfig
from knoll.defs.config_schema import (
    Array,
    Field,
    Map,
    Noneable,
    Permissive,
    Shape,
    check_config,
    coerce_config_arg,
    config_json_schema,
    config_sample,
    config_schema_is_required,
    default_config_value,
    format_path,
    is_config_class,
    normalize_config_schema,
    validate_config,
)
from knoll.errors import DefinitionError, InvalidConfigError


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


class Inner(Config):
    a: int = 1
    tags: list[str] = []  # noqa: RUF012 - pydantic copies defaults


class NeedsX(Config):
    x: int


class MyConfig(Config):
    delay: int = 0
    name: str
    limits: list[int] = []  # noqa: RUF012 - pydantic copies defaults
    nested: Inner = Inner()
    mode: Literal["full", "incremental"] = "full"
    color: Color = Color.RED
    maybe: int | None
    items: list[NeedsX] = []  # noqa: RUF012 - pydantic copies defaults
    either: int | str = 0
    positive: int = pydantic.Field(default=1, gt=0, description="must be positive")


class AllDefaults(Config):
    a: int = 3


class Tree(Config):
    label: str = "x"
    children: list["Tree"] = []  # noqa: RUF012 - pydantic copies defaults


def errors_of(schema: object, value: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidConfigError) as info:
        validate_config(schema, value, subject="op 'knob'", **kwargs)
    return list(info.value.errors)


# --- Config classes ------------------------------------------------------------------------


def test_config_class_resolves_to_an_instance_with_defaults() -> None:
    value = validate_config(MyConfig, {"name": "n"}, subject="asset 'a'")
    assert isinstance(value, MyConfig)
    assert (value.delay, value.name, value.limits, value.mode) == (0, "n", [], "full")
    assert value.nested == Inner()
    assert value.maybe is None  # `X | None` fields default to None


def test_config_is_frozen_and_forbids_unknown_keys() -> None:
    value = validate_config(MyConfig, {"name": "n"}, subject="asset 'a'")
    with pytest.raises(pydantic.ValidationError):
        value.name = "other"
    with pytest.raises(pydantic.ValidationError, match="extra"):
        MyConfig.model_validate({"name": "n", "bogus": 1})


def test_enum_fields_take_member_names_and_members() -> None:
    by_name = validate_config(MyConfig, {"name": "n", "color": "GREEN"}, subject="asset 'a'")
    assert by_name.color is Color.GREEN
    by_member = validate_config(MyConfig, {"name": "n", "color": Color.GREEN}, subject="a")
    assert by_member.color is Color.GREEN


def test_enum_names_inside_lists_and_dicts() -> None:
    class Palette(Config):
        colors: list[Color] = []  # noqa: RUF012
        by_key: dict[str, Color] = {}  # noqa: RUF012
        maybe: Color | None = None

    value = validate_config(
        Palette,
        {"colors": ["RED", "GREEN"], "by_key": {"k": "GREEN"}, "maybe": "RED"},
        subject="asset 'a'",
    )
    assert value.colors == [Color.RED, Color.GREEN]
    assert value.by_key == {"k": Color.GREEN}
    assert value.maybe is Color.RED


def test_nested_config_lists_of_config_and_literals_validate() -> None:
    value = validate_config(
        MyConfig,
        {"name": "n", "nested": {"a": 5}, "items": [{"x": 1}, {"x": 2}], "mode": "incremental"},
        subject="asset 'a'",
    )
    assert value.nested.a == 5
    assert [i.x for i in value.items] == [1, 2]
    assert value.mode == "incremental"


def test_missing_required_field_names_type_and_sample() -> None:
    assert errors_of(MyConfig, {}) == [
        "at the root: missing required field 'name' (str). Add it, for example: name: \"...\""
    ]


def test_missing_config_entirely_reports_each_required_field() -> None:
    assert errors_of(MyConfig, None) == [
        "at the root: missing required field 'name' (str). Add it, for example: name: \"...\""
    ]


def test_wrong_type_at_nested_path() -> None:
    errors = errors_of(
        MyConfig, {"name": "n", "delay": "abc"}, path_prefix=("ops", "knob", "config")
    )
    assert errors == ["at path ops:knob:config:delay: expected int, got str 'abc'"]


def test_unknown_field_did_you_mean() -> None:
    errors = errors_of(MyConfig, {"name": "n", "dealy": 3}, path_prefix=("ops", "knob", "config"))
    assert errors == ["at path ops:knob:config: unknown field 'dealy'. Did you mean 'delay'?"]


def test_unknown_field_without_close_match_lists_known_fields() -> None:
    errors = errors_of(Inner, {"zzz": 1})
    assert errors == [
        "at the root: unknown field 'zzz'. Remove it; the known fields are 'a', 'tags'."
    ]


def test_all_errors_are_collected_with_paths() -> None:
    errors = errors_of(
        MyConfig,
        {
            "delay": "abc",
            "limits": [1, "x"],
            "nested": {"a": "q", "c": 1},
            "mode": "ful",
            "color": "BLU",
            "items": [{"x": 1}, {}],
            "either": [1],
            "positive": -1,
        },
    )
    assert errors == [
        "at path delay: expected int, got str 'abc'",
        "at the root: missing required field 'name' (str). Add it, for example: name: \"...\"",
        "at path limits[1]: expected int, got str 'x'",
        "at path nested:a: expected int, got str 'q'",
        "at path nested: unknown field 'c'. Remove it; the known fields are 'a', 'tags'.",
        "at path mode: expected one of 'full', 'incremental', got str 'ful'. Did you mean 'full'?",
        "at path color: expected one of 'RED', 'GREEN' (Color), got str 'BLU'",
        "at path items[1]: missing required field 'x' (int). Add it, for example: x: 0",
        "at path either: expected int | str, got list [1]",
        "at path positive: invalid value int -1: Input should be greater than 0",
    ]


def test_error_message_has_a_knoll_headline_not_pydantics() -> None:
    with pytest.raises(InvalidConfigError) as info:
        validate_config(MyConfig, {"delay": "abc"}, subject="asset 'daily'")
    message = str(info.value)
    assert message.startswith("Invalid config for asset 'daily': 2 errors\n")
    assert "validation error" not in message
    assert "pydantic" not in message


def test_str_field_given_a_number_hints_at_quoting() -> None:
    errors = errors_of(MyConfig, {"name": 12})
    assert errors == [
        "at path name: expected str, got int 12. Quote it in YAML to pass a string, "
        'for example: "12"'
    ]


def test_missing_nested_config_sample_lists_required_fields() -> None:
    class Outer(Config):
        inner: NeedsX

    assert errors_of(Outer, {}) == [
        "at the root: missing required field 'inner' (NeedsX). Add it, for example: inner: {x: 0}"
    ]
    assert errors_of(Outer, {"inner": 3}) == [
        "at path inner: expected NeedsX (a dict of its fields), got int 3"
    ]


def test_config_class_given_a_non_mapping() -> None:
    assert errors_of(MyConfig, [1]) == [
        "at the root: expected MyConfig (a dict of its fields), got list [1]"
    ]


def test_permissive_config_keeps_extra_keys() -> None:
    class Loose(PermissiveConfig):
        a: int = 0

    value = validate_config(Loose, {"a": 1, "other": "x"}, subject="op 'o'")
    assert value.a == 1
    assert value.model_extra == {"other": "x"}


def test_is_config_class() -> None:
    assert is_config_class(MyConfig)
    assert not is_config_class(Config)
    assert not is_config_class(PermissiveConfig)
    assert not is_config_class(MyConfig(name="n", maybe=None))
    assert not is_config_class(dict)

    class Plain(pydantic.BaseModel):
        a: int

    assert not is_config_class(Plain)


def test_schema_modules_do_not_import_pydantic() -> None:
    code = (
        "import sys\n"
        "from knoll.defs import config_schema, run_config\n"
        "from knoll.defs.config_schema import validate_config\n"
        "assert validate_config({'a': int}, {'a': 1}, subject='x') == {'a': 1}\n"
        "assert not config_schema.is_config_class(dict)\n"
        "print('pydantic' in sys.modules, 'yaml' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


# --- dict schemas --------------------------------------------------------------------------


def test_scalar_schemas() -> None:
    assert validate_config(int, 3, subject="op 'o'") == 3
    assert validate_config(str, "s", subject="op 'o'") == "s"
    assert validate_config(bool, True, subject="op 'o'") is True
    assert validate_config(Any, {"x": [1]}, subject="op 'o'") == {"x": [1]}
    value = validate_config(float, 2, subject="op 'o'")
    assert value == 2.0
    assert isinstance(value, float)


def test_bools_are_not_ints_and_ints_are_not_bools() -> None:
    assert errors_of(int, True) == ["at the root: expected int, got bool True"]
    assert errors_of(float, False) == ["at the root: expected float, got bool False"]
    assert errors_of(bool, 1) == ["at the root: expected bool, got int 1"]


def test_missing_scalar_config() -> None:
    assert errors_of(int, None) == [
        "at the root: missing required config (int). Add it, for example: 0"
    ]


def test_dict_schema_fills_defaults_and_reports_every_error() -> None:
    schema = {
        "delay": Field(int, default_value=0, is_required=False, description="seconds"),
        "name": str,
        "limits": [int],
        "sub": {"x": Field(int, default_value=2)},
    }
    assert validate_config(schema, {"name": "n", "limits": [1]}, subject="op 'o'") == {
        "name": "n",
        "limits": [1],
        "delay": 0,
        "sub": {"x": 2},
    }
    errors = errors_of(schema, {"dealy": 1, "limits": [1, "a"], "sub": {"x": 1.5}})
    assert errors == [
        "at the root: unknown field 'dealy'. Did you mean 'delay'?",
        "at path limits[1]: expected int, got str 'a'",
        "at path sub:x: expected int, got float 1.5",
        "at the root: missing required field 'name' (str). Add it, for example: name: \"...\"",
    ]


def test_optional_field_without_default_is_absent() -> None:
    schema = {"opt": Field(int, is_required=False)}
    assert validate_config(schema, {}, subject="op 'o'") == {}
    assert validate_config(schema, {"opt": 4}, subject="op 'o'") == {"opt": 4}


def test_none_for_a_field_with_default_explains_how_to_use_it() -> None:
    assert errors_of({"delay": Field(int, default_value=5)}, {"delay": None}) == [
        "at path delay: expected int, got None. Give a value, or remove 'delay' to use its "
        "default 5"
    ]


def test_noneable() -> None:
    schema = {"n": Noneable(int)}
    assert validate_config(schema, {}, subject="op 'o'") == {"n": None}
    assert validate_config(schema, {"n": None}, subject="op 'o'") == {"n": None}
    assert validate_config(schema, {"n": 3}, subject="op 'o'") == {"n": 3}
    assert errors_of(schema, {"n": "x"}) == ["at path n: expected int, got str 'x'"]
    assert validate_config({"n": int | None}, {}, subject="op 'o'") == {"n": None}


def test_permissive_and_plain_dict() -> None:
    schema = Permissive({"a": int})
    assert validate_config(schema, {"a": 1, "b": "x"}, subject="op 'o'") == {"a": 1, "b": "x"}
    assert errors_of(schema, {"a": "1"}) == ["at path a: expected int, got str '1'"]
    assert validate_config(dict, {"anything": [1]}, subject="op 'o'") == {"anything": [1]}
    assert validate_config(dict, None, subject="op 'o'") == {}


def test_shape_given_a_non_mapping() -> None:
    assert errors_of(Shape({"a": int}), 3) == [
        "at the root: expected a dict like {a: 0}, got int 3"
    ]


def test_enum_type_takes_names() -> None:
    schema = {"color": Field(Color, default_value="GREEN")}
    assert validate_config(schema, {}, subject="op 'o'") == {"color": Color.GREEN}
    assert validate_config(schema, {"color": "RED"}, subject="op 'o'") == {"color": Color.RED}
    assert errors_of(schema, {"color": "RDE"}) == [
        "at path color: expected one of 'RED', 'GREEN' (Color), got str 'RDE'. Did you mean 'RED'?"
    ]


def test_array_list_generic_and_bare_list() -> None:
    for schema in (Array(int), [int], list[int]):
        assert validate_config(schema, [1, 2], subject="op 'o'") == [1, 2]
        assert errors_of(schema, "12") == [
            "at the root: expected list[int], got str '12'. Write a list, for example: [0]"
        ]
    assert validate_config(list, [1, "a"], subject="op 'o'") == [1, "a"]


def test_map() -> None:
    for schema in (Map(str, int), dict[str, int]):
        assert validate_config(schema, {"a": 1}, subject="op 'o'") == {"a": 1}
        assert errors_of(schema, {"a": "x", 3: 1}) == [
            "at path a: expected int, got str 'x'",
            "at the root: key 3 is not a str",
        ]


def test_defaults_are_not_shared_between_values() -> None:
    schema = {"items": Field([int], default_value=[1])}
    first = validate_config(schema, {}, subject="op 'o'")
    first["items"].append(2)
    assert validate_config(schema, {}, subject="op 'o'") == {"items": [1]}


def test_config_class_inside_a_dict_schema() -> None:
    value = validate_config({"inner": NeedsX}, {"inner": {"x": 2}}, subject="op 'o'")
    assert value == {"inner": NeedsX(x=2)}
    assert errors_of({"inner": NeedsX}, {"inner": {"x": "a"}}) == [
        "at path inner:x: expected int, got str 'a'"
    ]


def test_check_config_collects_without_raising() -> None:
    result = check_config({"a": int, "b": str}, {"a": "x"}, path_prefix=("resources", "db"))
    assert not result.ok
    assert result.errors == (
        "at path resources:db:a: expected int, got str 'x'",
        "at path resources:db: missing required field 'b' (str). Add it, for example: b: \"...\"",
    )


def test_format_path() -> None:
    assert format_path(()) == "at the root"
    assert (
        format_path(("ops", "knob", "config", "limits", 2)) == "at path ops:knob:config:limits[2]"
    )


# --- Field and normalisation ---------------------------------------------------------------


def test_field_required_rules() -> None:
    assert Field(int).is_required
    assert not Field(int, default_value=1).is_required
    assert not Field(int, is_required=False).is_required
    assert not Field(Noneable(int)).is_required
    assert not Field({"a": Field(int, default_value=1)}).is_required
    assert Field({"a": int}).is_required
    assert Field([int]).is_required


def test_field_default_must_match_type() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"Field\(...\) has default_value 'x', which does not match its type int "
        r"\(expected int, got str 'x'\)\. Fix the default\.",
    ):
        Field(int, default_value="x")


def test_field_cannot_be_required_with_default() -> None:
    with pytest.raises(DefinitionError, match="has a default_value and is_required=True"):
        Field(int, default_value=1, is_required=True)


def test_normalize_keeps_fields_and_wraps_types() -> None:
    field = Field(int, default_value=3)
    assert normalize_config_schema(field, "op 'o'") is field
    assert normalize_config_schema(None, "op 'o'") is None
    assert normalize_config_schema(int, "op 'o'") == Field(int)
    assert normalize_config_schema({"a": int}, "op 'o'") == Field(Shape({"a": Field(int)}))


def test_normalize_rejects_non_config_types_naming_the_owner() -> None:
    with pytest.raises(
        DefinitionError, match=r"config schema of op 'knob' is <class 'set'>, which is not a config"
    ):
        normalize_config_schema(set, "op 'knob'")
    with pytest.raises(
        DefinitionError,
        match=r"config schema of op 'knob': the type of field 'a' is 'int', which is not",
    ):
        normalize_config_schema({"a": "int"}, "op 'knob'")
    with pytest.raises(DefinitionError, match=r"a list with 2 items.*for example \[int\]"):
        normalize_config_schema([int, str], "op 'knob'")
    with pytest.raises(DefinitionError, match=r"field names must be non-empty strings"):
        normalize_config_schema({1: int}, "op 'knob'")
    with pytest.raises(DefinitionError, match=r"is a Field\(...\), which only goes as a value"):
        normalize_config_schema([Field(int)], "op 'knob'")
    with pytest.raises(DefinitionError, match=r"Map\(...\) key type .* use str or int"):
        Map(float, int)


def test_default_value_and_required() -> None:
    assert default_config_value(MyConfig) is None
    assert config_schema_is_required(MyConfig)
    assert default_config_value(AllDefaults) == AllDefaults(a=3)
    assert not config_schema_is_required(AllDefaults)
    assert default_config_value({"a": Field(int, default_value=2)}) == {"a": 2}
    assert not config_schema_is_required({"a": Field(int, default_value=2)})
    assert default_config_value({"a": int}) is None
    assert config_schema_is_required({"a": int})
    assert default_config_value(Field(int, default_value=7)) == 7
    assert default_config_value(Noneable(int)) is None
    assert not config_schema_is_required(Noneable(int))


def test_config_sample() -> None:
    assert config_sample({"a": int, "b": Field(str, default_value="x"), "c": [str]}) == (
        '{a: 0, c: ["..."]}'
    )
    assert config_sample(MyConfig) == '{name: "..."}'
    assert config_sample(Color) == "RED"


# --- JSON Schema ---------------------------------------------------------------------------


def test_json_schema_of_dict_schema() -> None:
    schema = {
        "delay": Field(int, default_value=0, description="seconds"),
        "name": str,
        "color": Field(Color, default_value=Color.GREEN),
        "opt": Noneable(float),
        "loose": Permissive(),
        "tags": Map(str, str),
    }
    assert config_json_schema(schema) == {
        "type": "object",
        "properties": {
            "delay": {"type": "integer", "default": 0, "description": "seconds"},
            "name": {"type": "string"},
            "color": {
                "type": "string",
                "enum": ["RED", "GREEN"],
                "title": "Color",
                "default": "GREEN",
            },
            "opt": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "loose": {"type": "object", "properties": {}, "additionalProperties": True},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": False,
        "required": ["name", "tags"],
    }


def test_json_schema_of_config_class_is_self_contained() -> None:
    schema = config_json_schema(MyConfig)
    text = json.dumps(schema)
    assert "$ref" not in text
    assert "$defs" not in text
    assert schema["required"] == ["name"]
    assert schema["properties"]["nested"]["properties"]["a"] == {
        "default": 1,
        "title": "A",
        "type": "integer",
    }
    assert schema["properties"]["color"]["enum"] == ["RED", "GREEN"]
    assert schema["properties"]["color"]["default"] == "RED"
    assert schema["properties"]["positive"]["description"] == "must be positive"
    assert schema["properties"]["items"]["items"]["required"] == ["x"]


def test_json_schema_of_recursive_config_class_terminates() -> None:
    schema = config_json_schema(Tree)
    assert "$ref" not in json.dumps(schema)
    children = schema["properties"]["children"]["items"]
    assert children["type"] == "object"
    assert children["description"] == "recursive Tree"


# --- direct invocation ---------------------------------------------------------------------


def test_coerce_config_arg() -> None:
    instance = MyConfig(name="n", maybe=None)
    assert coerce_config_arg(MyConfig, instance, "asset 'a'") is instance
    assert coerce_config_arg(MyConfig, {"name": "m"}, "asset 'a'").name == "m"
    assert coerce_config_arg({"a": int}, {"a": 1}, "op 'o'") == {"a": 1}
    with pytest.raises(
        InvalidConfigError,
        match=r"expected a MyConfig instance or a dict of its fields, got a NeedsX instance",
    ):
        coerce_config_arg(MyConfig, NeedsX(x=1), "asset 'a'")
    with pytest.raises(InvalidConfigError, match=r"Invalid config for op 'o': 1 error"):
        coerce_config_arg({"a": int}, {"a": "x"}, "op 'o'")
