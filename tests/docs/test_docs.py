"""Every ```python block in docs/ runs, each on its own, as a user would paste it."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[tuple[str, int, str]]:
    out = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            out.append((page.name, line, match.group(1)))
    return out


BLOCKS = _blocks()


def test_docs_have_examples() -> None:
    assert len(BLOCKS) >= 10, "the docs pages should carry runnable examples"


@pytest.mark.parametrize(
    ("page", "line", "code"), BLOCKS, ids=[f"{p}:{line}" for p, line, _ in BLOCKS]
)
def test_doc_example_runs(
    page: str, line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KNOLL_HOME", str(tmp_path / ".knoll"))
    name = f"docs_example_{page.removesuffix('.md').replace('-', '_')}_{line}"
    module = types.ModuleType(name)
    module.__file__ = str(tmp_path / f"{name}.py")
    sys.modules[name] = module
    try:
        exec(compile(code, f"{page}:{line}", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
