"""Calling assets and ops directly with plain values, and the contexts tests build for them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from knoll import (
    AssetExecutionContext,
    Config,
    ConfigurableResource,
    DailyPartitionsDefinition,
    DefinitionError,
    InitResourceContext,
    InvalidConfigError,
    InvalidInvocationError,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    OpExecutionContext,
    Output,
    PartitionKeyError,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TypeCheckError,
    asset,
    build_asset_context,
    build_op_context,
    graph,
    op,
)


@asset
def add_one(number: int) -> int:
    return number + 1


@asset
def combine(left: int, right: str = "!") -> str:
    return f"{left}{right}"


def test_assets_are_plain_functions_of_their_inputs() -> None:
    assert add_one(1) == 2
    assert add_one(number=41) == 42
    assert combine(1) == "1!"
    assert combine(1, "?") == "1?"
    assert combine(right="#", left=2) == "2#"


def test_missing_input() -> None:
    with pytest.raises(InvalidInvocationError) as info:
        add_one()
    assert str(info.value) == "asset 'add_one' needs input 'number': call it with number=<value>."


def test_too_many_positional_values() -> None:
    with pytest.raises(
        InvalidInvocationError, match=r"takes 1 input\(s\) \(number\) but was called"
    ):
        add_one(1, 2)


def test_unknown_parameter_suggests_the_input() -> None:
    with pytest.raises(InvalidInvocationError) as info:
        add_one(numbr=1)
    assert str(info.value) == (
        "asset 'add_one' has no parameter 'numbr'. Did you mean 'number'? Its inputs: number."
    )


def test_input_given_twice() -> None:
    with pytest.raises(InvalidInvocationError, match="input 'number' was given twice"):
        add_one(1, number=2)


def test_input_type_is_checked() -> None:
    with pytest.raises(TypeCheckError) as info:
        add_one("one")
    assert str(info.value) == (
        "asset 'add_one': input 'number' expects int, but got a str. Pass a value of that type "
        "or fix the annotation."
    )


def test_ops_are_plain_functions_too() -> None:
    @op
    def double(value: int) -> int:
        return value * 2

    assert double(4) == 8
    assert double(value=5) == 10


def test_a_generator_op_returns_its_generator() -> None:
    @op
    def yields() -> Iterator[Output[int]]:
        yield Output(1)

    produced = list(yields())
    assert len(produced) == 1
    assert produced[0].value == 1


def test_calling_a_graph_outside_a_composition_is_refused() -> None:
    @op
    def add_one_op(value: int = 0) -> int:
        return value + 1

    @graph
    def wiring() -> None:
        add_one_op(add_one_op.alias("first")())

    with pytest.raises(InvalidInvocationError, match="only be called inside another @graph"):
        wiring()


def test_calling_an_asset_inside_a_graph_is_refused() -> None:
    with pytest.raises(DefinitionError, match="called inside a @graph or @job body"):

        @graph
        def uses_asset() -> None:
            add_one()


# ---- contexts -------------------------------------------------------------------------------


@asset
def describe_run(context: AssetExecutionContext) -> str:
    context.log.info("not recorded anywhere, but allowed")
    return f"{context.asset_key.to_user_string()}:{context.run_id}:{dict(context.run_tags)}"


def test_a_context_is_built_when_none_is_given() -> None:
    assert describe_run().startswith("describe_run:")


def test_build_asset_context_with_run_tags() -> None:
    context = build_asset_context(run_tags={"team": "data"})
    assert describe_run(context).endswith("{'team': 'data'}")


def test_the_context_can_be_passed_by_name() -> None:
    assert describe_run(context=build_asset_context()).startswith("describe_run:")


def test_op_context() -> None:
    @op
    def reports(context: OpExecutionContext, value: int) -> str:
        return f"{context.op_def.name}:{value}"

    assert reports(build_op_context(), 3) == "reports:3"
    assert reports(build_op_context(), value=4) == "reports:4"


def test_a_context_for_a_function_that_takes_none_is_ignored() -> None:
    assert add_one(build_asset_context(), 1) == 2


# ---- config ---------------------------------------------------------------------------------


class Threshold(Config):
    minimum: int
    label: str = "rows"


@asset
def thresholded(config: Threshold) -> str:
    return f"{config.label}>={config.minimum}"


@op(config_schema={"limit": int})
def limited(context: OpExecutionContext) -> int:
    limit: int = context.op_config["limit"]
    return limit


def test_config_as_an_instance() -> None:
    assert thresholded(config=Threshold(minimum=3)) == "rows>=3"


def test_config_as_a_dict_is_validated() -> None:
    assert thresholded(config={"minimum": 4, "label": "items"}) == "items>=4"
    with pytest.raises(InvalidConfigError) as info:
        thresholded(config={"minimum": "four"})
    assert "expected int, got str 'four'" in str(info.value)
    assert "asset 'thresholded'" in str(info.value)


def test_config_through_the_context() -> None:
    context = build_asset_context(asset_config={"minimum": 7})
    assert thresholded(context) == "rows>=7"


def test_missing_required_config_names_the_field() -> None:
    with pytest.raises(InvalidConfigError) as info:
        thresholded()
    assert "missing required field 'minimum' (int). Add it, for example: minimum: 0" in str(
        info.value
    )


def test_op_config_schema() -> None:
    assert limited(build_op_context(op_config={"limit": 5})) == 5
    with pytest.raises(InvalidConfigError, match="unknown field 'limt'"):
        limited(build_op_context(op_config={"limt": 5}))


# ---- resources ------------------------------------------------------------------------------


class Store(ConfigurableResource):
    name: str

    def read(self) -> str:
        return f"data from {self.name}"


@asset
def reads_store(store: Store) -> str:
    return store.read()


@asset(required_resource_keys=["store"])
def reads_store_from_context(context: AssetExecutionContext) -> str:
    store: Store = context.resources.store
    return store.read()


def test_resource_as_a_parameter() -> None:
    assert reads_store(store=Store(name="param")) == "data from param"


def test_resource_through_the_context() -> None:
    context = build_asset_context(resources={"store": Store(name="ctx")})
    assert reads_store(context) == "data from ctx"
    assert reads_store_from_context(context) == "data from ctx"


def test_missing_resource_parameter() -> None:
    with pytest.raises(InvalidInvocationError) as info:
        reads_store()
    assert str(info.value) == (
        "asset 'reads_store' needs resource 'store': pass it as store=... or through "
        "build_asset_context(resources={'store': ...})."
    )


def test_missing_resource_on_the_context_names_the_asset() -> None:
    with pytest.raises(InvalidInvocationError) as info:
        reads_store_from_context(build_asset_context())
    message = str(info.value)
    assert message.startswith("resource 'store' is not available to asset 'reads_store_from")
    assert "build_asset_context(resources=...)" in message


def test_context_resources_are_set_up_and_torn_down_with_the_context() -> None:
    events: list[str] = []

    class Tracked(ConfigurableResource):
        def setup_for_execution(self, context: InitResourceContext) -> None:
            events.append("setup")

        def teardown_after_execution(self, context: InitResourceContext) -> None:
            events.append("teardown")

    with build_op_context(resources={"tracked": Tracked()}) as context:
        assert events == ["setup"]
        assert isinstance(context.resources.tracked, Tracked)
    assert events == ["setup", "teardown"]


def test_resource_config_through_the_context() -> None:
    context = build_asset_context(
        resources={"store": Store.configure_at_launch()},
        resources_config={"store": {"config": {"name": "configured"}}},
    )
    assert reads_store(context) == "data from configured"


# ---- partitions -----------------------------------------------------------------------------

daily = DailyPartitionsDefinition(start_date="2024-01-01")
regions = StaticPartitionsDefinition(["eu", "us"])
daily_by_region = MultiPartitionsDefinition({"date": daily, "region": regions})


@asset(partitions_def=daily)
def daily_window(context: AssetExecutionContext) -> dict[str, Any]:
    window = context.partition_time_window
    return {
        "keys": list(context.partition_keys),
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "single": context.has_partition_key,
    }


def test_partition_key() -> None:
    value = daily_window(build_asset_context(partition_key="2024-03-05"))
    assert value == {
        "keys": ["2024-03-05"],
        "start": "2024-03-05T00:00:00+00:00",
        "end": "2024-03-06T00:00:00+00:00",
        "single": True,
    }


def test_partition_key_range() -> None:
    context = build_asset_context(partition_key_range=PartitionKeyRange("2024-03-05", "2024-03-07"))
    value = daily_window(context)
    assert value["keys"] == ["2024-03-05", "2024-03-06", "2024-03-07"]
    assert value["end"] == "2024-03-08T00:00:00+00:00"
    assert value["single"] is False


def test_invalid_partition_key_names_the_asset() -> None:
    with pytest.raises(
        PartitionKeyError, match="asset 'daily_window' has no partition '2024/03/05'"
    ):
        daily_window(build_asset_context(partition_key="2024/03/05"))


def test_partitioned_asset_without_a_partition() -> None:
    with pytest.raises(PartitionKeyError) as info:
        daily_window(build_asset_context())
    assert str(info.value) == (
        "asset 'daily_window' is not running for a partition: run it with partition_key=... "
        "(or check context.has_partition_key first)."
    )


def test_partition_for_an_unpartitioned_asset_is_refused() -> None:
    with pytest.raises(InvalidInvocationError, match="asset 'describe_run' is not partitioned"):
        describe_run(build_asset_context(partition_key="2024-01-01"))


def test_multi_partition_key_keeps_its_dimensions() -> None:
    @asset(partitions_def=daily_by_region)
    def regional(context: AssetExecutionContext) -> dict[str, str]:
        key = context.partition_key
        assert isinstance(key, MultiPartitionKey)
        return dict(key.keys_by_dimension)

    assert regional(build_asset_context(partition_key="2024-01-02|us")) == {
        "date": "2024-01-02",
        "region": "us",
    }


def test_op_reading_op_config_without_required_config_names_the_missing_field() -> None:
    @op(config_schema={"punctuation": str})
    def greet(context: OpExecutionContext, name: str) -> str:
        return name + str(context.op_config["punctuation"])

    with pytest.raises(InvalidConfigError, match=r"missing required field 'punctuation' \(str\)"):
        greet(build_op_context(), "ana")
    assert greet(build_op_context(op_config={"punctuation": "!"}), "ana") == "ana!"
