"""Compute logs: each step's stdout and stderr captured to files, still shown, and readable."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from knoll import AssetExecutionContext, asset, materialize
from knoll.errors import InvalidInvocationError, UserCodeError
from knoll.execution.capture import capture_output
from knoll.execution.events import ComputeLogsData, EventType
from knoll.instance import Instance
from knoll.instance.compute_logs import ComputeLogManager

from .conftest import MakeInstance


@asset
def talks() -> int:
    print("hello from talks")
    print("a warning", file=sys.stderr)
    return 1


@asset
def spawns(talks: int) -> int:
    subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)
    os.write(2, b"straight to fd 2\n")
    return talks + 1


def test_a_steps_output_is_captured_and_still_shown(
    instance: Instance, capfd: pytest.CaptureFixture[str]
) -> None:
    result = materialize([talks, spawns], instance=instance)
    logs = instance.compute_logs
    assert logs.read(result.run_id, "talks", stream="stdout") == "hello from talks\n"
    assert logs.read(result.run_id, "talks", stream="stderr") == "a warning\n"
    assert logs.read(result.run_id, "spawns", stream="stdout") == "from a child process\n"
    assert logs.read(result.run_id, "spawns", stream="stderr") == "straight to fd 2\n"
    assert logs.step_keys(result.run_id) == ["talks", "spawns"]
    assert logs.read(result.run_id) == (
        "--- talks stdout ---\nhello from talks\n"
        "--- talks stderr ---\na warning\n"
        "--- spawns stdout ---\nfrom a child process\n"
        "--- spawns stderr ---\nstraight to fd 2\n"
    )
    shown = capfd.readouterr()
    assert "hello from talks" in shown.out
    assert "from a child process" in shown.out
    assert "a warning" in shown.err
    assert "straight to fd 2" in shown.err


def test_the_steps_events_say_where_its_logs_are(instance: Instance) -> None:
    result = materialize([talks], instance=instance)
    (record,) = instance.get_events(result.run_id, of_types=[EventType.LOGS_CAPTURED]).records
    data = record.event.data
    assert isinstance(data, ComputeLogsData)
    assert record.event.step_key == "talks"
    stdout, stderr = instance.compute_logs.paths(result.run_id, "talks")
    assert (data.stdout_path, data.stderr_path) == (str(stdout), str(stderr))
    assert Path(data.stdout_path).read_text() == "hello from talks\n"


def test_a_failing_step_keeps_what_it_printed(instance: Instance) -> None:
    @asset
    def fails() -> None:
        print("about to fail")
        raise ValueError("nope")

    with pytest.raises(UserCodeError):
        materialize([fails], instance=instance, run_id="failing-logs")
    assert instance.compute_logs.read("failing-logs", "fails", stream="stdout") == (
        "about to fail\n"
    )
    # the streams are back to normal after the step
    assert not type(sys.stdout).__name__.startswith("_Router")


def test_retries_append_to_the_same_logs(instance: Instance) -> None:
    from knoll import RetryPolicy

    attempts: list[int] = []

    @asset(retry_policy=RetryPolicy(max_retries=1))
    def flaky() -> int:
        attempts.append(1)
        print(f"attempt {len(attempts)}")
        if len(attempts) == 1:
            raise RuntimeError("first time fails")
        return 1

    result = materialize([flaky], instance=instance)
    assert instance.compute_logs.read(result.run_id, "flaky", stream="stdout") == (
        "attempt 1\nattempt 2\n"
    )


def test_without_fd_capture_python_output_is_still_captured(
    make_instance: MakeInstance,
) -> None:
    instance = make_instance("memory", "compute_logs:\n  capture_file_descriptors: false\n")
    result = materialize([talks, spawns], instance=instance)
    logs = instance.compute_logs
    assert logs.read(result.run_id, "talks", stream="stdout") == "hello from talks\n"
    assert logs.read(result.run_id, "spawns", stream="stdout") == ""


def test_context_log_is_not_mixed_into_stdout(instance: Instance) -> None:
    @asset
    def logs_it(context: AssetExecutionContext) -> None:
        context.log.info("an event, not output")
        print("output")

    result = materialize([logs_it], instance=instance)
    assert instance.compute_logs.read(result.run_id, "logs_it", stream="stdout") == "output\n"


def test_runs_without_an_instance_capture_nothing(tmp_path: Path) -> None:
    stdout = sys.stdout
    result = materialize([talks])
    assert result.success
    assert sys.stdout is stdout


def test_concurrent_captures_in_threads_keep_their_own_output(tmp_path: Path) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            out, err = tmp_path / f"{n}.out", tmp_path / f"{n}.err"
            with capture_output(out, err, capture_fds=False):
                barrier.wait(timeout=30)
                for i in range(50):
                    print(f"thread {n} line {i}")
                barrier.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for n in range(4):
        expected = "".join(f"thread {n} line {i}\n" for i in range(50))
        assert (tmp_path / f"{n}.out").read_text() == expected


def test_threads_started_by_a_step_write_to_its_logs(tmp_path: Path) -> None:
    out, err = tmp_path / "s.out", tmp_path / "s.err"
    with capture_output(out, err, capture_fds=False):
        helper = threading.Thread(target=lambda: print("from a helper thread"))
        helper.start()
        helper.join()
    assert out.read_text() == "from a helper thread\n"


# ---- reading logs --------------------------------------------------------------------------


def test_tail_follows_a_file_by_offset(tmp_path: Path) -> None:
    logs = ComputeLogManager(tmp_path)
    assert logs.tail("r1", "s").exists is False
    stdout, _ = logs.prepare("r1", "s")
    stdout.write_bytes("first\nsé".encode())
    chunk = logs.tail("r1", "s", max_bytes=8)  # cuts 'é' (2 bytes) in half
    assert chunk.text == "first\ns"
    assert chunk.next_offset == 7
    with stdout.open("ab") as handle:
        handle.write(b"cond\n")
    rest = logs.tail("r1", "s", offset=chunk.next_offset)
    assert rest.text == "écond\n"
    assert logs.tail("r1", "s", offset=rest.next_offset).text == ""


def test_reading_logs_that_do_not_exist(tmp_path: Path) -> None:
    logs = ComputeLogManager(tmp_path)
    with pytest.raises(InvalidInvocationError, match=r"run 'r1' has no compute logs in .*r1"):
        logs.read("r1", "step")
    logs.prepare("r1", "compute_total")
    with pytest.raises(
        InvalidInvocationError,
        match=r"run 'r1' has no compute logs for step 'compute_totl'\. Did you mean "
        r"'compute_total'\?",
    ):
        logs.read("r1", "compute_totl")
    with pytest.raises(InvalidInvocationError, match=r"stream='all' is not a log stream"):
        logs.read("r1", "compute_total", stream="all")  # type: ignore[arg-type]
    assert logs.read("r2") == ""


def test_log_file_names_are_safe(tmp_path: Path) -> None:
    logs = ComputeLogManager(tmp_path)
    stdout, stderr = logs.paths("run/../x", "a/b step")
    assert stdout.parent.parent == tmp_path
    assert stdout.name == "a%2Fb%20step.out"
    assert stderr.name == "a%2Fb%20step.err"
    with pytest.raises(InvalidInvocationError, match=r"step key '\.\.' cannot name a log file"):
        logs.paths("r", "..")


def test_delete_counts_files_and_bytes(tmp_path: Path) -> None:
    logs = ComputeLogManager(tmp_path)
    stdout, stderr = logs.prepare("r1", "s")
    stdout.write_text("12345")
    stderr.write_text("678")
    assert logs.delete("r1") == (2, 8)
    assert not logs.has_logs("r1")
    assert logs.delete("r1") == (0, 0)
