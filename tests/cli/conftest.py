from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import PROJECT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding ``project.py`` (assets, a check, partitions, jobs)."""
    (tmp_path / "project.py").write_text(PROJECT)
    return tmp_path
