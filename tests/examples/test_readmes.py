"""Every ```python block of an example's README runs, each on its own, from another folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

BLOCKS = [
    (readme.parent.name, match.group(1))
    for readme in sorted(EXAMPLES.glob("*/README.md"))
    for match in BLOCK.finditer(readme.read_text())
]


def test_every_example_has_a_readme() -> None:
    packages = {p.parent.name for p in EXAMPLES.glob("*/__init__.py")}
    assert packages == {"cereal", "snow_report", "halibut"}
    assert all((EXAMPLES / name / "README.md").is_file() for name in packages)


@pytest.mark.parametrize(("example", "code"), BLOCKS, ids=[name for name, _ in BLOCKS])
def test_readme_block_runs(
    example: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"examples/{example}/README.md", "exec"), {"__name__": "readme"})
