"""``@op``, ``@graph`` and ``@job``: inputs and outputs, composition, and wiring errors."""

from __future__ import annotations

from typing import Any

import pytest

from knoll import (
    DefinitionError,
    GraphDefinition,
    GraphOut,
    In,
    InvalidInvocationError,
    JobDefinition,
    Nothing,
    OpDefinition,
    Out,
    RetryPolicy,
    asset,
    graph,
    job,
    op,
)
from knoll.defs.composition import InvokedOutput


@op
def one() -> int:
    return 1


@op
def add(x: int, y: int) -> int:
    return x + y


@op
def total(values: list[int]) -> int:
    return sum(values)


@op(out={"low": Out(int), "high": Out(int)})
def split(value: int) -> tuple[int, int]:
    return value, value * 10


# -- ops -------------------------------------------------------------------------------------


def test_an_op_reads_inputs_and_output_from_its_signature() -> None:
    assert isinstance(add, OpDefinition)
    assert add.name == "add"
    assert add.kind == "op"
    assert add.describe() == "op 'add'"
    assert list(add.input_defs) == ["x", "y"]
    assert add.input_defs["x"].type is int
    assert list(add.output_defs) == ["result"]
    assert add.output_defs["result"].type is int
    assert add.output_defs["result"].io_manager_key == "io_manager"


def test_op_options_land_on_the_definition() -> None:
    policy = RetryPolicy(max_retries=2)

    @op(
        name="renamed",
        description="Does things.",
        tags={"team": "core"},
        required_resource_keys=["db"],
        retry_policy=policy,
        pool="warehouse",
        code_version="7",
        config_schema={"limit": int},
    )
    def original() -> None:
        pass

    assert original.name == "renamed"
    assert original.description == "Does things."
    assert original.tags == {"team": "core"}
    assert original.required_resource_keys == frozenset({"db"})
    assert original.retry_policy is policy
    assert original.pool == "warehouse"
    assert original.code_version == "7"
    assert original.config_schema == {"limit": int}


def test_the_context_is_not_an_input() -> None:
    @op
    def with_context(context: Any, x: int) -> int:
        return x

    assert list(with_context.input_defs) == ["x"]
    assert with_context.signature.context_param == "context"


def test_in_declares_defaults_types_and_nothing_inputs() -> None:
    @op(ins={"x": In(int, default_value=5, description="a number"), "after": In(Nothing)})
    def shaped(x: Any) -> int:
        return int(x)

    assert shaped.input_defs["x"].type is int
    assert shaped.input_defs["x"].default_value == 5
    assert shaped.input_defs["x"].has_default
    assert shaped.input_defs["x"].description == "a number"
    assert shaped.input_defs["after"].is_nothing


def test_python_defaults_are_input_defaults() -> None:
    @op
    def defaulted(x: int = 3) -> int:
        return x

    assert defaulted.input_defs["x"].default_value == 3


def test_ins_for_a_parameter_that_does_not_exist() -> None:
    def compute(value: int) -> int:
        return value

    with pytest.raises(
        DefinitionError,
        match=r"op 'compute' \(.*:\d+\) declares input 'valeu' in ins=, but its function has no "
        r"parameter 'valeu'\. Did you mean 'value'\? Add the parameter, or declare it "
        r"In\(Nothing\)",
    ):
        op(ins={"valeu": In(int)})(compute)


def test_out_must_be_an_out_or_a_dict_of_outs() -> None:
    def compute() -> int:
        return 1

    with pytest.raises(DefinitionError, match=r"out= of op 'compute' must be an Out or a dict"):
        op(out=3)(compute)  # type: ignore[call-overload]
    with pytest.raises(
        DefinitionError, match=r"output 'a' of op 'compute' must be declared with Out\(\.\.\.\)"
    ):
        op(out={"a": 3})(compute)  # type: ignore[dict-item]
    with pytest.raises(DefinitionError, match=r"output name 'a b' of op 'compute' is not valid"):
        op(out={"a b": Out()})(compute)


@pytest.mark.parametrize("name", ["my-op", "", "two words"])
def test_invalid_op_names(name: str) -> None:
    def compute() -> None:
        pass

    with pytest.raises(DefinitionError, match=rf"op name {name!r} is not valid"):
        op(name=name)(compute)


def test_invalid_resource_keys() -> None:
    def compute() -> None:
        pass

    with pytest.raises(
        DefinitionError, match=r"resource key required by op 'compute' name 'my-db' is not valid"
    ):
        op(required_resource_keys=["my-db"])(compute)


def test_an_op_is_called_directly_outside_a_graph() -> None:
    assert add(1, 2) == 3
    assert add(x=2, y=5) == 7


# -- composition -----------------------------------------------------------------------------


