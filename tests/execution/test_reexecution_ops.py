"""Re-executing op jobs from failure or with a step selection: the steps that do not run again
are not recomputed; the op outputs they stored are loaded from the run of the lineage that
stored them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    FilesystemIOManager,
    InMemoryIOManager,
    Out,
    Output,
    job,
    multiprocess_executor,
    op,
)
from knoll.defs.job import JobDefinition
from knoll.errors import InvalidInvocationError
from knoll.execution.events import EventType
from knoll.execution.reexecution import ReexecutionOptions, execute_job
from knoll.execution.result import ExecuteInProcessResult
from knoll.instance import Instance

EXECUTORS = [
    pytest.param(None, id="in_process"),
    pytest.param(multiprocess_executor(max_concurrent=2), id="multiprocess"),
]


def _mark(folder: Path, name: str) -> None:
    with (folder / name).open("a") as handle:
        handle.write("x\n")


def _calls(folder: Path) -> dict[str, int]:
    return {
        name: len((folder / name).read_text().splitlines()) if (folder / name).exists() else 0
        for name in "abcde"
    }


def _pipeline(tmp_path: Path, executor: Any, io_manager: Any = "files") -> JobDefinition:
    """a -> b (three outputs: left, right, and extra, optional and never yielded); c(left)
    fails while the file 'broken' exists; d fans in [c, right, extra]; e reads extra."""
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)

    @op(config_schema={"start": int})
    def a(context: Any) -> int:
        _mark(marks, "a")
        return int(context.op_config["start"])

    @op(out={"left": Out(int), "right": Out(int), "extra": Out(int, is_required=False)})
    def b(a: int) -> Iterator[Output[int]]:
        _mark(marks, "b")
        yield Output(a + 1, output_name="left")
        yield Output(a + 2, output_name="right")

    @op
    def c(left: int) -> int:
        _mark(marks, "c")
        if (tmp_path / "broken").exists():
            raise RuntimeError("the warehouse is busy")
        return left * 10

    @op
    def d(values: list[int]) -> int:
        _mark(marks, "d")
        return sum(values)

    @op
    def e(extra: int) -> int:
        _mark(marks, "e")
        return extra

    resources = {}
    if io_manager == "files":
        resources["io_manager"] = FilesystemIOManager(base_dir=str(tmp_path / "outputs"))
    elif io_manager is not None:
        resources["io_manager"] = io_manager

    @job(
        resource_defs=resources,
        executor_def=executor,
        config={"ops": {"a": {"config": {"start": 1}}}},
    )
    def pipeline() -> None:
        left, right, extra = b(a())
        d([c(left), right, extra])
        e(extra)

    return pipeline


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    with Instance.get(tmp_path / "home") as opened:
        yield opened


def _loaded(result: ExecuteInProcessResult, step_key: str) -> list[str]:
    return [
        e.message
        for e in result.all_events
        if e.event_type is EventType.LOADED_INPUT and e.step_key == step_key
    ]


def _skipped(result: ExecuteInProcessResult) -> list[str | None]:
    return [e.step_key for e in result.get_step_skipped_events()]


def _run_count(instance: Instance) -> int:
    return len(instance.get_runs().records)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_from_failure_runs_only_the_failed_step_and_loads_the_parents_outputs(
    tmp_path: Path, instance: Instance, executor: Any
) -> None:
    pipeline = _pipeline(tmp_path, executor)
    (tmp_path / "broken").touch()
    parent = execute_job(pipeline, instance)
    assert parent.failed_step_keys == ["c"]
    assert sorted(_skipped(parent), key=str) == ["d", "e"]
    (tmp_path / "broken").unlink()

    options = ReexecutionOptions.from_failure(parent.run_id, instance)
    assert sorted(options.step_selection) == ["c", "d", "e"]
    child = execute_job(pipeline, instance, reexecution_options=options)

    assert child.success
    assert _calls(tmp_path / "marks") == {"a": 1, "b": 1, "c": 2, "d": 1, "e": 0}
    assert child.output_for_node("c") == 20  # (1 + 1) * 10: b's left output of the parent
    assert child.output_for_node("d") == 23  # [c, right]: extra was never yielded
    assert _skipped(child) == ["e"]  # as in the parent: extra was never yielded
    assert _loaded(child, "c") == [
        f"loaded input 'left' with IO manager 'io_manager' from output 'left' of step 'b' "
        f"stored by run {parent.run_id}"
    ]
    # the fan-in: c's output of this run, b's right output of the parent
    assert _loaded(child, "d") == [
        "loaded input 'values' with IO manager 'io_manager'",
        "loaded input 'values' with IO manager 'io_manager' from output 'right' of step 'b' "
        f"stored by run {parent.run_id}",
    ]
    assert {e.step_key for e in child.get_step_success_events()} == {"c", "d"}
    stored = instance.get_run(child.run_id).run
    assert (stored.parent_run_id, stored.root_run_id) == (parent.run_id, parent.run_id)
    assert stored.tags["knoll/step_selection"] == "c,d,e"


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_reexecution_of_a_reexecution_loads_from_the_grandparent(
    tmp_path: Path, instance: Instance, executor: Any
) -> None:
    pipeline = _pipeline(tmp_path, executor)
    (tmp_path / "broken").touch()
    root = execute_job(pipeline, instance)
    again = ReexecutionOptions.from_failure(root.run_id, instance)
    middle = execute_job(pipeline, instance, reexecution_options=again)
    assert middle.failed_step_keys == ["c"]  # still broken; a and b did not run in it
    (tmp_path / "broken").unlink()

    options = ReexecutionOptions.from_failure(middle.run_id, instance)
    last = execute_job(pipeline, instance, reexecution_options=options)

    assert last.success
    assert _calls(tmp_path / "marks") == {"a": 1, "b": 1, "c": 3, "d": 1, "e": 0}
    assert last.output_for_node("d") == 23
    assert f"stored by run {root.run_id}" in _loaded(last, "c")[0]
    assert (last.run.parent_run_id, last.run.root_run_id) == (middle.run_id, root.run_id)


def test_a_step_selection_runs_those_steps_and_what_depends_on_them(
    tmp_path: Path, instance: Instance
) -> None:
    pipeline = _pipeline(tmp_path, None)
    parent = execute_job(pipeline, instance)
    assert parent.success

    options = ReexecutionOptions(parent.run_id, step_selection=["c"])
    child = execute_job(pipeline, instance, reexecution_options=options)

    assert child.success
    assert _calls(tmp_path / "marks") == {"a": 1, "b": 1, "c": 2, "d": 2, "e": 0}
    assert child.output_for_node("d") == 23
    assert {e.step_key for e in child.get_step_success_events()} == {"c", "d"}

    # the selection may start at a step with several upstream outputs, and at the first step
    only_d = execute_job(
        pipeline, instance, reexecution_options=ReexecutionOptions(child.run_id, ["d"])
    )
    assert only_d.output_for_node("d") == 23
    assert _calls(tmp_path / "marks")["d"] == 3
    assert f"of step 'c' stored by run {child.run_id}" in _loaded(only_d, "d")[0]
    from_a = execute_job(
        pipeline, instance, reexecution_options=ReexecutionOptions(parent.run_id, ["a"])
    )
    assert from_a.success
    assert _calls(tmp_path / "marks") == {"a": 2, "b": 2, "c": 3, "d": 4, "e": 0}


def test_outputs_a_parent_kept_in_memory_are_refused_before_anything_runs(
    tmp_path: Path, instance: Instance
) -> None:
    pipeline = _pipeline(tmp_path, None, io_manager=None)
    (tmp_path / "broken").touch()
    # execute_in_process without an executor keeps op outputs in memory
    parent = pipeline.execute_in_process(instance=instance, raise_on_error=False)
    assert parent.failed_step_keys == ["c"]
    (tmp_path / "broken").unlink()
    options = ReexecutionOptions.from_failure(parent.run_id, instance)

    with pytest.raises(InvalidInvocationError) as caught:
        execute_job(pipeline, instance, reexecution_options=options)

    assert str(caught.value) == (
        f"cannot re-execute run {parent.run_id} of job 'pipeline': output 'left' of step 'b' "
        f"was kept in memory by run {parent.run_id} (IO manager 'io_manager'; "
        "execute_in_process without an executor keeps op outputs in memory), so this run "
        "cannot load it. Run the job with a persistent IO manager (resources={'io_manager': "
        "FilesystemIOManager(base_dir=...)}) or through execute_job or `knoll job execute`, or "
        "re-execute all the steps (ReexecutionOptions(parent_run_id=...) without "
        "step_selection)."
    )
    assert _run_count(instance) == 1  # no run was created
    assert _calls(tmp_path / "marks")["c"] == 1
    # re-executing all the steps needs nothing stored
    assert execute_job(
        pipeline, instance, reexecution_options=ReexecutionOptions(parent.run_id)
    ).success


def test_an_in_memory_io_manager_that_holds_the_outputs_is_used(
    tmp_path: Path, instance: Instance
) -> None:
    memory = InMemoryIOManager()
    pipeline = _pipeline(tmp_path, None, io_manager=memory)
    (tmp_path / "broken").touch()
    parent = pipeline.execute_in_process(instance=instance, raise_on_error=False)
    (tmp_path / "broken").unlink()
    options = ReexecutionOptions.from_failure(parent.run_id, instance)

    child = execute_job(pipeline, instance, reexecution_options=options)

    assert child.output_for_node("d") == 23
    assert _calls(tmp_path / "marks") == {"a": 1, "b": 1, "c": 2, "d": 1, "e": 0}
    # another InMemoryIOManager does not hold them
    elsewhere = {"io_manager": InMemoryIOManager()}
    with pytest.raises(InvalidInvocationError, match=r"output 'left' of step 'b' was kept in"):
        execute_job(pipeline, instance, reexecution_options=options, resources=elsewhere)


def test_a_selection_that_needs_an_output_the_parent_did_not_produce_is_refused(
    tmp_path: Path, instance: Instance
) -> None:
    pipeline = _pipeline(tmp_path, None)
    (tmp_path / "broken").touch()
    parent = execute_job(pipeline, instance)
    (tmp_path / "broken").unlink()

    with pytest.raises(InvalidInvocationError) as caught:
        execute_job(
            pipeline, instance, reexecution_options=ReexecutionOptions(parent.run_id, ["d"])
        )

    assert str(caught.value) == (
        f"cannot re-execute run {parent.run_id} of job 'pipeline': step 'd' reads output "
        f"'result' of step 'c', which did not succeed in run {parent.run_id}. Add 'c' to the "
        "step selection (re-executing from failure selects it), or re-execute all the steps."
    )
    assert _run_count(instance) == 1


def test_a_run_limited_to_some_ops_re_executes_within_them(
    tmp_path: Path, instance: Instance
) -> None:
    pipeline = _pipeline(tmp_path, None)
    (tmp_path / "broken").touch()
    first = execute_job(pipeline, instance, op_selection=["a", "b", "c"])
    assert not first.success
    assert first.run.tags["knoll/op_selection"] == "a,b,c"
    (tmp_path / "broken").unlink()

    options = ReexecutionOptions.from_failure(first.run_id, instance)
    second = execute_job(pipeline, instance, reexecution_options=options)

    assert second.success, second.run_error
    assert second.output_for_node("c") == 20
    # d and e depend on c and b, but the first run left them out: so does its re-execution
    assert _calls(tmp_path / "marks") == {"a": 1, "b": 1, "c": 2, "d": 0, "e": 0}
    assert second.run.tags["knoll/op_selection"] == "a,b,c"
