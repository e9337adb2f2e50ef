"""Re-execution: all steps or from failure, as a new run linked to its parent and root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knoll import Definitions, FilesystemIOManager, asset, define_asset_job, job, op
from knoll.defs.executor import multiprocess_executor
from knoll.errors import DefinitionError, InvalidInvocationError
from knoll.execution.reexecution import ReexecutionOptions, execute_job, reexecute
from knoll.instance import Instance


def _count(folder: Path, name: str) -> int:
    path = folder / name
    with path.open("a") as handle:
        handle.write("x\n")
    return len(path.read_text().splitlines())


def _calls(folder: Path, name: str) -> int:
    path = folder / name
    return len(path.read_text().splitlines()) if path.exists() else 0


def _chain(tmp_path: Path, executor: Any) -> Definitions:
    """upstream -> middle (fails while the 'broken' file exists) -> downstream; and apart."""
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "broken").touch()

    @asset
    def upstream() -> int:
        _count(marks, "upstream")
        return 10

    @asset
    def middle(upstream: int) -> int:
        _count(marks, "middle")
        if (tmp_path / "broken").exists():
            raise RuntimeError("the source is down")
        return upstream + 1

    @asset
    def downstream(middle: int) -> int:
        _count(marks, "downstream")
        return middle * 2

    @asset
    def apart() -> int:
        _count(marks, "apart")
        return 0

    return Definitions(
        assets=[upstream, middle, downstream, apart],
        jobs=[define_asset_job("chain", selection="*")],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "outputs"))},
        executor=executor,
    )


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return Instance.get(tmp_path / "home")


@pytest.mark.parametrize("executor", [None, multiprocess_executor(max_concurrent=2)])
def test_from_failure_runs_only_the_failed_step_and_what_depends_on_it(
    tmp_path: Path, instance: Instance, executor: Any
) -> None:
    chain = _chain(tmp_path, executor).get_job_def("chain")
    parent = execute_job(chain, instance)
    assert parent.failed_step_keys == ["middle"]
    (tmp_path / "broken").unlink()
    options = ReexecutionOptions.from_failure(parent.run_id, instance)
    assert sorted(options.step_selection) == ["downstream", "middle"]
    child = execute_job(chain, instance, reexecution_options=options)
    assert child.success
    marks = tmp_path / "marks"
    assert (_calls(marks, "upstream"), _calls(marks, "apart")) == (1, 1)
    assert (_calls(marks, "middle"), _calls(marks, "downstream")) == (2, 1)
    assert child.asset_value("downstream") == 22
    assert child.run.parent_run_id == parent.run_id
    assert child.run.root_run_id == parent.run_id
    stored = instance.get_run(child.run_id).run
    assert stored.parent_run_id == parent.run_id
    assert stored.tags["knoll/parent_run_id"] == parent.run_id
    assert stored.tags["knoll/root_run_id"] == parent.run_id


def test_reexecuting_all_steps_keeps_the_root(tmp_path: Path, instance: Instance) -> None:
    chain = _chain(tmp_path, None).get_job_def("chain")
    (tmp_path / "broken").unlink()
    first = execute_job(chain, instance)
    second = reexecute(first, instance=instance)
    third = reexecute(second, instance=instance)
    assert third.success
    assert _calls(tmp_path / "marks", "upstream") == 3
    assert (third.run.parent_run_id, third.run.root_run_id) == (second.run_id, first.run_id)
    assert instance.get_run(third.run_id).run.tags["knoll/root_run_id"] == first.run_id


def test_from_failure_of_a_successful_run_is_refused(tmp_path: Path, instance: Instance) -> None:
    chain = _chain(tmp_path, None).get_job_def("chain")
    (tmp_path / "broken").unlink()
    parent = execute_job(chain, instance)
    with pytest.raises(InvalidInvocationError, match=f"run {parent.run_id} succeeded"):
        reexecute(parent, instance=instance, from_failure=True)


def test_step_selection_names_unknown_steps(tmp_path: Path, instance: Instance) -> None:
    chain = _chain(tmp_path, None).get_job_def("chain")
    parent = execute_job(chain, instance)
    options = ReexecutionOptions(parent.run_id, step_selection=["midle"])
    with pytest.raises(DefinitionError, match=r"no step 'midle'.*middle"):
        execute_job(chain, instance, reexecution_options=options)


def test_the_parent_must_be_a_run_of_the_same_job(tmp_path: Path, instance: Instance) -> None:
    chain = _chain(tmp_path, None).get_job_def("chain")
    parent = execute_job(chain, instance)

    @op
    def alone() -> int:
        return 1

    @job
    def other() -> None:
        alone()

    options = ReexecutionOptions(parent.run_id)
    with pytest.raises(InvalidInvocationError, match="is a run of job 'chain', not of job 'other'"):
        execute_job(other, instance, reexecution_options=options)
