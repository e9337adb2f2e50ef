"""Dynamic outputs on the multiprocess executor: the coordinator resolves a mapped step into
one step per mapping key once the dynamic step has run, and hands each to a warm worker; a
collect waits for every mapped step it reads."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll import (
    DynamicOut,
    DynamicOutput,
    FilesystemIOManager,
    RetryPolicy,
    job,
    multiprocess_executor,
    op,
)
from knoll.defs.job import JobDefinition
from knoll.execution.events import EventType, StepOutputData
from knoll.execution.reexecution import ReexecutionOptions, execute_job
from knoll.execution.result import ExecuteInProcessResult
from knoll.instance import Instance
from tests.cli.helpers import knoll, run_ids

FILES = ["orders_2026_01.csv", "orders_2026_02.csv", "refunds_2026_01.csv"]


def _write_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i, name in enumerate(FILES):
        (inbox / name).write_text("\n".join(f"row{j}" for j in range(i + 2)))
    return inbox


def _events(result: ExecuteInProcessResult, kind: EventType) -> list[str | None]:
    return [e.step_key for e in result.all_events if e.event_type is kind]


def _ingest_job(tmp_path: Path, *, fail_on: str = "") -> JobDefinition:
    inbox = _write_inbox(tmp_path)

    @op(out=DynamicOut())
    def list_files() -> Iterator[DynamicOutput[Path]]:
        for path in sorted(inbox.iterdir()):
            yield DynamicOutput(path, mapping_key=path.stem)

    @op(retry_policy=RetryPolicy(max_retries=1))
    def count_rows(path: Path) -> int:
        if fail_on and path.stem == fail_on:
            raise ValueError(f"{path.name} is truncated")
        return len(path.read_text().splitlines())

    @op
    def with_pid(rows: int) -> tuple[int, int]:
        return rows, os.getpid()

    @op
    def summary(counts: list[tuple[int, int]]) -> dict[str, object]:
        return {"rows": [c for c, _ in counts], "workers": len({p for _, p in counts})}

    @job(
        executor_def=multiprocess_executor.configured({"max_concurrent": 2}),
        resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))},
    )
    def ingest() -> None:
        summary(list_files().map(lambda p: with_pid(count_rows(p))).collect())

    return ingest


def test_mapped_steps_run_in_worker_processes_and_the_collect_gets_them_in_key_order(
    tmp_path: Path,
) -> None:
    with Instance.get(tmp_path / "home") as instance:
        result = execute_job(_ingest_job(tmp_path), instance)
        stored = [r.event for r in instance.get_events(result.run_id).records]
    assert result.success, result.run_error
    keys = ["orders_2026_01", "orders_2026_02", "refunds_2026_01"]
    assert sorted(k for k in _events(result, EventType.STEP_SUCCESS) if k) == sorted(
        ["list_files", "summary"]
        + [f"count_rows[{k}]" for k in keys]
        + [f"with_pid[{k}]" for k in keys]
    )
    summary = result.output_for_node("summary")
    assert summary["rows"] == [2, 3, 4]
    assert os.getpid() not in {pid for _, pid in result.output_for_node("with_pid").values()}
    assert result.output_for_node("count_rows") == dict(zip(keys, [2, 3, 4], strict=True))
    assert list(result.output_for_node("list_files")) == keys
    # the events stored for the run name every mapped step, with the mapping key of each value
    outputs = [
        e.data.mapping_key
        for e in stored
        if isinstance(e.data, StepOutputData) and e.step_key == "list_files"
    ]
    assert outputs == keys
    assert (tmp_path / "out" / result.run_id / "count_rows[orders_2026_02]" / "result").exists()


def test_a_failed_mapped_step_retries_in_a_worker_and_skips_only_its_own_chain(
    tmp_path: Path,
) -> None:
    with Instance.get(tmp_path / "home") as instance:
        result = execute_job(_ingest_job(tmp_path, fail_on="orders_2026_02"), instance)
    assert not result.success
    assert result.failed_step_keys == ["count_rows[orders_2026_02]"]
    assert _events(result, EventType.STEP_UP_FOR_RETRY) == ["count_rows[orders_2026_02]"]
    assert sorted(k for k in _events(result, EventType.STEP_SKIPPED) if k) == [
        "summary",
        "with_pid[orders_2026_02]",
    ]
    assert "with_pid[refunds_2026_01]" in _events(result, EventType.STEP_SUCCESS)
    message = next(e.message for e in result.all_events if e.event_type is EventType.STEP_FAILURE)
    assert "orders_2026_02.csv is truncated" in message


def test_no_dynamic_values_skips_the_mapped_steps_and_the_collect(tmp_path: Path) -> None:
    @op(out=DynamicOut())
    def nothing_new() -> Iterator[DynamicOutput[str]]:
        yield from ()

    @op
    def load(name: str) -> str:
        return name

    @op
    def notify(names: list[str]) -> str:
        return ", ".join(names)

    @job(
        executor_def=multiprocess_executor.configured({"max_concurrent": 2}),
        resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))},
    )
    def quiet() -> None:
        notify(nothing_new().map(load).collect())

    with Instance.get(tmp_path / "home") as instance:
        result = execute_job(quiet, instance)
    assert result.success, result.run_error
    assert _events(result, EventType.STEP_SUCCESS) == ["nothing_new"]
    assert _events(result, EventType.STEP_SKIPPED) == ["notify"]


def test_the_dynamic_output_itself_collected_and_chained_maps(tmp_path: Path) -> None:
    @op(out={"tables": DynamicOut(), "schema": DynamicOut()})
    def discover() -> Iterator[DynamicOutput[str]]:
        for table in ["customers", "orders"]:
            yield DynamicOutput(table, mapping_key=table, output_name="tables")
        yield DynamicOutput("analytics", mapping_key="main", output_name="schema")

    @op
    def qualify(table: str) -> str:
        return f"analytics.{table}"

    @op
    def upper(name: str) -> str:
        return name.upper()

    @op
    def listing(names: list[str], raw: list[str]) -> str:
        return f"{'/'.join(raw)} -> {'/'.join(names)}"

    @job(
        executor_def=multiprocess_executor.configured({"max_concurrent": 2}),
        resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))},
    )
    def catalog() -> None:
        tables, _schema = discover()
        listing(tables.map(qualify).map(upper).collect(), tables.collect())

    with Instance.get(tmp_path / "home") as instance:
        result = execute_job(catalog, instance)
    assert result.success, result.run_error
    assert result.output_for_node("listing") == (
        "customers/orders -> ANALYTICS.CUSTOMERS/ANALYTICS.ORDERS"
    )
    assert result.output_for_node("discover", "schema") == {"main": "analytics"}


PROJECT = textwrap.dedent(
    """
    import os
    from knoll import (
        Definitions, DynamicOut, DynamicOutput, FilesystemIOManager, job, multiprocess_executor, op,
    )

    @op(out=DynamicOut())
    def shards():
        for i in range(4):
            yield DynamicOutput(i, mapping_key=f"shard_{i}")

    @op
    def square(i: int) -> int:
        if i == 2 and os.path.exists("broken"):
            raise ValueError("shard 2 is broken")
        print(f"squaring {i} in {os.getpid()}")
        return i * i

    @op
    def total(values: list) -> int:
        print(f"total is {sum(values)}")
        return sum(values)

    @job(executor_def=multiprocess_executor.configured(
        {"max_concurrent": 2, "start_method": os.environ["START_METHOD"]}))
    def squares():
        total(shards().map(square).collect())

    defs = Definitions(jobs=[squares], resources={"io_manager": FilesystemIOManager(
        base_dir=os.environ["OUT_DIR"])})
    """
)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_dynamic_job_through_the_cli_with_each_start_method(tmp_path: Path, method: str) -> None:
    (tmp_path / "shard_project.py").write_text(PROJECT)
    env = {"START_METHOD": method, "OUT_DIR": str(tmp_path / "out")}
    done = knoll("job", "execute", "-m", "shard_project", "--job", "squares", cwd=tmp_path,
                 env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    logs = knoll("run", "logs", "--last", "--step", "total", cwd=tmp_path)
    assert "total is 14" in logs.stdout, logs.stdout + logs.stderr
    logs = knoll("run", "logs", "--last", "--step", "square[shard_3]", cwd=tmp_path)
    assert "squaring 3 in" in logs.stdout, logs.stdout + logs.stderr


def test_spawned_workers_re_execute_one_mapping_key_from_failure(tmp_path: Path) -> None:
    (tmp_path / "shard_project.py").write_text(PROJECT)
    (tmp_path / "broken").touch()
    env = {"START_METHOD": "spawn", "OUT_DIR": str(tmp_path / "out")}
    failed = knoll("job", "execute", "-m", "shard_project", "--job", "squares", cwd=tmp_path,
                   env=env)  # fmt: skip
    assert failed.returncode == 1, failed.stdout + failed.stderr
    [parent] = run_ids(tmp_path)
    (tmp_path / "broken").unlink()

    again = knoll("run", "reexecute", parent, "--from-failure", "-m", "shard_project",
                  cwd=tmp_path, env=env)  # fmt: skip

    assert again.returncode == 0, again.stdout + again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == (
        f"re-executing run {parent} of job 'squares' (steps square[shard_2], total)"
    )
    logs = knoll("run", "logs", "--last", "--step", "total", cwd=tmp_path)
    assert "total is 14" in logs.stdout, logs.stdout + logs.stderr


def test_a_run_re_executes_from_failure_in_worker_processes(tmp_path: Path) -> None:
    inbox = _write_inbox(tmp_path)
    broken = tmp_path / "broken"
    broken.touch()

    @op(out=DynamicOut())
    def list_files() -> Iterator[DynamicOutput[Path]]:
        for path in sorted(inbox.iterdir()):
            yield DynamicOutput(path, mapping_key=path.stem)

    @op
    def count_rows(path: Path) -> int:
        if path.stem == "orders_2026_02" and broken.exists():
            raise ValueError(f"{path.name} is truncated")
        return len(path.read_text().splitlines())

    @op
    def doubled(rows: int) -> int:
        return rows * 2

    @op
    def summary(counts: list[int]) -> list[int]:
        return counts

    @job(
        executor_def=multiprocess_executor.configured({"max_concurrent": 2}),
        resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))},
    )
    def ingest() -> None:
        summary(list_files().map(lambda p: doubled(count_rows(p))).collect())

    with Instance.get(tmp_path / "home") as instance:
        parent = execute_job(ingest, instance)
        assert parent.failed_step_keys == ["count_rows[orders_2026_02]"]
        broken.unlink()
        options = ReexecutionOptions.from_failure(parent.run_id, instance)
        again = execute_job(ingest, instance, reexecution_options=options)
        # every key again, in workers, from the keys the parent's dynamic step yielded
        every = execute_job(
            ingest,
            instance,
            reexecution_options=ReexecutionOptions(again.run_id, ["doubled[?]"]),
        )
    assert again.success
    assert _events(again, EventType.STEP_START) == [
        "count_rows[orders_2026_02]",
        "doubled[orders_2026_02]",
        "summary",
    ]
    assert again.output_for_node("summary") == [4, 6, 8]
    assert sorted(k or "" for k in _events(every, EventType.STEP_SUCCESS)) == [
        "doubled[orders_2026_01]",
        "doubled[orders_2026_02]",
        "doubled[refunds_2026_01]",
        "summary",
    ]
    assert every.output_for_node("summary") == [4, 6, 8]
