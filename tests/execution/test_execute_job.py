"""``JobDefinition.execute_in_process`` for op jobs and asset jobs, and run config checks."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from knoll import (
    AssetKey,
    Config,
    DefinitionError,
    Definitions,
    EventType,
    GraphOut,
    In,
    InMemoryIOManager,
    InvalidConfigError,
    InvalidInvocationError,
    OpExecutionContext,
    Out,
    Output,
    PartitionKeyError,
    RunConfig,
    UserCodeError,
    asset,
    define_asset_job,
    graph,
    job,
    op,
)

# ---- op jobs ------------------------------------------------------------------------------


@op
def one() -> int:
    return 1


@op
def two() -> int:
    return 2


@op
def add(x: int, y: int) -> int:
    return x + y


@op
def total(numbers: list[int]) -> int:
    return sum(numbers)


@op(out={"low": Out(int), "high": Out(int)})
def spread(value: int) -> tuple[int, int]:
    return value - 1, value + 1


@op(out={"evens": Out(list), "odds": Out(list)})
def partition_numbers(numbers: list[int]) -> Any:
    yield Output([n for n in numbers if n % 2 == 0], output_name="evens")
    yield Output([n for n in numbers if n % 2], output_name="odds")


@op
def count(items: list[int]) -> int:
    return len(items)


def test_linear_job_passes_outputs_to_inputs() -> None:
    @job
    def adds() -> None:
        add(one(), two())

    result = adds.execute_in_process()

    assert result.success
    assert result.job_name == "adds"
    assert result.output_for_node("add") == 3
    assert [e.step_key for e in result.get_step_success_events()] == ["one", "two", "add"]


def test_multiple_outputs_returned_as_a_tuple_and_yielded() -> None:
    @op
    def numbers() -> list[int]:
        return [1, 2, 3, 4, 5]

    @job
    def split_job() -> None:
        low, high = spread(one())
        add(low, high)
        evens, odds = partition_numbers(numbers())
        count.alias("count_evens")(evens)
        count.alias("count_odds")(odds)

    result = split_job.execute_in_process()

    assert result.output_for_node("spread", "low") == 0
    assert result.output_for_node("spread", "high") == 2
    assert result.output_for_node("add") == 2
    assert result.output_for_node("count_evens") == 2
    assert result.output_for_node("count_odds") == 3


def test_fan_in_collects_outputs_in_order() -> None:
    @job
    def fan_in() -> None:
        total([one(), two(), add.alias("three")(one.alias("one_b")(), two.alias("two_b")())])

    result = fan_in.execute_in_process()
    assert result.output_for_node("total") == 6


def test_nested_graphs_use_dotted_handles() -> None:
    @graph
    def inner(value: int) -> Any:
        low, high = spread(value)
        return add(low, high)

    @graph(out={"doubled": GraphOut(), "plain": GraphOut()})
    def middle(value: int) -> Any:
        return inner(value), add.alias("plus_one")(value, one())

    @job
    def nested() -> None:
        doubled, plain = middle(two())
        add.alias("final")(doubled, plain)

    result = nested.execute_in_process()

    assert result.output_for_node("middle.inner.spread", "high") == 3
    assert result.output_for_node("middle.inner.add") == 4
    assert result.output_for_node("middle.plus_one") == 3
    assert result.output_for_node("final") == 7
    assert "middle.inner.add" in {e.step_key for e in result.all_events}


def test_graph_execute_in_process() -> None:
    @graph
    def small() -> None:
        add(one(), two())

    assert small.execute_in_process().output_for_node("add") == 3


def test_output_value_needs_a_single_op() -> None:
    @job
    def single() -> None:
        one()

    @job
    def double() -> None:
        one()
        two()

    assert single.execute_in_process().output_value() == 1
    with pytest.raises(InvalidInvocationError, match="exactly one step"):
        double.execute_in_process().output_value()


def test_output_for_node_errors_name_what_exists() -> None:
    @job
    def split_job() -> None:
        spread(one())

    result = split_job.execute_in_process()
    with pytest.raises(InvalidInvocationError, match=r"Did you mean 'spread'\?"):
        result.output_for_node("sprad")
    with pytest.raises(InvalidInvocationError, match=r"outputs with values: high, low"):
        result.output_for_node("spread")


def test_input_default_value_is_used_when_unwired() -> None:
    @op(ins={"base": In(int, default_value=40)})
    def with_default(base: int) -> int:
        return base + 2

    @job
    def defaults() -> None:
        with_default()

    assert defaults.execute_in_process().output_for_node("with_default") == 42


def test_op_jobs_keep_outputs_in_memory_by_default() -> None:
    @job
    def adds() -> None:
        add(one(), two())

    result = adds.execute_in_process()
    handled = result.events_of_type(EventType.HANDLED_OUTPUT)
    assert {e.data.io_manager_key for e in handled if e.data is not None} == {"io_manager"}
    assert result.output_for_node("one") == 1


# ---- op_selection -------------------------------------------------------------------------

ran: Counter[str] = Counter()


@op
def source() -> int:
    ran["source"] += 1
    return 5


@op
def double(value: int) -> int:
    ran["double"] += 1
    return value * 2


@op(ins={"value": In(int, default_value=100)})
def inc(value: int) -> int:
    ran["inc"] += 1
    return value + 1


@graph
def sub(value: int) -> Any:
    return inc(double(value))


@job
def selectable() -> None:
    inc.alias("top_inc")(sub(source()))


@pytest.fixture(autouse=True)
def reset_ran() -> None:
    ran.clear()


def test_op_selection_runs_only_the_named_ops() -> None:
    result = selectable.execute_in_process(op_selection=["source", "sub.double"])

    assert result.success
    assert ran == Counter(source=1, double=1)
    assert result.output_for_node("sub.double") == 10
    assert [s.step_key for s in result.get_step_success_events()] == ["source", "sub.double"]


def test_op_selection_by_graph_name_selects_the_ops_inside() -> None:
    result = selectable.execute_in_process(op_selection=["source", "sub"])

    assert ran == Counter(source=1, double=1, inc=1)
    assert result.output_for_node("sub.inc") == 11


def test_op_selection_uses_the_default_of_a_cut_input() -> None:
    result = selectable.execute_in_process(op_selection=["top_inc"])
    assert result.output_for_node("top_inc") == 101


def test_op_selection_refuses_to_cut_a_required_input() -> None:
    with pytest.raises(DefinitionError) as info:
        selectable.execute_in_process(op_selection=["sub.double"])
    assert str(info.value) == (
        "op_selection runs op 'sub.double' without op 'source', which produces its input "
        "'value'. Add 'source' to op_selection, or give the input a default: "
        "In(default_value=...)."
    )
    assert ran == Counter()


def test_op_selection_unknown_name_suggests_one() -> None:
    with pytest.raises(DefinitionError, match=r"names 'sorce'.*Did you mean 'source'\?"):
        selectable.execute_in_process(op_selection=["sorce"])


def test_asset_selection_on_an_op_job_is_refused() -> None:
    with pytest.raises(InvalidInvocationError, match="is an op job; asset_selection="):
        selectable.execute_in_process(asset_selection=["x"])


# ---- config, resources, tags, errors for op jobs -------------------------------------------


class Multiplier(Config):
    factor: int
    label: str = "x"


@op
def multiply(config: Multiplier) -> str:
    return f"{config.label}{config.factor * 3}"


@op(config_schema={"rows": int, "name": str})
def with_schema(context: OpExecutionContext) -> str:
    return f"{context.op_config['name']}:{context.op_config['rows']}"


@job
def configured() -> None:
    multiply()
    with_schema()


GOOD_CONFIG = {
    "ops": {
        "multiply": {"config": {"factor": 2}},
        "with_schema": {"config": {"rows": 3, "name": "orders"}},
    }
}


def test_run_config_reaches_config_classes_and_schemas() -> None:
    result = configured.execute_in_process(run_config=GOOD_CONFIG)

    assert result.output_for_node("multiply") == "x6"
    assert result.output_for_node("with_schema") == "orders:3"
    assert result.run.run_config == GOOD_CONFIG


def test_run_config_object() -> None:
    # JobDefinition.execute_in_process is annotated with Mapping only, but takes RunConfig too
    run_config: Any = RunConfig(
        ops={
            "multiply": Multiplier(factor=1, label="y"),
            "with_schema": {"config": {"rows": 1, "name": "n"}},
        }
    )
    result = configured.execute_in_process(run_config=run_config)
    assert result.output_for_node("multiply") == "y3"


def test_config_errors_list_every_problem_with_its_path_before_the_run() -> None:
    bad = {
        "ops": {
            "multiply": {"config": {"factor": "many", "lable": "z"}},
            "with_schema": {"config": {"name": "orders"}},
        }
    }
    with pytest.raises(InvalidConfigError) as info:
        configured.execute_in_process(run_config=bad)

    error = info.value
    assert error.subject == "job 'configured'"
    assert str(error).startswith("Invalid config for job 'configured': 3 errors")
    assert "at path ops:multiply:config:factor: expected int, got str 'many'" in error.errors
    assert "at path ops:multiply:config: unknown field 'lable'. Did you mean 'label'?" in (
        error.errors
    )
    assert (
        "at path ops:with_schema:config: missing required field 'rows' (int). Add it, "
        "for example: rows: 0" in error.errors
    )


def test_missing_config_gives_a_sample() -> None:
    with pytest.raises(InvalidConfigError) as info:
        configured.execute_in_process()
    assert (
        "at path ops:multiply: missing required config for op or asset 'multiply'. Add it, "
        "for example: config: {factor: 0}" in info.value.errors
    )


def test_unknown_top_level_and_op_keys_are_reported() -> None:
    with pytest.raises(InvalidConfigError) as info:
        configured.execute_in_process(run_config={**GOOD_CONFIG, "opz": {}})
    assert "at the root: unknown field 'opz'. Did you mean 'ops'?" in info.value.errors
    bad_op = {"ops": {**GOOD_CONFIG["ops"], "multiplyy": {"config": {}}}}
    with pytest.raises(InvalidConfigError, match=r"unknown op or asset 'multiplyy'"):
        configured.execute_in_process(run_config=bad_op)


def test_job_config_is_merged_with_run_config() -> None:
    @job(config={"ops": {"multiply": {"config": {"factor": 5}}}})
    def preset() -> None:
        multiply()

    assert preset.execute_in_process().output_for_node("multiply") == "x15"
    override = {"ops": {"multiply": {"config": {"factor": 1}}}}
    assert preset.execute_in_process(run_config=override).output_for_node("multiply") == "x3"


def test_job_tags_and_run_tags_are_combined() -> None:
    @job(tags={"team": "core", "tier": "1"})
    def tagged() -> None:
        one()

    result = tagged.execute_in_process(tags={"tier": "2", "trigger": "test"})
    assert result.run.tags == {"team": "core", "tier": "2", "trigger": "test"}


def test_resources_from_the_job_and_from_the_call() -> None:
    @op(required_resource_keys=["prefix"])
    def greet(context: OpExecutionContext) -> str:
        return f"{context.resources.prefix}-world"

    @job(resource_defs={"prefix": "job"})
    def greets() -> None:
        greet()

    assert greets.execute_in_process().output_for_node("greet") == "job-world"
    result = greets.execute_in_process(resources={"prefix": "call"})
    assert result.output_for_node("greet") == "call-world"


def test_user_error_in_an_op_names_op_and_step() -> None:
    @op
    def explode(value: int) -> int:
        raise ZeroDivisionError(f"cannot divide {value}")

    @graph
    def wrapper(value: int) -> Any:
        return explode(value)

    @job
    def failing() -> None:
        add(wrapper(one()), two())

    with pytest.raises(UserCodeError) as info:
        failing.execute_in_process()
    assert str(info.value) == (
        "error in op 'wrapper.explode' (step 'wrapper.explode'): ZeroDivisionError: cannot divide 1"
    )
    assert isinstance(info.value.__cause__, ZeroDivisionError)

    result = failing.execute_in_process(raise_on_error=False)
    assert not result.success
    assert result.failed_step_keys == ["wrapper.explode"]
    skipped = result.get_step_skipped_events()
    assert [(e.step_key, e.message) for e in skipped] == [
        ("add", "skipped op 'add': upstream step 'wrapper.explode' failed")
    ]


# ---- asset jobs ---------------------------------------------------------------------------

asset_calls: Counter[str] = Counter()


@asset
def upstream_asset() -> int:
    asset_calls["upstream_asset"] += 1
    return 3


@asset
def middle_asset(upstream_asset: int) -> int:
    asset_calls["middle_asset"] += 1
    return upstream_asset * 2


@asset
def last_asset(middle_asset: int) -> int:
    asset_calls["last_asset"] += 1
    return middle_asset + 1


def make_defs(io: InMemoryIOManager) -> Definitions:
    return Definitions(
        assets=[upstream_asset, middle_asset, last_asset],
        resources={"io_manager": io},
        jobs=[
            define_asset_job("everything"),
            define_asset_job("tail", selection="middle_asset+"),
            define_asset_job(
                "configured_tail",
                selection=["last_asset"],
                tags={"kind": "tail"},
            ),
        ],
    )


def test_asset_job_from_definitions_materializes_its_selection() -> None:
    asset_calls.clear()
    defs = make_defs(InMemoryIOManager())

    result = defs.get_job_def("everything").execute_in_process()

    assert result.success
    assert result.job_name == "everything"
    assert result.asset_value("last_asset") == 7
    assert asset_calls == Counter(upstream_asset=1, middle_asset=1, last_asset=1)
    keys = [e.materialization.asset_key for e in result.get_asset_materialization_events()]
    assert keys == [AssetKey("upstream_asset"), AssetKey("middle_asset"), AssetKey("last_asset")]


def test_asset_job_loads_unselected_upstream_assets() -> None:
    io = InMemoryIOManager()
    defs = make_defs(io)
    defs.get_job_def("everything").execute_in_process()
    asset_calls.clear()

    result = defs.get_job_def("tail").execute_in_process()
    assert asset_calls == Counter(middle_asset=1, last_asset=1)
    assert result.asset_value("last_asset") == 7
    loaded = result.events_of_type(EventType.LOADED_INPUT)
    assert [e.step_key for e in loaded] == ["middle_asset", "last_asset"]

    result = defs.get_job_def("configured_tail").execute_in_process(tags={"run": "1"})
    assert asset_calls == Counter(middle_asset=1, last_asset=2)
    assert result.run.tags == {"kind": "tail", "run": "1"}


def test_asset_job_asset_selection_must_stay_inside_the_job() -> None:
    defs = make_defs(InMemoryIOManager())
    job_def = defs.get_job_def("tail")
    with pytest.raises(InvalidInvocationError, match="outside job 'tail': upstream_asset"):
        job_def.execute_in_process(asset_selection=["upstream_asset"])


def test_asset_job_asset_selection_narrows_the_run() -> None:
    asset_calls.clear()
    io = InMemoryIOManager()
    defs = make_defs(io)
    defs.get_job_def("everything").execute_in_process()
    asset_calls.clear()
    result = defs.get_job_def("everything").execute_in_process(asset_selection=["last_asset"])
    assert asset_calls == Counter(last_asset=1)
    assert result.run.asset_selection == frozenset({AssetKey("last_asset")})


def test_asset_job_partition_key_on_unpartitioned_job_is_refused() -> None:
    defs = make_defs(InMemoryIOManager())
    with pytest.raises(PartitionKeyError, match="job 'everything' is not partitioned"):
        defs.get_job_def("everything").execute_in_process(partition_key="2024-01-01")


class Offset(Config):
    offset: int


@asset
def shifted(config: Offset) -> int:
    return config.offset + 1


def test_asset_job_config() -> None:
    defs = Definitions(
        assets=[shifted],
        jobs=[define_asset_job("shift", config={"ops": {"shifted": {"config": {"offset": 9}}}})],
        resources={"io_manager": InMemoryIOManager()},
    )
    assert defs.get_job_def("shift").execute_in_process().asset_value("shifted") == 10
    with pytest.raises(InvalidConfigError, match="Invalid config for job 'shift'"):
        defs.get_job_def("shift").execute_in_process(
            run_config={"ops": {"shifted": {"config": {"offset": "nine"}}}}
        )
