"""The multiprocess executor: warm forked workers, events back to one writer, dead workers."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetExecutionContext,
    ConfigurableResource,
    Definitions,
    EventType,
    FilesystemIOManager,
    InMemoryIOManager,
    RetryPolicy,
    asset,
    define_asset_job,
    job,
    op,
)
from knoll.defs.executor import in_process_executor, multiprocess_executor
from knoll.errors import DefinitionError, InvalidConfigError, UserCodeError
from knoll.execution.multiprocess import max_workers, start_method_for
from knoll.execution.reexecution import execute_job
from knoll.instance import Instance


def _mark(folder: Path, name: str) -> int:
    """Append this process's pid to ``folder/name``; return how many times it was called."""
    path = folder / name
    with path.open("a") as handle:
        handle.write(f"{os.getpid()}\n")
    return len(path.read_text().splitlines())


def _lines(folder: Path, name: str) -> list[str]:
    path = folder / name
    return path.read_text().splitlines() if path.exists() else []


class Folder(ConfigurableResource):
    path: str

    def setup_for_execution(self, context: Any) -> None:
        _mark(Path(self.path), "setup")


def _fan_out(width: int) -> list[Any]:
    @asset
    def source(folder: Folder) -> int:
        _mark(Path(folder.path), "source")
        return 1

    def branch(i: int) -> Any:
        @asset(name=f"b{i}")
        def _b(source: int) -> int:
            return source + i

        return _b

    branches = [branch(i) for i in range(width)]

    @asset(deps=[b.key for b in branches])
    def sink(context: AssetExecutionContext) -> int:
        return os.getpid()

    return [source, *branches, sink]


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return Instance.get(tmp_path / "home")


def _defs(tmp_path: Path, assets: list[Any], executor: Any) -> Definitions:
    folder = tmp_path / "marks"
    folder.mkdir(exist_ok=True)
    return Definitions(
        assets=assets,
        jobs=[define_asset_job("all", selection="*")],
        resources={
            "folder": Folder(path=str(folder)),
            "io_manager": FilesystemIOManager(base_dir=str(tmp_path / "outputs")),
        },
        executor=executor,
    )


def test_steps_run_in_warm_workers_and_values_load_through_the_io_manager(
    tmp_path: Path, instance: Instance
) -> None:
    defs = _defs(tmp_path, _fan_out(6), multiprocess_executor(max_concurrent=2))
    result = execute_job(defs.get_job_def("all"), instance)
    assert result.success
    assert result.asset_value("b3") == 4
    sink_pid = result.asset_value("sink")
    assert sink_pid != os.getpid()
    # resources were set up once per worker (two workers), not once per step (eight steps)
    setups = _lines(tmp_path / "marks", "setup")
    assert 1 <= len(setups) <= 2
    assert str(os.getpid()) not in setups
    assert str(sink_pid) in setups
    stored = [r.event.event_type for r in instance.get_events(result.run_id).records]
    assert stored == [e.event_type for e in result.all_events]
    assert stored[-1] is EventType.RUN_SUCCESS
    assert instance.get_run(result.run_id).run.is_success


def test_run_config_selects_the_executor(tmp_path: Path, instance: Instance) -> None:
    defs = _defs(tmp_path, _fan_out(1), in_process_executor)
    all_job = defs.get_job_def("all")
    here = execute_job(all_job, instance)
    assert here.asset_value("sink") == os.getpid()
    config = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}
    there = execute_job(all_job, instance, run_config=config)
    assert there.success
    assert there.asset_value("sink") != os.getpid()
    back = _defs(tmp_path, _fan_out(1), multiprocess_executor).get_job_def("all")
    in_process = execute_job(back, instance, run_config={"execution": {"in_process": {}}})
    assert in_process.asset_value("sink") == os.getpid()


def test_run_config_names_an_unknown_executor(tmp_path: Path, instance: Instance) -> None:
    all_job = _defs(tmp_path, _fan_out(1), None).get_job_def("all")
    with pytest.raises(InvalidConfigError, match=r"no executor named 'multiprocesss'.*multiproc"):
        execute_job(all_job, instance, run_config={"execution": {"config": {"multiprocesss": {}}}})


