"""Every example test runs with its own ``KNOLL_HOME``, so nothing lands in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def knoll_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "knoll_home"
    monkeypatch.setenv("KNOLL_HOME", str(home))
    return home
