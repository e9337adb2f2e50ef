"""``run_retries:``, ``freshness:`` and the retention duty's keys of ``retention:`` in knoll.yaml:
defaults, values, and the errors of bad values."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from knoll.errors import InvalidConfigError
from knoll.instance.config import (
    FreshnessSettings,
    InstanceSettings,
    RetentionDutySettings,
    RunRetrySettings,
    parse_settings,
)


def _parse(text: str, tmp_path: Path) -> InstanceSettings:
    return parse_settings(text, tmp_path, tmp_path / "knoll.yaml")


def _errors(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(InvalidConfigError) as raised:
        _parse(text, tmp_path)
    return str(raised.value).splitlines()[1:]


def test_defaults_retry_nothing_and_prune_nothing(tmp_path: Path) -> None:
    settings = _parse("", tmp_path)
    assert settings.run_retries == RunRetrySettings(
        enabled=False, max_retries=1, retry_on_asset_or_op_failure=True
    )
    assert settings.retention_duty == RetentionDutySettings(
        interval_seconds=None,
        ticks_keep_last=100,
        heartbeats_older_than=datetime.timedelta(days=1),
    )


def test_the_settings_are_read(tmp_path: Path) -> None:
    settings = _parse(
        "run_retries:\n  enabled: true\n  max_retries: 3\n  retry_on_asset_or_op_failure: false\n"
        "retention:\n  older_than: 30d\n  interval_seconds: 3600\n  ticks_keep_last: 5\n"
        "  heartbeats_older_than: 12h\n",
        tmp_path,
    )
    assert settings.run_retries == RunRetrySettings(True, 3, False)
    assert settings.retention == datetime.timedelta(days=30)  # as before
    assert settings.retention_duty == RetentionDutySettings(3600.0, 5, datetime.timedelta(hours=12))


def test_bad_values_are_named_with_their_path_and_the_fix(tmp_path: Path) -> None:
    errors = _errors(
        "run_retries:\n  max_retries: -1\nretention:\n  older_than: 1d\n"
        "  interval_seconds: 0\n  ticks_keep_last: -3\n",
        tmp_path,
    )
    assert errors == [
        "  - at path run_retries:max_retries: -1 is negative. Give 0 (never retry) or more, "
        "for example 3",
        "  - at path retention:interval_seconds: 0.0 is not a positive number of seconds. Give, "
        "for example, 3600, or leave it out so that the daemon does not prune",
        "  - at path retention:ticks_keep_last: -3 is negative. Give 0 or more ticks to keep of "
        "each schedule and sensor, for example 100",
    ]


def test_an_interval_without_an_age_is_refused(tmp_path: Path) -> None:
    assert _errors("retention:\n  interval_seconds: 60\n", tmp_path) == [
        "  - at path retention:interval_seconds: the daemon would prune every 60s, but "
        "retention:older_than is not set, so nothing is old enough. Set older_than, for example "
        "'30d', or leave interval_seconds out"
    ]


def test_a_wrong_type_is_reported_by_the_schema(tmp_path: Path) -> None:
    assert _errors("run_retries:\n  enabled: maybe\n  max_retries: two\n", tmp_path) == [
        "  - at path run_retries:enabled: expected bool, got str 'maybe'",
        "  - at path run_retries:max_retries: expected an integer or {env: VAR_NAME}, got str "
        "'two'",
    ]


def test_freshness_settings(tmp_path: Path) -> None:
    assert _parse("", tmp_path).freshness == FreshnessSettings(False, 30.0)
    on = _parse("freshness:\n  enabled: true\n  interval_seconds: 5\n", tmp_path)
    assert on.freshness == FreshnessSettings(True, 5.0)
    assert _errors("freshness:\n  interval_seconds: -1\n", tmp_path) == [
        "  - at path freshness:interval_seconds: -1.0 is not a positive number of seconds. "
        "Give, for example, 30"
    ]
