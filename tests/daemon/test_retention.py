"""The ``retention`` duty: one pass prunes old runs' details, old ticks (but the last few of
each schedule and sensor) and old daemon heartbeats, on SQLite and PostgreSQL; `knoll daemon
run` makes such passes on its own every retention:interval_seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from knoll import asset, materialize
from knoll.daemon.retention import retention_pass
from knoll.errors import InvalidInvocationError
from knoll.execution.events import EventType
from knoll.instance import Instance
from knoll.storage.base import DaemonHeartbeat, InstigatorType
from tests.cli.helpers import KNOLL, knoll_env
from tests.daemon.conftest import WAIT
from tests.instance.conftest import MakeInstance

RETENTION = """retention:
  older_than: 1h
  interval_seconds: 60
  ticks_keep_last: 1
  heartbeats_older_than: 2h
"""
HOUR = 3600.0


@asset
def chatty() -> int:
    print("a line for the compute logs")
    return 1


def _event_types(instance: Instance, run_id: str) -> list[EventType]:
    return [r.event.event_type for r in instance.get_events(run_id).records]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_pass_prunes_old_runs_ticks_and_heartbeats(
    make_instance: MakeInstance, backend: str
) -> None:
    instance = make_instance(backend, RETENTION)
    old_run = materialize([chatty], instance=instance).run_id
    now = time.time() + 2 * HOUR  # the run finished two hours before "now"
    storage = instance.storage
    for stamp in (now - 5 * HOUR, now - 4 * HOUR, now - 60):
        storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, stamp)
    for stamp in (now - 5 * HOUR, now - 4 * HOUR):
        storage.create_tick("shop", "files", InstigatorType.SENSOR, stamp)
    storage.record_daemon_heartbeat(DaemonHeartbeat("gone", "run_queue", now - 3 * HOUR))
    storage.record_daemon_heartbeat(DaemonHeartbeat("alive", "run_queue", now - 60))

    report = retention_pass(instance, now=now)

    assert report.pruned.runs == 1
    assert _event_types(instance, old_run) == [EventType.ASSET_MATERIALIZATION]
    assert report.ticks_deleted == 3
    assert [t.timestamp for t in storage.get_ticks("shop", "hourly")] == [now - 60]
    assert [t.timestamp for t in storage.get_ticks("shop", "files")] == [now - 4 * HOUR]
    assert report.heartbeats_deleted == 1
    assert [b.daemon_id for b in storage.get_daemon_heartbeats()] == ["alive"]
    assert report.summary().endswith("; 3 old ticks and 1 old daemon heartbeats deleted")

    again = retention_pass(instance, now=now)
    assert (again.pruned.runs, again.ticks_deleted, again.heartbeats_deleted) == (1, 0, 0)
    assert again.pruned.events_deleted == 0


def test_a_recent_run_is_kept(make_instance: MakeInstance) -> None:
    instance = make_instance("sqlite", RETENTION)
    recent = materialize([chatty], instance=instance).run_id
    before = _event_types(instance, recent)
    assert retention_pass(instance).pruned.runs == 0
    assert _event_types(instance, recent) == before


def test_a_pass_needs_older_than(make_instance: MakeInstance) -> None:
    instance = make_instance("sqlite")
    with pytest.raises(InvalidInvocationError) as raised:
        retention_pass(instance)
    assert str(raised.value) == (
        f"the retention duty needs retention:older_than in {instance.home}/knoll.yaml: set it, "
        "for example to '30d', or leave retention:interval_seconds out so that the daemon does "
        "not prune."
    )


PROJECT = textwrap.dedent(
    """
    from knoll import Definitions, asset

    @asset
    def orders() -> int:
        return 1

    defs = Definitions(assets=[orders])
    """
)


def test_the_daemon_prunes_on_its_interval(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(PROJECT)
    home = tmp_path / ".knoll"
    home.mkdir()
    (home / "knoll.yaml").write_text(
        "retention:\n  older_than: 1s\n  interval_seconds: 0.3\n  ticks_keep_last: 0\n"
    )
    with Instance.get(home) as instance:
        old_run = materialize([chatty], instance=instance).run_id
        instance.storage.create_tick("shop", "hourly", InstigatorType.SCHEDULE, time.time() - 60)
        daemon = subprocess.Popen(
            [*KNOLL, "daemon", "run", "-m", "shop"],
            cwd=tmp_path,
            env=knoll_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + WAIT
            while _event_types(instance, old_run) != [EventType.ASSET_MATERIALIZATION]:
                assert daemon.poll() is None, "the daemon ended"
                assert time.monotonic() < deadline, "the daemon never pruned"
                time.sleep(0.05)
            daemon.send_signal(signal.SIGINT)
            out, err = daemon.communicate(timeout=WAIT)
        finally:
            if daemon.poll() is None:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.communicate(timeout=WAIT)
        assert daemon.returncode == 0, err
        assert "retention every 0.3s" in err
        assert "pruned 1 run finished before " in out
        assert "; 1 old ticks and 0 old daemon heartbeats deleted" in out
        assert instance.storage.get_ticks("shop", "hourly") == []
