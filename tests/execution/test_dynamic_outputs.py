"""Dynamic outputs: an op yields DynamicOutput values; .map(fn) runs ops once per mapping key
(steps ``op[key]``) and .collect() hands the mapped results, in key order, to one op."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    DynamicOut,
    DynamicOutput,
    FilesystemIOManager,
    Out,
    Output,
    RetryPolicy,
    graph,
    job,
    op,
)
from knoll.defs.job import JobDefinition
from knoll.errors import DefinitionError, InvalidInvocationError
from knoll.execution.events import EventType, StepOutputData
from knoll.execution.reexecution import ReexecutionOptions, execute_job
from knoll.execution.result import ExecuteInProcessResult
from knoll.execution.run import RunStatus
from knoll.instance import Instance


@op(out=DynamicOut())
def regions() -> Iterator[DynamicOutput[str]]:
    for name in ["north", "south", "east_2"]:
        yield DynamicOutput(name.upper(), mapping_key=name)


@op
def shout(region: str) -> str:
    return region + "!"


@op
def count(text: str) -> int:
    return len(text)


@op
def report(sizes: list[int]) -> str:
    return ",".join(str(s) for s in sizes)


def _succeeded(result: ExecuteInProcessResult) -> list[str | None]:
    return [e.step_key for e in result.all_events if e.event_type is EventType.STEP_SUCCESS]


def test_map_and_collect_run_one_step_per_key_in_yield_order() -> None:
    @job
    def regional() -> None:
        report(regions().map(lambda r: count(shout(r))).collect())

    result = regional.execute_in_process()
    assert _succeeded(result) == [
        "regions",
        "shout[north]",
        "shout[south]",
        "shout[east_2]",
        "count[north]",
        "count[south]",
        "count[east_2]",
        "report",
    ]
    assert result.output_for_node("report") == "6,6,7"
    assert result.output_for_node("shout") == {
        "north": "NORTH!",
        "south": "SOUTH!",
        "east_2": "EAST_2!",
    }
    assert result.output_for_node("regions") == {
        "north": "NORTH",
        "south": "SOUTH",
        "east_2": "EAST_2",
    }


def test_chained_map_and_collect_of_the_dynamic_output_itself() -> None:
    @op
    def names(values: list[str]) -> str:
        return "+".join(values)

    @graph
    def inner() -> Any:
        found = regions()
        names(found.collect())
        return report(found.map(shout).map(count).collect())

    @job
    def outer() -> None:
        inner()

    result = outer.execute_in_process()
    assert result.output_for_node("inner.names") == "NORTH+SOUTH+EAST_2"
    assert result.output_for_node("inner.report") == "6,6,7"
    assert "inner.count[south]" in _succeeded(result)


def test_a_graph_cannot_return_a_mapped_output() -> None:
    with pytest.raises(DefinitionError) as raised:

        @graph
        def leaky() -> Any:
            return regions().map(shout)

    assert str(raised.value) == (
        "graph 'leaky' returns output 'result' from 'shout', which is dynamic, mapped or "
        "collected; knoll does not pass those out of a graph yet. Map and collect inside the "
        "graph, and return the output of the op reading .collect()."
    )


def test_a_non_generator_op_returns_a_list_and_metadata_is_recorded() -> None:
    @op(out={"parts": DynamicOut(), "total": Out()})
    def split(context: Any) -> Iterator[Any]:
        yield DynamicOutput(1, mapping_key="one", output_name="parts", metadata={"n": 1})
        yield DynamicOutput(2, mapping_key="two", output_name="parts")
        yield Output(3, output_name="total")

    @op(out=DynamicOut(int))
    def listed() -> list[DynamicOutput[int]]:
        return [DynamicOutput(5, mapping_key="five")]

    @op
    def add(a: int, b: int) -> int:
        return a + b

    @op
    def gather(xs: list[int]) -> list[int]:
        return xs

    @job
    def mixed() -> None:
        parts, total = split()
        gather(parts.map(lambda p: add(p, total)).collect())
        gather.alias("again")(listed().collect())

    result = mixed.execute_in_process()
    assert result.output_for_node("gather") == [4, 5]
    assert result.output_for_node("again") == [5]
    outputs = [
        e
        for e in result.all_events
        if e.event_type is EventType.STEP_OUTPUT and e.step_key == "split"
    ]
    assert [e.message for e in outputs][:2] == [
        "produced output 'parts' for mapping key 'one'",
        "produced output 'parts' for mapping key 'two'",
    ]
    assert outputs[0].data.metadata["n"].value == 1


def test_op_config_reaches_every_mapped_step() -> None:
    @op(config_schema={"suffix": str})
    def tag(context: Any, region: str) -> str:
        return region + str(context.op_config["suffix"])

    @job(config={"ops": {"tag": {"config": {"suffix": "?"}}}})
    def configured() -> None:
        regions().map(tag)

    result = configured.execute_in_process()
    assert result.output_for_node("tag")["south"] == "SOUTH?"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("a-b", "mapping_key 'a-b'; a mapping key may hold only letters, digits and underscores"),
        (3, "mapping_key 3 (int); a mapping key is a string"),
    ],
)
def test_a_bad_mapping_key_fails_the_step_naming_op_and_key(key: Any, problem: str) -> None:
    @op(out=DynamicOut())
    def bad() -> Iterator[DynamicOutput[int]]:
        yield DynamicOutput(1, mapping_key=key)

    @job
    def broken() -> None:
        bad().map(count)

    result = broken.execute_in_process(raise_on_error=False)
    assert result.failed_step_keys == ["bad"]
    message = str(result.step_error("bad"))
    assert message.startswith(f"op 'bad' yielded a DynamicOutput with {problem}")


def test_a_repeated_mapping_key_fails_the_step() -> None:
    @op(out=DynamicOut())
    def twice() -> Iterator[DynamicOutput[int]]:
        yield DynamicOutput(1, mapping_key="x")
        yield DynamicOutput(2, mapping_key="x")

    @job
    def repeated() -> None:
        twice().map(count)

    result = repeated.execute_in_process(raise_on_error=False)
    assert str(result.step_error("twice")) == (
        "op 'twice' yielded mapping_key 'x' twice for dynamic output 'result'; each "
        "DynamicOutput of an output needs its own key."
    )
    assert "count[?]" not in _succeeded(result)


def test_dynamic_output_for_a_plain_output_and_plain_output_for_a_dynamic_one() -> None:
    @op
    def plain() -> Iterator[DynamicOutput[int]]:
        yield DynamicOutput(1, mapping_key="x")

    @op(out=DynamicOut())
    def dynamic() -> Iterator[Output[int]]:
        yield Output(1)

    @job
    def wrong() -> None:
        count(plain())
        dynamic().map(count.alias("c2"))

    result = wrong.execute_in_process(raise_on_error=False)
    assert str(result.step_error("plain")) == (
        "op 'plain' yielded a DynamicOutput for output 'result', which is not declared "
        "dynamic. Declare it with out=DynamicOut() (or out={'result': DynamicOut()}), or yield "
        "Output(value) instead."
    )
    assert str(result.step_error("dynamic")) == (
        "op 'dynamic' returned a plain value for output 'result', which is declared DynamicOut: "
        "yield DynamicOutput(value, mapping_key=...) for each value (or return a list of them)."
    )


def test_wiring_a_dynamic_output_without_map_or_collect_is_refused() -> None:
    with pytest.raises(DefinitionError) as raised:

        @job
        def unmapped() -> None:
            shout(regions())

    assert str(raised.value) == (
        "input 'region' of op 'shout' inside graph 'unmapped' was given the dynamic output "
        "'result' of 'regions'. Use regions_output.map(fn) to run ops once per mapping key, or "
        ".collect() to pass the list of all its values."
    )


def test_a_failed_mapped_step_retries_alone_and_skips_the_collect(tmp_path: Path) -> None:
    attempts: dict[str, int] = {}

    @op(retry_policy=RetryPolicy(max_retries=1))
    def flaky(region: str) -> str:
        attempts[region] = attempts.get(region, 0) + 1
        if region == "SOUTH":
            raise RuntimeError(f"{region} is down")
        return region

    @job
    def partly() -> None:
        report(regions().map(lambda r: count(flaky(r))).collect())

    result = partly.execute_in_process(raise_on_error=False)
    assert attempts == {"NORTH": 1, "SOUTH": 2, "EAST_2": 1}
    assert result.failed_step_keys == ["flaky[south]"]
    retried = [e.step_key for e in result.all_events if e.event_type is EventType.STEP_UP_FOR_RETRY]
    assert retried == ["flaky[south]"]
    skipped = [e.step_key for e in result.get_step_skipped_events()]
    assert skipped == ["count[south]", "report"]


def test_no_dynamic_values_skips_the_mapped_steps_and_their_collect() -> None:
    @op(out=DynamicOut())
    def nothing() -> Iterator[DynamicOutput[str]]:
        yield from ()

    @job
    def empty() -> None:
        report(nothing().map(lambda r: count(shout(r))).collect())

    result = empty.execute_in_process()
    assert _succeeded(result) == ["nothing"]
    assert [e.step_key for e in result.get_step_skipped_events()] == ["report"]


def _persisted_job(tmp_path: Path) -> JobDefinition:
    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))})
    def stored() -> None:
        report(regions().map(lambda r: count(shout(r))).collect())

    return stored


def test_events_are_stored_per_mapped_step_in_a_sqlite_instance(tmp_path: Path) -> None:
    with Instance.get(tmp_path / "home") as instance:
        result = _persisted_job(tmp_path).execute_in_process(instance=instance)
        stored = [r.event for r in instance.get_events(result.run_id).records]
    assert result.output_for_node("report") == "6,6,7"
    starts = [e.step_key for e in stored if e.event_type is EventType.STEP_START]
    assert starts[:3] == ["regions", "shout[north]", "shout[south]"]
    assert starts[-1] == "report"
    assert (tmp_path / "out" / result.run_id / "regions" / "result" / "south").exists()
    assert (tmp_path / "out" / result.run_id / "shout[south]" / "result").exists()


def _fragile_job(tmp_path: Path, broken: Path, calls: list[str]) -> JobDefinition:
    @op(out=DynamicOut())
    def listed() -> Iterator[DynamicOutput[str]]:
        calls.append("listed")
        names = ["north", "south", "east_2"]
        if (tmp_path / "west").exists():
            names.append("west")
        for name in names:
            yield DynamicOutput(name.upper(), mapping_key=name)

    @op
    def fragile(region: str) -> str:
        calls.append(f"fragile {region}")
        if region == "SOUTH" and broken.exists():
            raise RuntimeError("south is down")
        return region

    @op
    def measured(text: str) -> int:
        calls.append(f"measured {text}")
        return len(text)

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))})
    def regional() -> None:
        report(listed().map(lambda r: measured(fragile(r))).collect())

    return regional


def _started(result: ExecuteInProcessResult) -> list[str | None]:
    return [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]


def test_reexecution_from_failure_runs_only_the_failed_key_and_the_collect(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken"
    broken.touch()
    calls: list[str] = []
    regional = _fragile_job(tmp_path, broken, calls)
    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(regional, instance)
        assert parent.failed_step_keys == ["fragile[south]"]
        broken.unlink()
        calls.clear()
        options = ReexecutionOptions.from_failure(parent.run_id, instance)
        again = execute_job(regional, instance, reexecution_options=options)
        tags = instance.storage.get_run(again.run_id)
    assert options.step_selection == ("fragile[south]", "measured[south]", "report")
    assert again.success
    # the dynamic step does not run again: its mapping keys come from the parent run, and the
    # collect loads the values of the other keys that the parent run stored
    assert _started(again) == ["fragile[south]", "measured[south]", "report"]
    assert calls == ["fragile SOUTH", "measured SOUTH"]
    assert again.output_for_node("report") == "5,5,6"
    assert tags is not None
    assert tags.run.tags["knoll/step_selection"] == "fragile[south],measured[south],report"


def test_a_step_selection_of_one_key_runs_the_steps_after_it_for_that_key(
    tmp_path: Path,
) -> None:
    calls: list[str] = []
    regional = _fragile_job(tmp_path, tmp_path / "never", calls)
    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(regional, instance)
        calls.clear()
        one = execute_job(
            regional,
            instance,
            reexecution_options=ReexecutionOptions(parent.run_id, ["measured[north]"]),
        )
        # a re-execution of a re-execution finds what it does not run up the lineage
        child = execute_job(
            regional,
            instance,
            reexecution_options=ReexecutionOptions(one.run_id, ["fragile[east_2]"]),
        )
    assert _started(one) == ["measured[north]", "report"]
    assert _started(child) == ["fragile[east_2]", "measured[east_2]", "report"]
    assert calls == ["measured NORTH", "fragile EAST_2", "measured EAST_2"]
    assert child.output_for_node("report") == "5,5,6"


def test_selecting_every_key_or_the_dynamic_step_runs_them_all_with_new_keys(
    tmp_path: Path,
) -> None:
    calls: list[str] = []
    regional = _fragile_job(tmp_path, tmp_path / "never", calls)
    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(regional, instance)
        every = execute_job(
            regional,
            instance,
            reexecution_options=ReexecutionOptions(parent.run_id, ["measured[?]"]),
        )
        (tmp_path / "west").touch()  # the dynamic step now yields one key more
        calls.clear()
        again = execute_job(
            regional,
            instance,
            reexecution_options=ReexecutionOptions(parent.run_id, ["listed"]),
        )
    assert _started(every) == [
        "measured[north]",
        "measured[south]",
        "measured[east_2]",
        "report",
    ]
    assert calls[0] == "listed"
    assert "fragile WEST" in calls
    assert again.output_for_node("report") == "5,5,6,4"


def test_collects_re_executed_alone_load_every_key_from_the_lineage(tmp_path: Path) -> None:
    @op
    def names(values: list[str]) -> str:
        return "+".join(values)

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))})
    def both() -> None:
        found = regions()
        names(found.collect())
        report(found.map(count).collect())

    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(both, instance)
        collects = execute_job(
            both,
            instance,
            reexecution_options=ReexecutionOptions(parent.run_id, ["names", "report"]),
        )
        # the grandparent ran the dynamic step and the other mapped steps
        one = execute_job(
            both,
            instance,
            reexecution_options=ReexecutionOptions(collects.run_id, ["count[south]"]),
        )
    assert _started(collects) == ["names", "report"]
    assert collects.output_for_node("names") == "NORTH+SOUTH+EAST_2"
    assert _started(one) == ["count[south]", "report"]
    assert one.output_for_node("report") == "5,5,6"


def test_a_step_selection_naming_a_step_the_parent_did_not_have_is_refused(
    tmp_path: Path,
) -> None:
    regional = _fragile_job(tmp_path, tmp_path / "never", [])
    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(regional, instance)
        with pytest.raises(InvalidInvocationError) as raised:
            execute_job(
                regional,
                instance,
                reexecution_options=ReexecutionOptions(parent.run_id, ["fragile[west]"]),
            )
    assert str(raised.value) == (
        f"cannot re-execute run {parent.run_id} of job 'regional': the step selection names "
        f"'fragile[west]', which is not a step of run {parent.run_id}. Its steps are listed, "
        "fragile[?], fragile[north], fragile[south], fragile[east_2], measured[?], "
        "measured[north], measured[south], measured[east_2], report (op[?] selects every "
        "mapping key of mapped step op)."
    )


def test_a_parent_run_stored_without_mapping_keys_is_refused(tmp_path: Path) -> None:
    regional = _fragile_job(tmp_path, tmp_path / "never", [])
    with Instance.get(tmp_path / "home") as instance:
        ran = execute_job(regional, instance)
    # the same run as a knoll that did not record mapping keys stored it
    with Instance.get(tmp_path / "old") as instance:
        instance.start_run(dataclasses.replace(ran.run, status=RunStatus.STARTING))
        instance.write_events(
            [
                dataclasses.replace(e, data=dataclasses.replace(e.data, mapping_key=None))
                if isinstance(e.data, StepOutputData)
                else e
                for e in ran.all_events
            ]
        )
        with pytest.raises(InvalidInvocationError) as raised:
            execute_job(
                regional,
                instance,
                reexecution_options=ReexecutionOptions(ran.run_id, ["fragile[north]"]),
            )
        everything = execute_job(
            regional, instance, reexecution_options=ReexecutionOptions(ran.run_id)
        )
    assert str(raised.value) == (
        f"cannot re-execute run {ran.run_id} of job 'regional': run {ran.run_id} stored the "
        "values of dynamic output 'result' of step 'listed' without their mapping keys (an "
        "earlier version of knoll ran it), so its mapped steps cannot be re-executed one by "
        "one. Re-execute all the steps (ReexecutionOptions(parent_run_id=...) without "
        "step_selection)."
    )
    assert everything.output_for_node("report") == "5,5,6"


def test_mapped_steps_need_the_mapping_keys_of_a_dynamic_step_that_succeeded(
    tmp_path: Path,
) -> None:
    @op(out=DynamicOut())
    def failing() -> Iterator[DynamicOutput[str]]:
        for name in ["x"]:
            if name == "x":
                raise RuntimeError("no listing")
            yield DynamicOutput(name, mapping_key=name)

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))})
    def unlisted() -> None:
        report(failing().map(count).collect())

    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(unlisted, instance)
        with pytest.raises(InvalidInvocationError) as raised:
            execute_job(
                unlisted,
                instance,
                reexecution_options=ReexecutionOptions(parent.run_id, ["count[?]"]),
            )
        again = execute_job(
            unlisted,
            instance,
            reexecution_options=ReexecutionOptions.from_failure(parent.run_id, instance),
        )
    assert str(raised.value) == (
        f"cannot re-execute run {parent.run_id} of job 'unlisted': its steps need the mapping "
        "keys of dynamic output 'result' of step 'failing', which did not succeed in run "
        f"{parent.run_id}. Add 'failing' to the step selection (re-executing from failure "
        "selects it), or re-execute all the steps."
    )
    assert _started(again) == ["failing"]


def test_the_context_knows_its_mapping_key() -> None:
    @op
    def keyed(context: Any, region: str) -> str:
        return f"{context.get_mapping_key()}={region}"

    @job
    def with_keys() -> None:
        regions().map(keyed)

    result = with_keys.execute_in_process()
    assert result.output_for_node("keyed")["north"] == "north=NORTH"


def test_map_outside_a_composition_and_unsupported_wiring_are_refused() -> None:
    captured: list[Any] = []

    @job
    def keep() -> None:
        captured.append(regions())

    with pytest.raises(DefinitionError) as outside:
        captured[0].map(shout)
    assert str(outside.value) == (
        "dynamic output 'result' of 'regions'.map(fn) was called outside a @graph or @job body; "
        "map dynamic outputs while composing a graph."
    )

    @op
    def pair(a: str, b: str) -> str:
        return a + b

    @job
    def two_sources() -> None:
        first = regions().map(shout)
        regions.alias("more")().map(lambda r: pair(r, first))

    with pytest.raises(DefinitionError) as several:
        two_sources.execute_in_process()
    assert str(several.value) == (
        "op 'pair' takes values mapped over several dynamic outputs (['more.result', "
        "'regions.result']); map over one, and .collect() the others."
    )