def test_executor_definition_is_callable_and_checks_its_config() -> None:
    four = multiprocess_executor(max_concurrent=4)
    assert four.name == "multiprocess"
    assert four.config == {"max_concurrent": 4}
    assert multiprocess_executor.configured({"max_concurrent": 3}).config == {"max_concurrent": 3}
    assert max_workers(four, step_count=2) == 2
    assert max_workers(multiprocess_executor, step_count=1000) == (os.cpu_count() or 1)
    with pytest.raises(DefinitionError, match=r"no config key 'max_concurent'.*max_concurrent"):
        multiprocess_executor(max_concurent=4)
    with pytest.raises(DefinitionError, match="max_concurrent must be a whole number"):
        multiprocess_executor(max_concurrent=-1)


def test_start_method_falls_back_where_fork_is_unsafe() -> None:
    assert start_method_for("linux") == "fork"
    assert start_method_for("darwin") == "forkserver"
    assert start_method_for("win32") == "spawn"


def test_the_in_memory_io_manager_is_refused(tmp_path: Path, instance: Instance) -> None:
    defs = Definitions(
        assets=_fan_out(1)[1:2] + _fan_out(1)[:1],
        jobs=[define_asset_job("all", selection="*")],
        resources={"io_manager": InMemoryIOManager(), "folder": Folder(path=str(tmp_path))},
        executor=multiprocess_executor,
    )
    with pytest.raises(DefinitionError, match=r"'io_manager' is an InMemoryIOManager.*Filesystem"):
        execute_job(defs.get_job_def("all"), instance)


def test_a_killed_worker_fails_its_step_and_is_replaced(tmp_path: Path, instance: Instance) -> None:
    @asset
    def doomed() -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 1

    @asset
    def after_doomed(doomed: int) -> int:
        return doomed

    @asset
    def independent() -> int:
        return 7

    @asset
    def later(independent: int) -> int:
        return independent + 1

    defs = _defs(
        tmp_path,
        [doomed, after_doomed, independent, later],
        multiprocess_executor(max_concurrent=1),
    )
    result = execute_job(defs.get_job_def("all"), instance)
    assert not result.success
    assert result.failed_step_keys == ["doomed"]
    (failure,) = result.get_step_failure_events()
    assert "worker process" in failure.message
    assert "killed by signal SIGKILL" in failure.message
    assert [e.step_key for e in result.get_step_skipped_events()] == ["after_doomed"]
    # one worker: the steps after the kill ran in its replacement
    assert result.asset_value("later") == 8
    assert instance.get_run(result.run_id).run.status.value == "FAILURE"


def test_retries_work_across_processes(tmp_path: Path, instance: Instance) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()

    @asset(retry_policy=RetryPolicy(max_retries=2))
    def flaky() -> int:
        if _mark(marks, "flaky") < 3:
            raise RuntimeError("not yet")
        return 3

    defs = _defs(tmp_path, [flaky], multiprocess_executor(max_concurrent=2))
    result = execute_job(defs.get_job_def("all"), instance)
    assert result.success
    assert result.asset_value("flaky") == 3
    kinds = [e.event_type for e in result.events_for_node("flaky")]
    assert kinds.count(EventType.STEP_UP_FOR_RETRY) == 2
    assert kinds.count(EventType.STEP_RESTARTED) == 2
    assert len(set(_lines(marks, "flaky"))) == 1  # all attempts in the same worker


def test_user_errors_come_back_with_their_step(tmp_path: Path, instance: Instance) -> None:
    @asset
    def broken() -> int:
        raise ValueError("bad data in row 3")

    defs = _defs(tmp_path, [broken], multiprocess_executor)
    result = execute_job(defs.get_job_def("all"), instance)
    assert result.failed_step_keys == ["broken"]
    error = result.step_error("broken")
    assert isinstance(error, UserCodeError)
    assert "ValueError: bad data in row 3" in str(error)
    assert "bad data in row 3" in str(error.original)
    with pytest.raises(UserCodeError, match=r"error in asset 'broken'.*bad data in row 3"):
        execute_job(defs.get_job_def("all"), instance, raise_on_error=True)


def test_op_jobs_store_outputs_in_files_by_default(instance: Instance) -> None:
    @op
    def one() -> int:
        return 1

    @op
    def add(x: int) -> int:
        return x + os.getpid() * 0 + 1

    @job(executor_def=multiprocess_executor(max_concurrent=2))
    def ops() -> None:
        add(one())

    result = execute_job(ops, instance)
    assert result.success
    assert result.output_for_node("add") == 2
