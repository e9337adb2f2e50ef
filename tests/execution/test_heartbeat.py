"""The run heartbeat thread, on a real SQLite instance."""

from __future__ import annotations

import os
from pathlib import Path

from knoll.execution.heartbeat import beating
from knoll.execution.recorder import MemoryRecorder
from knoll.execution.run import Run, RunStatus
from knoll.instance import Instance


def test_a_run_beats_once_before_it_starts_and_only_once_per_process(tmp_path: Path) -> None:
    with Instance.get(tmp_path / ".knoll") as instance:
        run = Run(run_id="b" * 32, job_name="j", status=RunStatus.STARTING)
        instance.start_run(run)
        with beating(instance, run.run_id) as outer:
            assert outer is not None
            beat = instance.get_run_heartbeats([run.run_id])[run.run_id]
            assert beat.pid == os.getpid()
            assert beat.in_process
            with beating(instance, run.run_id) as inner:
                assert inner is None  # the outer thread beats for the run already
        assert not outer.is_alive()


def test_a_run_in_memory_does_not_beat() -> None:
    with beating(MemoryRecorder(), "m" * 32) as heartbeat:
        assert heartbeat is None


def test_finding_the_run_canceling_calls_back_once(tmp_path: Path) -> None:
    calls: list[str] = []
    with Instance.get(tmp_path / ".knoll") as instance:
        run = Run(run_id="c" * 32, job_name="j", status=RunStatus.STARTING)
        instance.start_run(run)
        instance.storage.update_run_status(run.run_id, RunStatus.CANCELING)
        with beating(instance, run.run_id, on_canceling=lambda: calls.append("stop")) as beat:
            assert beat is not None
            beat.beat()
            beat._beat_and_look()
    assert calls == ["stop"]