def test_a_job_wires_outputs_to_inputs() -> None:
    @job
    def pipeline() -> None:
        low, high = split(one())
        add(low, y=high)

    assert isinstance(pipeline, JobDefinition)
    assert pipeline.name == "pipeline"
    assert not pipeline.is_asset_job
    graph_def = pipeline.graph_def
    assert graph_def is not None
    assert graph_def.node_names == ("one", "split", "add")
    add_inputs = graph_def.invocations["add"].inputs
    assert add_inputs == {"x": InvokedOutput("split", "low"), "y": InvokedOutput("split", "high")}
    assert pipeline.execute_in_process().output_for_node("add") == 11


def test_calling_an_op_twice_names_the_second_call() -> None:
    @graph
    def twice() -> None:
        one()
        one()
        one()

    assert twice.node_names == ("one", "one_2", "one_3")


def test_aliases_rename_invocations() -> None:
    @job
    def aliased() -> None:
        add(one.alias("first")(), one.alias("second")())

    assert aliased.graph_def is not None
    assert aliased.graph_def.node_names == ("first", "second", "add")
    assert aliased.execute_in_process().output_for_node("add") == 2


def test_tags_on_an_invocation_are_recorded_and_chain_with_alias() -> None:
    @graph
    def tagged() -> None:
        one.tag({"team": "a"}).alias("first")()
        one.alias("second").tag({"team": "b"}).tag({"tier": "1"})()

    assert tagged.invocations["first"].tags == {"team": "a"}
    assert tagged.invocations["second"].tags == {"team": "b", "tier": "1"}


def test_fan_in_takes_a_list_of_outputs() -> None:
    @job
    def fan_in() -> None:
        total([one.alias(f"n{i}")() for i in range(4)])

    assert fan_in.graph_def is not None
    assert len(fan_in.graph_def.invocations["total"].inputs["values"]) == 4  # type: ignore[arg-type]
    assert fan_in.execute_in_process().output_for_node("total") == 4


def test_nested_graphs_with_inputs_and_several_outputs() -> None:
    @graph
    def inner(value: int) -> Any:
        low, high = split(value)
        return add(low, high)

    @graph(out={"first": GraphOut(), "second": GraphOut()})
    def pair() -> Any:
        low, high = split(one())
        return low, high

    @job
    def outer() -> None:
        first, second = pair()
        add(inner(first), second)

    assert isinstance(inner, GraphDefinition)
    assert list(inner.input_defs) == ["value"]
    assert inner.input_defs["value"].type is int
    assert inner.input_mappings == {"value": (("split", "value"),)}
    assert list(inner.output_defs) == ["result"]
    assert list(pair.output_defs) == ["first", "second"]
    assert outer.graph_def is not None
    assert [h for h, _ in outer.graph_def.iterate_ops()] == [
        "pair.one",
        "pair.split",
        "inner.split",
        "inner.add",
        "add",
    ]
    # pair gives (1, 10); inner(1) = 1 + 10; add(11, 10)
    assert outer.execute_in_process().output_for_node("add") == 21


def test_a_graph_body_may_return_a_dict_of_outputs() -> None:
    @graph
    def named() -> Any:
        low, high = split(one())
        return {"small": low, "big": high}

    assert list(named.output_defs) == ["small", "big"]
    assert named.output_defs["small"].type is int


def test_a_single_returned_output_takes_the_declared_name() -> None:
    @graph(out={"total": GraphOut()})
    def named_one() -> Any:
        return add(one(), one())

    assert list(named_one.output_defs) == ["total"]
    assert named_one.output_mappings["total"] == InvokedOutput("add", "result")


def test_returned_outputs_must_match_the_declared_ones() -> None:
    def one_for_two() -> Any:
        return one()

    with pytest.raises(
        DefinitionError,
        match=r"graph 'one_for_two' declares outputs \['a', 'b'\] in out=, but its body returned "
        r"one output",
    ):
        graph(out={"a": GraphOut(), "b": GraphOut()})(one_for_two)

    def wrong_names() -> Any:
        return {"c": one()}

    with pytest.raises(
        DefinitionError,
        match=r"graph 'wrong_names' returned outputs \['c'\], but declares \['a'\] in out=",
    ):
        graph(out={"a": GraphOut()})(wrong_names)

    def too_many() -> Any:
        return one(), one()

    with pytest.raises(DefinitionError, match=r"graph 'too_many' returned 2 outputs"):
        graph(out={"a": GraphOut()})(too_many)


def test_graph_to_job_binds_a_name_and_options() -> None:
    @graph(description="Adds ones.", tags={"team": "core"})
    def adder() -> None:
        add(one(), one())

    made = adder.to_job(name="adder_job", tags={"env": "test"})
    assert made.name == "adder_job"
    assert made.description == "Adds ones."
    assert made.tags == {"env": "test"}
    assert made.graph_def is adder
    assert adder.tags == {"team": "core"}
    assert adder.to_job().name == "adder"


# -- composition errors ----------------------------------------------------------------------


def test_an_op_called_with_a_constant_inside_a_graph() -> None:
    def body() -> None:
        add(1, one())

    with pytest.raises(
        DefinitionError,
        match=r"input 'x' of op 'add' inside graph 'body' was given the int value 1\. Inside a "
        r"graph, inputs must be outputs of other ops or inputs of the graph; pass constants "
        r"through config instead",
    ):
        job(body)


