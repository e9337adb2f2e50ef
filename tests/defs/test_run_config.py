import json
from pathlib import Path
from typing import Any

import pytest

from knoll.defs.config import Config
from knoll.defs.config_schema import Field
from knoll.defs.run_config import (
    ResolvedRunConfig,
    RunConfig,
    RunConfigSchema,
    load_run_config,
    merge_run_configs,
)
from knoll.errors import InvalidConfigError


class KnobConfig(Config):
    delay: int = 0
    name: str


class DbConfig(Config):
    url: str
    pool: int = 5


def make_schema() -> RunConfigSchema:
    return RunConfigSchema(
        node_schemas={
            "knob": KnobConfig,
            "plain": None,
            "defaults": {"x": Field(int, default_value=1)},
            "outer.inner": {"y": int},
            "outer.quiet": None,
        },
        resource_schemas={
            "db": DbConfig,
            "cache": {"ttl": Field(int, default_value=60)},
            "io": None,
        },
        job_name="my_job",
    )


VALID: dict[str, Any] = {
    "ops": {
        "knob": {"config": {"name": "a"}},
        "outer": {"ops": {"inner": {"config": {"y": 1}}}},
    },
    "resources": {"db": {"config": {"url": "sqlite://"}}},
}


def errors_of(document: Any, schema: RunConfigSchema | None = None) -> list[str]:
    with pytest.raises(InvalidConfigError) as info:
        (schema or make_schema()).validate(document)
    assert info.value.subject == "job 'my_job'"
    return list(info.value.errors)


# --- resolving -----------------------------------------------------------------------------


def test_valid_document_resolves_every_node() -> None:
    resolved = make_schema().validate(VALID)
    assert resolved.node_config == {
        "knob": KnobConfig(name="a"),
        "defaults": {"x": 1},
        "outer.inner": {"y": 1},
    }
    assert resolved.execution == {}
    assert resolved.raw == VALID
    assert resolved.raw is not VALID


def test_resources_resolve_only_when_given() -> None:
    resolved = make_schema().validate(
        {**VALID, "resources": {"db": {"config": {"url": "u"}}, "cache": {"config": {}}}}
    )
    # A Config-class resource gets what was written; a dict schema gets its defaults filled.
    assert resolved.resource_config == {"db": {"url": "u"}, "cache": {"ttl": 60}}
    only_db = make_schema().validate(VALID)
    assert only_db.resource_config == {"db": {"url": "sqlite://"}}


def test_flat_dotted_handle_for_nested_graph_op() -> None:
    document = {
        "ops": {"knob": {"config": {"name": "a"}}, "outer.inner": {"config": {"y": 7}}},
        "resources": {"db": {"config": {"url": "u"}}},
    }
    assert make_schema().validate(document).node_config["outer.inner"] == {"y": 7}


def test_execution_is_passed_through() -> None:
    document = {**VALID, "execution": {"config": {"max_concurrent": 4}}, "loggers": {}}
    assert make_schema().validate(document).execution == {"config": {"max_concurrent": 4}}


def test_empty_document_when_nothing_is_required() -> None:
    schema = RunConfigSchema({"defaults": {"x": Field(int, default_value=1)}}, {}, "my_job")
    documents: list[dict[str, Any] | None] = [None, {}]
    for document in documents:
        resolved = schema.validate(document)
        assert resolved == ResolvedRunConfig(
            node_config={"defaults": {"x": 1}}, resource_config={}, execution={}, raw={}
        )


def test_node_entry_may_be_a_config_instance() -> None:
    document = {**VALID, "ops": {**VALID["ops"], "knob": KnobConfig(name="z", delay=2)}}
    assert make_schema().validate(document).node_config["knob"] == KnobConfig(name="z", delay=2)


def test_run_config_object() -> None:
    run_config = RunConfig(
        ops={"knob": KnobConfig(name="z"), "outer": {"ops": {"inner": {"config": {"y": 3}}}}},
        resources={"db": DbConfig(url="u")},
        execution={"config": {}},
    )
    assert run_config.to_config_dict() == {
        "ops": {
            "knob": {"config": {"delay": 0, "name": "z"}},
            "outer": {"ops": {"inner": {"config": {"y": 3}}}},
        },
        "resources": {"db": {"config": {"url": "u", "pool": 5}}},
        "execution": {"config": {}},
    }
    resolved = make_schema().validate(run_config)
    assert resolved.node_config["knob"] == KnobConfig(name="z")
    assert resolved.node_config["outer.inner"] == {"y": 3}


# --- errors --------------------------------------------------------------------------------


def test_document_that_is_not_a_mapping() -> None:
    assert errors_of(["ops"]) == [
        "at the root: expected a dict with keys like 'ops' and 'resources', got list ['ops']"
    ]


def test_unknown_top_level_key() -> None:
    assert errors_of({**VALID, "opps": {}}) == [
        "at the root: unknown field 'opps'. Did you mean 'ops'?"
    ]


