"""``run_monitoring: heartbeat_interval_seconds`` in knoll.yaml: its default, its checks, and
the launchers that use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.errors import InvalidConfigError
from knoll.instance import Instance
from knoll.instance.config import RunMonitoringSettings, parse_settings
from knoll.instance.heartbeats import DEFAULT_HEARTBEAT_INTERVAL
from knoll.instance.launcher import RunLauncher


def settings_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "knoll.yaml"
    with pytest.raises(InvalidConfigError) as caught:
        parse_settings(text, tmp_path, path)
    message = str(caught.value)
    assert message.startswith(f"Invalid config for instance settings {path}: ")
    return message


def test_the_interval_defaults_to_five_seconds(tmp_path: Path) -> None:
    settings = parse_settings("", tmp_path, tmp_path / "knoll.yaml").run_monitoring

    assert settings.heartbeat_interval_seconds == DEFAULT_HEARTBEAT_INTERVAL == 5.0
    assert RunMonitoringSettings().heartbeat_interval_seconds == 5.0


def test_the_interval_is_read_from_knoll_yaml(tmp_path: Path) -> None:
    text = "run_monitoring:\n  heartbeat_interval_seconds: 2\n  heartbeat_timeout_seconds: 30\n"

    settings = parse_settings(text, tmp_path, tmp_path / "knoll.yaml").run_monitoring

    assert settings == RunMonitoringSettings(
        heartbeat_interval_seconds=2.0, heartbeat_timeout_seconds=30.0
    )


def test_an_interval_that_is_not_positive_is_refused(tmp_path: Path) -> None:
    message = settings_error(tmp_path, "run_monitoring:\n  heartbeat_interval_seconds: 0\n")

    assert (
        "at path run_monitoring:heartbeat_interval_seconds: 0 is not a positive number of "
        "seconds. Give, for example, 5"
    ) in message


def test_an_interval_not_below_the_timeout_is_refused(tmp_path: Path) -> None:
    message = settings_error(
        tmp_path,
        "run_monitoring:\n  heartbeat_interval_seconds: 20\n  heartbeat_timeout_seconds: 20\n",
    )

    assert (
        "at path run_monitoring:heartbeat_interval_seconds: 20 is not below "
        "run_monitoring:heartbeat_timeout_seconds (20), so the run monitor would take run "
        "workers for dead between two of their heartbeats. Give an interval well below the "
        "timeout, for example 5, or raise heartbeat_timeout_seconds"
    ) in message


def test_a_timeout_below_the_default_interval_says_the_interval_is_the_default(
    tmp_path: Path,
) -> None:
    message = settings_error(tmp_path, "run_monitoring:\n  heartbeat_timeout_seconds: 4\n")

    assert (
        "at path run_monitoring:heartbeat_interval_seconds: 5 (the default) is not below "
        "run_monitoring:heartbeat_timeout_seconds (4)"
    ) in message
    assert "for example 1, or raise heartbeat_timeout_seconds" in message


def test_launchers_beat_at_the_interval_of_knoll_yaml_unless_given_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "knoll.yaml").write_text("run_monitoring:\n  heartbeat_interval_seconds: 0.5\n")
    client = CodeServerClient(socket_path=str(tmp_path / "server.sock"))  # never asked here
    with Instance.get(home) as instance:
        assert RunLauncher(instance, client).heartbeat_interval == 0.5
        assert RunLauncher(instance, {"a": client}).heartbeat_interval == 0.5
        given = RunLauncher(instance, client, heartbeat_interval=2.0)
        assert given.heartbeat_interval == 2.0
