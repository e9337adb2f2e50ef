"""Run-time type checks of inputs and outputs against their annotations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from knoll import (
    EventType,
    In,
    MaterializeResult,
    Nothing,
    Out,
    Output,
    RetryPolicy,
    TypeCheckError,
    asset,
    job,
    materialize_to_memory,
    op,
)
from knoll.execution.events import StepFailureData, StepOutputData
from knoll.execution.type_check import check_value, type_name


def anything(value: object) -> Any:
    """Hide a value's type from mypy, to return something that does not fit on purpose."""
    return value


# ---- outputs --------------------------------------------------------------------------------


def test_asset_output_of_the_wrong_type() -> None:
    @asset
    def count() -> int:
        return anything("three")  # type: ignore[no-any-return]

    with pytest.raises(TypeCheckError) as info:
        materialize_to_memory([count])
    assert str(info.value) == (
        "asset 'count': output 'result' is annotated int, but the function returned a str "
        "('three'). Return a value of that type or fix the annotation."
    )


def test_op_output_of_the_wrong_type_names_the_output() -> None:
    @op(out={"rows": Out(int), "name": Out(str)})
    def two_outputs() -> tuple[int, str]:
        return anything((1, 2))  # type: ignore[no-any-return]

    @job
    def typed() -> None:
        two_outputs()

    with pytest.raises(TypeCheckError) as info:
        typed.execute_in_process()
    assert str(info.value) == (
        "op 'two_outputs': output 'name' is annotated str, but the function returned an int (2). "
        "Return a value of that type or fix the annotation."
    )


def test_long_values_are_shortened_in_messages() -> None:
    @asset
    def text() -> int:
        return anything("x" * 200)  # type: ignore[no-any-return]

    with pytest.raises(TypeCheckError) as info:
        materialize_to_memory([text])
    assert "('xxxxx" in str(info.value)
    assert "...)" in str(info.value)
    assert len(str(info.value)) < 200


# ---- inputs ---------------------------------------------------------------------------------


def test_asset_input_of_the_wrong_type() -> None:
    @asset
    def label() -> str:
        return "ten"

    @asset
    def doubled(label: int) -> int:
        return label * 2

    with pytest.raises(TypeCheckError) as info:
        materialize_to_memory([label, doubled])
    assert str(info.value) == (
        "asset 'doubled': input 'label' expects int, but got a str ('ten'). Fix the upstream "
        "output or the annotation of 'label'."
    )


def test_op_input_type_from_in() -> None:
    @op
    def produce() -> Any:
        return [1, 2]

    @op(ins={"values": In(dict)})
    def consume(values: Any) -> int:
        return len(values)

    @job
    def mismatched() -> None:
        consume(produce())

    with pytest.raises(TypeCheckError, match="op 'consume': input 'values' expects dict, but got"):
        mismatched.execute_in_process()


# ---- how failures are recorded -------------------------------------------------------------


def test_type_error_is_a_knoll_failure_not_user_code_and_is_not_retried() -> None:
    attempts: list[int] = []

    @asset(retry_policy=RetryPolicy(max_retries=2))
    def wrong() -> int:
        attempts.append(1)
        return anything(None)  # type: ignore[no-any-return]

    result = materialize_to_memory([wrong], raise_on_error=False)

    assert attempts == [1]
    [failure] = result.get_step_failure_events()
    assert isinstance(failure.data, StepFailureData)
    assert failure.data.user_code is False
    assert failure.data.error.class_name == "TypeCheckError"
    assert result.events_of_type(EventType.HANDLED_OUTPUT) == []


def test_output_type_name_is_recorded_on_step_output() -> None:
    @asset
    def numbers() -> list[int]:
        return [1]

    result = materialize_to_memory([numbers])
    [event] = result.events_of_type(EventType.STEP_OUTPUT)
    assert isinstance(event.data, StepOutputData)
    assert event.data.type_name == "list[int]"


# ---- what passes ----------------------------------------------------------------------------


@dataclass
class Row:
    id: int


@pytest.mark.parametrize(
    ("annotation", "good", "bad"),
    [
        (int, 1, "1"),
        (float, 1, "1.0"),
        (str, "a", b"a"),
        (list[int], [1], (1,)),
        (dict[str, int], {"a": 1}, [("a", 1)]),
        (int | None, None, "x"),
        (int | str, "x", 1.5),
        (Literal["a", "b"], "b", "c"),
        (Row, Row(1), {"id": 1}),
        (Callable[[int], int], len, 3),
        (type[int], int, 3),
    ],
    ids=lambda v: type_name(v) if not isinstance(v, (int, str, list, dict, tuple)) else None,
)
def test_check_value(annotation: Any, good: Any, bad: Any) -> None:
    assert check_value(good, annotation)
    assert not check_value(bad, annotation)


@pytest.mark.parametrize("annotation", [Any, Nothing, "ForwardRef", object])
def test_permissive_annotations_accept_anything(annotation: Any) -> None:
    assert check_value(object(), annotation)
    assert check_value(None, annotation)


def test_bool_is_not_a_float() -> None:
    assert not check_value(True, float)


def test_untyped_and_any_outputs_accept_anything() -> None:
    @asset
    def untyped():  # type: ignore[no-untyped-def]
        return {"any": "thing"}

    @asset
    def typed_any() -> Any:
        return 3

    result = materialize_to_memory([untyped, typed_any])
    assert result.asset_value("untyped") == {"any": "thing"}
    assert result.asset_value("typed_any") == 3


def test_optional_output_may_be_none() -> None:
    @asset
    def maybe() -> int | None:
        return None

    assert materialize_to_memory([maybe]).asset_value("maybe") is None


def test_output_annotation_unwraps_output() -> None:
    @asset
    def wrapped() -> Output[int]:
        return Output(3, metadata={"kind": "int"})

    @asset
    def wrapped_wrong() -> Output[int]:
        return Output(anything("3"))

    assert materialize_to_memory([wrapped]).asset_value("wrapped") == 3
    with pytest.raises(TypeCheckError, match="is annotated int, but the function returned a str"):
        materialize_to_memory([wrapped_wrong])


def test_generator_annotation_checks_what_is_yielded() -> None:
    @asset
    def yielded() -> Iterator[Output[int]]:
        yield Output(4)

    @asset
    def yielded_wrong() -> Iterator[Output[int]]:
        yield Output(anything([4]))

    assert materialize_to_memory([yielded]).asset_value("yielded") == 4
    with pytest.raises(TypeCheckError, match="is annotated int, but the function returned a list"):
        materialize_to_memory([yielded_wrong])


def test_materialize_result_and_none_annotations_have_no_value_to_check() -> None:
    @asset
    def side_effect() -> None:
        pass

    @asset
    def reported() -> MaterializeResult:
        return MaterializeResult(metadata={"rows": 1})

    result = materialize_to_memory([side_effect, reported])
    assert result.success
    assert result.events_of_type(EventType.HANDLED_OUTPUT) == []
    assert len(result.get_asset_materialization_events()) == 2