def test_unknown_node_suggests_and_lists_configurable_nodes() -> None:
    document = {**VALID, "ops": {**VALID["ops"], "knb": {"config": {}}}}
    assert errors_of(document) == [
        "at path ops: unknown op or asset 'knb'. Did you mean 'knob'? Ops and assets that take "
        "config: 'knob', 'defaults', 'outer.inner'."
    ]


def test_unknown_node_when_no_node_takes_config() -> None:
    schema = RunConfigSchema({"plain": None}, {}, "my_job")
    assert errors_of({"ops": {"other": {}}}, schema) == [
        "at path ops: unknown op or asset 'other'. No op or asset in job 'my_job' takes config."
    ]


def test_unknown_op_inside_a_graph() -> None:
    document = {
        **VALID,
        "ops": {**VALID["ops"], "outer": {"ops": {"inner": {"config": {"y": 1}}, "innr": {}}}},
    }
    assert errors_of(document) == [
        "at path ops:outer:ops: unknown op or asset 'innr'. Did you mean 'inner'? Ops and assets "
        "that take config in graph 'outer': 'outer.inner'."
    ]


def test_node_that_takes_no_config() -> None:
    document = {**VALID, "ops": {**VALID["ops"], "plain": {"config": {"a": 1}}}}
    assert errors_of(document) == [
        "at path ops:plain: op or asset 'plain' takes no config. Remove this entry, or declare "
        "config on op or asset 'plain' (a Config parameter or config_schema=)."
    ]
    # An empty entry for such a node is harmless.
    resolved = make_schema().validate({**VALID, "ops": {**VALID["ops"], "plain": {}}})
    assert "plain" not in resolved.node_config


def test_missing_required_node_config_gives_a_sample() -> None:
    assert errors_of({"resources": VALID["resources"]}) == [
        "at path ops:knob: missing required config for op or asset 'knob'. Add it, for example: "
        'config: {name: "..."}',
        "at path ops:outer.inner: missing required config for op or asset 'outer.inner'. Add it, "
        "for example: config: {y: 0}",
    ]


def test_errors_inside_node_config_carry_the_full_path() -> None:
    document = {
        **VALID,
        "ops": {
            "knob": {"config": {"name": "a", "dealy": 3, "delay": "abc"}},
            "outer": {"ops": {"inner": {"config": {"y": "s"}}}},
        },
    }
    assert errors_of(document) == [
        "at path ops:knob:config:delay: expected int, got str 'abc'",
        "at path ops:knob:config: unknown field 'dealy'. Did you mean 'delay'?",
        "at path ops:outer:ops:inner:config:y: expected int, got str 's'",
    ]


def test_entry_without_config_wrapper_gets_the_hint() -> None:
    document = {**VALID, "ops": {**VALID["ops"], "knob": {"name": "a", "delay": 3}}}
    assert errors_of(document) == [
        "at path ops:knob: unknown keys 'name', 'delay'; put them under 'config:', for example: "
        'config: {name: "a", delay: 3}'
    ]


def test_entry_that_is_not_a_mapping() -> None:
    schema = RunConfigSchema({"count": int}, {}, "my_job")
    assert errors_of({"ops": {"count": 5}}, schema) == [
        "at path ops:count: expected a dict with a 'config' key, got int 5; put it under "
        "'config:', for example: count: {config: 5}"
    ]
    assert schema.validate({"ops": {"count": {"config": 5}}}).node_config == {"count": 5}


def test_inputs_in_run_config_are_not_supported() -> None:
    document = {**VALID, "ops": {**VALID["ops"], "defaults": {"inputs": {"a": 1}}}}
    assert errors_of(document) == [
        "at path ops:defaults: 'inputs' is not supported: knoll loads inputs from upstream "
        "assets and IO managers, not from run config. Remove it."
    ]


def test_graph_entry_with_config_is_rejected() -> None:
    document = {
        **VALID,
        "ops": {
            **VALID["ops"],
            "outer": {"config": {"y": 1}, "ops": {"inner": {"config": {"y": 1}}}},
        },
    }
    assert errors_of(document) == [
        "at path ops:outer: graph 'outer' takes no config; configure its ops under 'ops:', for "
        "example: outer: {ops: {inner: {config: ...}}}"
    ]


def test_same_node_configured_twice() -> None:
    document = {
        **VALID,
        "ops": {**VALID["ops"], "outer.inner": {"config": {"y": 2}}},
    }
    assert errors_of(document) == [
        "at path ops:outer.inner: op or asset 'outer.inner' is configured twice (also at path "
        "ops:outer:ops:inner). Keep one of them."
    ]


def test_loggers_and_execution_shapes() -> None:
    assert errors_of({**VALID, "loggers": {"console": {}}, "execution": [1]}) == [
        "at path execution: expected a dict of executor config, got list [1]",
        "at path loggers: custom loggers in run config are not supported by knoll. Remove "
        "'loggers'; knoll records every log line as an event of the run.",
    ]