def test_a_constant_inside_a_fan_in_list() -> None:
    def body() -> None:
        total([one(), "two"])

    with pytest.raises(
        DefinitionError, match=r"input 'values' of op 'total' .* the str value 'two'"
    ):
        graph(body)


def test_an_input_that_does_not_exist() -> None:
    def body() -> None:
        add(one(), z=one())

    with pytest.raises(
        DefinitionError,
        match=r"op 'add' has no input 'z' \(called inside graph 'body'\)\. Its inputs: x, y\.",
    ):
        graph(body)


def test_a_misspelled_input_gets_a_suggestion() -> None:
    def body() -> None:
        total(valuez=[one()])

    with pytest.raises(DefinitionError, match=r"has no input 'valuez' .* Did you mean 'values'\?"):
        graph(body)


def test_an_input_given_twice() -> None:
    def body() -> None:
        add(one(), x=one())

    with pytest.raises(DefinitionError, match=r"input 'x' of op 'add' was given twice"):
        graph(body)


def test_too_many_positional_inputs() -> None:
    def body() -> None:
        add(one(), one(), one())

    with pytest.raises(
        DefinitionError,
        match=r"op 'add' was called with 3 positional inputs inside graph 'body', but it has 2 "
        r"\(x, y\)",
    ):
        graph(body)


def test_unpacking_a_single_output() -> None:
    def body() -> None:
        _low, _high = one()

    with pytest.raises(
        DefinitionError,
        match=r"the output 'result' of 'one' was unpacked inside a graph, but it is a single "
        r"output",
    ):
        graph(body)


def test_branching_on_an_output() -> None:
    def body() -> None:
        if one():
            add(one(), one())

    with pytest.raises(
        DefinitionError,
        match=r"the output 'result' of 'one' was used as a boolean inside a graph body.*Move the "
        r"logic into an op",
    ):
        graph(body)


def test_two_invocations_with_one_alias() -> None:
    def body() -> None:
        one.alias("same")()
        one.alias("same")()

    with pytest.raises(
        DefinitionError,
        match=r"two nodes named 'same' in graph 'body': give one an alias, for example "
        r"one\.alias\('one_2'\)\(\)",
    ):
        graph(body)


def test_a_graph_parameter_no_op_uses() -> None:
    def body(unused: int) -> None:
        one()

    with pytest.raises(
        DefinitionError, match=r"graph 'body' \(.*:\d+\) has a parameter 'unused' that no op uses"
    ):
        graph(body)


def test_a_graph_returning_something_that_is_not_an_output() -> None:
    def constant() -> int:
        return 3

    with pytest.raises(
        DefinitionError, match=r"graph 'constant' returned a int; a graph body returns the outputs"
    ):
        graph(constant)

    def in_dict() -> dict[str, Any]:
        return {"x": one(), "y": 3}

    with pytest.raises(
        DefinitionError, match=r"graph 'in_dict' returned 3 for output 'y': return outputs of ops"
    ):
        graph(in_dict)

    def unnamed_tuple() -> Any:
        return one(), one()

    with pytest.raises(
        DefinitionError,
        match=r"graph 'unnamed_tuple' returned 2 outputs; declare their names with "
        r"@graph\(out=",
    ):
        graph(unnamed_tuple)


def test_calling_a_graph_or_alias_outside_a_composition() -> None:
    @graph
    def g() -> None:
        one()

    with pytest.raises(
        InvalidInvocationError,
        match=r"graph 'g' can only be called inside another @graph or @job body\. To run it, use "
        r"graph\.to_job\(\)\.execute_in_process\(\)",
    ):
        g()
    with pytest.raises(
        InvalidInvocationError,
        match=r"an aliased op 'one' can only be called inside a @graph or @job",
    ):
        one.alias("x")()


def test_calling_an_asset_inside_a_job() -> None:
    @asset
    def orders() -> int:
        return 1

    def body() -> None:
        orders()

    with pytest.raises(
        DefinitionError,
        match=r"asset 'orders' was called inside a @graph or @job body\. Assets are not wired by "
        r"calling them: select them with define_asset_job",
    ):
        job(body)


def test_invalid_alias_job_and_graph_names() -> None:
    def body() -> None:
        one()

    with pytest.raises(DefinitionError, match=r"node alias name 'x y' is not valid"):
        one.alias("x y")
    with pytest.raises(DefinitionError, match=r"job name 'nightly-etl' is not valid"):
        job(name="nightly-etl")(body)
    with pytest.raises(DefinitionError, match=r"graph name 'nightly-etl' is not valid"):
        graph(name="nightly-etl")(body)


def test_invalid_job_tags_name_the_job() -> None:
    def body() -> None:
        one()

    with pytest.raises(DefinitionError, match=r"tag 'env' of job 'body' has the int value 1"):
        job(tags={"env": 1})(body)  # type: ignore[dict-item]
