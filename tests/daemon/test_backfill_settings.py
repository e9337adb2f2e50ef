"""``backfills:`` in knoll.yaml: the interval of the daemon's backfills duty."""

from __future__ import annotations

from pathlib import Path

import pytest

from knoll.errors import InvalidConfigError
from knoll.instance.config import parse_settings


def test_the_interval_defaults_to_five_seconds(tmp_path: Path) -> None:
    settings = parse_settings("", tmp_path, tmp_path / "knoll.yaml")
    assert settings.backfills.interval_seconds == 5.0
    given = parse_settings("backfills:\n  interval_seconds: 0.5\n", tmp_path, tmp_path / "k.yaml")
    assert given.backfills.interval_seconds == 0.5


def test_an_interval_that_is_not_positive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidConfigError, match=r"at path backfills:interval_seconds: 0\.0 is not"
    ):
        parse_settings("backfills:\n  interval_seconds: 0\n", tmp_path, tmp_path / "knoll.yaml")