def test_resource_errors() -> None:
    document = {
        **VALID,
        "resources": {"dbb": {}, "io": {"config": {"x": 1}}, "cache": {"config": {"ttl": "1"}}},
    }
    assert errors_of(document) == [
        "at path resources: unknown resource 'dbb'. Did you mean 'db'? Resources that take "
        "config: 'db', 'cache'.",
        "at path resources:db: missing required config for resource 'db'. Add it, for example: "
        'config: {url: "..."}',
        "at path resources:cache:config:ttl: expected int, got str '1'",
        "at path resources:io: resource 'io' takes no config. Remove this entry, or declare config "
        "on resource 'io' (a Config parameter or config_schema=).",
    ]


def test_all_errors_come_in_one_exception() -> None:
    with pytest.raises(InvalidConfigError, match=r"^Invalid config for job 'my_job': 5 errors\n"):
        make_schema().validate({"opps": 1, "ops": {"knb": {}}})


# --- JSON Schema ---------------------------------------------------------------------------


def test_to_json_schema() -> None:
    schema = make_schema().to_json_schema()
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    ops = schema["properties"]["ops"]
    assert set(ops["properties"]) == {"knob", "defaults", "outer"}
    assert ops["required"] == ["knob", "outer"]
    knob = ops["properties"]["knob"]
    assert knob["required"] == ["config"]
    assert knob["properties"]["config"]["required"] == ["name"]
    inner = ops["properties"]["outer"]["properties"]["ops"]["properties"]["inner"]
    assert inner["properties"]["config"] == {
        "type": "object",
        "properties": {"y": {"type": "integer"}},
        "additionalProperties": False,
        "required": ["y"],
    }
    defaults = ops["properties"]["defaults"]
    assert "required" not in defaults
    resources = schema["properties"]["resources"]
    assert set(resources["properties"]) == {"db", "cache"}
    assert resources["required"] == ["db"]
    json.dumps(schema)  # plain JSON all the way down


# --- loading -------------------------------------------------------------------------------


def test_load_yaml_string_and_mapping() -> None:
    text = "ops:\n  knob:\n    config:\n      name: a\n"
    assert load_run_config(text) == {"ops": {"knob": {"config": {"name": "a"}}}}
    assert load_run_config("") == {}
    original = {"ops": {"knob": {"config": {"name": "a"}}}}
    loaded = load_run_config(original)
    assert loaded == original
    loaded["ops"]["knob"]["config"]["name"] = "b"
    assert original["ops"]["knob"]["config"]["name"] == "a"


def test_load_yaml_and_json_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("ops:\n  knob: {config: {name: a}}\n")
    json_file = tmp_path / "run.json"
    json_file.write_text(json.dumps({"ops": {"knob": {"config": {"name": "b"}}}}))
    assert load_run_config(yaml_file) == {"ops": {"knob": {"config": {"name": "a"}}}}
    assert load_run_config(str(yaml_file)) == {"ops": {"knob": {"config": {"name": "a"}}}}
    assert load_run_config(json_file)["ops"]["knob"]["config"]["name"] == "b"
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_run_config(empty) == {}


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("ops:\n  knob:\n    config: {name: a\n  other: 1\n")
    with pytest.raises(InvalidConfigError) as info:
        load_run_config(path)
    assert info.value.subject == f"run config file {str(path)!r}"
    (error,) = info.value.errors
    assert error.startswith("line 4, column 8: ")
    assert error.endswith("Fix the YAML syntax there.")


def test_yaml_string_syntax_error() -> None:
    with pytest.raises(
        InvalidConfigError,
        match=r"^run config text: line 2, column 10: not valid YAML: mapping values "
        r"are not allowed here",
    ):
        load_run_config("ops:\n  knob: a: b\n")


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "ops": {\n    "knob": 1,\n  }\n}\n')
    with pytest.raises(InvalidConfigError, match=r"line 4, column 3: Expecting property name"):
        load_run_config(path)


def test_duplicate_yaml_key_is_an_error() -> None:
    with pytest.raises(
        InvalidConfigError,
        match=r"^run config text: line 3, column 3: the key 'knob' is given twice in one mapping, "
        r"at line 2 and at line 3\. Keep one of them\.$",
    ):
        load_run_config("ops:\n  knob: {}\n  knob: {}\n")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(
        InvalidConfigError,
        match=r"run config file '.*nope\.yaml': 1 error\n  - the file does not exist",
    ):
        load_run_config(path)


def test_loaded_document_must_be_a_mapping() -> None:
    with pytest.raises(
        InvalidConfigError,
        match=r"at the root: expected a dict with keys like 'ops' and 'resources', got list",
    ):
        load_run_config("- 1\n- 2\n")


def test_merge_run_configs() -> None:
    base: dict[str, Any] = {"ops": {"a": {"config": {"x": 1, "y": 2}}}, "execution": {"config": {}}}
    merged = merge_run_configs(base, {"ops": {"a": {"config": {"y": 3}}, "b": {}}})
    assert merged == {
        "ops": {"a": {"config": {"x": 1, "y": 3}}, "b": {}},
        "execution": {"config": {}},
    }
    assert base["ops"]["a"]["config"]["y"] == 2
