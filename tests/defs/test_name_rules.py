"""Name rules aligned with Dagster 1.13: group segments, key parts with dashes and dots,
reserved names of ops, graphs, jobs, inputs, outputs, hooks, schedules and sensors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from knoll import (
    AssetCheckSpec,
    AssetKey,
    AssetSpec,
    Definitions,
    DynamicOut,
    DynamicOutput,
    In,
    Out,
    ScheduleDefinition,
    asset,
    graph,
    graph_asset,
    job,
    materialize,
    op,
    sensor,
    success_hook,
)
from knoll.errors import DefinitionError


def test_a_group_name_may_have_segments_joined_by_slash() -> None:
    @asset(group_name="marketing/emails")
    def open_rates() -> float:
        return 0.4

    defs = Definitions(assets=[open_rates])
    assert defs.get_asset_graph().groups() == {"marketing/emails": frozenset({open_rates.key})}


@pytest.mark.parametrize("group", ["marketing-emails", "a//b", "/marketing", "marketing/", ""])
def test_other_group_names_are_refused(group: str) -> None:
    with pytest.raises(DefinitionError) as info:
        AssetSpec("campaigns", group_name=group)
    assert str(info.value).startswith(
        f"group name {group!r} of asset 'campaigns' is not valid: use letters, digits and "
        "underscores (A-Z, a-z, 0-9, _), optionally in segments joined by '/' (for example "
        "'marketing/emails')"
    )
    assert str(info.value).endswith("or leave group_name unset for the default group.")


def test_key_parts_with_dashes_dots_and_spaces_materialize() -> None:
    @asset(key=["s3.landing", "daily-orders"])
    def landing() -> int:
        return 3

    @asset(deps=[landing], key_prefix=["reporting-v2"])
    def summary() -> int:
        return 1

    result = materialize([landing, summary])
    assert result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {
        AssetKey(["s3.landing", "daily-orders"]),
        AssetKey(["reporting-v2", "summary"]),
    }
    assert AssetSpec("crm export").key.to_python_identifier() == "crm_export"


@pytest.mark.parametrize(
    ("parts", "shown"),
    [
        (["raw", ""], "asset key part '' in 'raw/' is not valid"),
        (["raw", "."], "asset key part '.' in 'raw/.' is not valid"),
        (["raw", 3], "asset key part 3 in 'raw/3' is a int: key parts are strings"),
    ],
)
def test_empty_dot_and_non_string_parts_are_refused(parts: list[object], shown: str) -> None:
    with pytest.raises(DefinitionError, match=shown):
        AssetKey(parts)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["data eng", "x" * 64, "eu/west", "équipe"])
def test_asset_tag_values_follow_dagsters_rule(value: str) -> None:
    def orders() -> int:
        return 1

    with pytest.raises(
        DefinitionError,
        match=rf"tag 'team' of asset 'orders' has the value {re.escape(repr(value))}, which an "
        r"asset tag cannot have: asset tag values use only letters, digits, '\.', '-' and '_', "
        r"at most 63 characters",
    ):
        asset(tags={"team": value})(orders)


def test_asset_tags_within_the_rules_are_kept() -> None:
    tags = {"team": "data-eng.core_1", "tier": "", "ns/" + "k" * 63: "x" * 63}
    assert AssetSpec("orders", tags=tags).tags == tags
    with pytest.raises(
        DefinitionError, match=r"tag key 'a/b/c' of asset 'orders' is not valid: use letters"
    ):
        AssetSpec("orders", tags={"a/b/c": "x"})


# ---- reserved names (Dagster's DISALLOWED_NAMES and the Python keywords) -------------------

_RESERVED_TAIL = (
    "(reserved: Python keywords and arg_dict, bool, conf, config, context, dict, float, "
    "input, input_arg_dict, int, meta, output, output_arg_dict, str, type)."
)


def test_an_op_named_like_a_reserved_word_is_refused() -> None:
    with pytest.raises(DefinitionError) as info:

        @op
        def input() -> int:
            return 1

    assert str(info.value) == (
        "op name 'input' is not valid: it is a reserved word, which Dagster and knoll do not "
        f"take as a name {_RESERVED_TAIL} Rename it, for example 'input_op'."
    )


@pytest.mark.parametrize("name", ["class", "lambda", "None"])
def test_python_keywords_are_refused_as_job_and_graph_names(name: str) -> None:
    def body() -> None:
        pass

    with pytest.raises(DefinitionError, match=rf"job name '{name}' is not valid: it is a Python"):
        job(name=name)(body)
    with pytest.raises(DefinitionError, match=rf"graph name '{name}' is not valid: it is a Python"):
        graph(name=name)(body)


def test_reserved_input_and_output_names_are_refused_but_config_input_is_kept() -> None:
    with pytest.raises(DefinitionError) as info:

        @op
        def load(str: str) -> str:
            return str

    message = str(info.value)
    assert message.startswith(
        "input name 'str' of op 'load' is not valid: it is a reserved word, which Dagster and "
        "knoll do not take as a name"
    )
    assert "Rename it, for example 'str_input'." in message
    with pytest.raises(DefinitionError, match=r"output name 'type' of op 'split' is not valid"):

        @op(out={"type": Out(), "rows": Out()})
        def split() -> tuple[int, int]:
            return 1, 2

    @op(ins={"config": In()})
    def takes_config_input(config: int) -> int:  # an input, not a Config parameter
        return config

    assert "config" in takes_config_input.input_defs


def test_an_asset_whose_op_name_would_be_reserved_is_refused_with_the_fix() -> None:
    with pytest.raises(DefinitionError) as info:

        @asset
        def type() -> int:
            return 1

    message = str(info.value)
    assert message.startswith("asset 'type' (")
    assert message.endswith(
        "would compute in an op named 'type', which is a reserved word that Dagster and "
        "knoll do not take as an op name. Rename the asset (name=..., for example "
        "'type_asset') or put it under a key_prefix=."
    )
    with pytest.raises(DefinitionError, match=r"asset 'dict' \(.*\) would compute in an op"):

        @graph_asset(name="dict")
        def table() -> Any:
            return ten()

    # under a prefix its op is raw__type, which Dagster takes too
    @asset(key_prefix="raw", name="type")
    def raw_type() -> int:
        return 1

    assert raw_type.op is not None
    assert raw_type.op.name == "raw__type"
    assert materialize([raw_type]).asset_value(AssetKey(["raw", "type"])) == 1


def test_reserved_names_are_refused_for_hooks_schedules_sensors_and_mapping_keys() -> None:
    with pytest.raises(DefinitionError, match=r"success hook name 'meta' is not valid"):

        @success_hook(name="meta")
        def notify(context: Any) -> None:
            pass

    @job
    def nightly() -> None:
        ten()

    with pytest.raises(DefinitionError, match=r"schedule name 'for' is not valid: it is a Python"):
        ScheduleDefinition(name="for", cron_schedule="0 2 * * *", job=nightly)
    with pytest.raises(DefinitionError, match=r"sensor name 'context' is not valid"):

        @sensor(job=nightly, name="context")
        def watch() -> None:
            pass

    @op(out=DynamicOut())
    def fan_out() -> Any:
        yield DynamicOutput(1, mapping_key="type")

    @job
    def fanned() -> None:
        fan_out()

    result = fanned.execute_in_process(raise_on_error=False)
    error = result.step_error("fan_out")
    assert "mapping_key 'type', a Python keyword or reserved word" in str(error)


def test_names_dagster_does_not_reserve_stay_allowed() -> None:
    # resource keys, groups and asset check names are not node names
    @asset(group_name="type", required_resource_keys={"input"})
    def with_input_resource() -> int:
        return 1

    assert with_input_resource.specs[0].group_name == "type"
    assert AssetCheckSpec("type", asset="orders").name == "type"


@op
def ten() -> int:
    return 10
