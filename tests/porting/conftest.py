"""Porting Dagster projects: rewrite their imports, then load them the way knoll loads code.

Each project under ``projects/`` is Dagster code (``import dagster as dg``). ``ported`` turns a
project's source into knoll code by the one change docs/porting.md describes, writes it into
a fresh folder and loads it with knoll's code-location loader: a file as ``knoll asset
materialize -f`` would, a package (a folder) by its ``definitions`` module, as ``-m`` would.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from knoll import Definitions
from knoll.codeloc.loader import CodeLocationTarget, load_definitions
from knoll.execution.origin import code_origin, set_code_origin

PROJECTS = Path(__file__).parent / "projects"

_IMPORTS = (
    (re.compile(r"^(\s*)import dagster as (\w+)$", re.M), r"\1import knoll.compat.dagster as \2"),
    (re.compile(r"^(\s*)import dagster$", re.M), r"\1import knoll.compat.dagster as dagster"),
    (re.compile(r"^(\s*)from dagster import ", re.M), r"\1from knoll.compat.dagster import "),
)


def port_source(source: str) -> str:
    """Dagster source with its ``dagster`` imports pointed at ``knoll.compat.dagster``."""
    for pattern, replacement in _IMPORTS:
        source = pattern.sub(replacement, source)
    if re.search(r"^\s*(import|from) dagster\b", source, re.M):
        raise AssertionError("an import of dagster was left: extend port_source")
    return source


@dataclass
class Ported:
    module: ModuleType
    defs: Definitions
    folder: Path


@pytest.fixture
def ported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Ported]]:
    """Port and load a project by name; ``PORTING_OUTPUT_DIR`` is a fresh folder for it."""
    loaded: list[str] = []
    saved_origin = code_origin()
    monkeypatch.setenv("PORTING_OUTPUT_DIR", str(tmp_path / "output"))
    (tmp_path / "output").mkdir()

    def load(name: str) -> Ported:
        folder = tmp_path / "project"
        folder.mkdir(exist_ok=True)
        if (PROJECTS / name).is_dir():
            return _load_package(name, folder)
        path = folder / f"{name}.py"
        path.write_text(port_source((PROJECTS / f"{name}.py").read_text()))
        defs = load_definitions(CodeLocationTarget(python_file=str(path)))
        module_name = f"__knoll_location__{name}"
        loaded.append(module_name)
        return Ported(sys.modules[module_name], defs, tmp_path / "output")

    def _load_package(name: str, folder: Path) -> Ported:
        for source in (PROJECTS / name).rglob("*.py"):
            target = folder / source.relative_to(PROJECTS)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(port_source(source.read_text()))
        monkeypatch.syspath_prepend(str(folder))
        loaded.append(name)  # the package and, by prefix, its modules
        module_name = f"{name}.definitions"
        defs = load_definitions(CodeLocationTarget(module_name=module_name))
        return Ported(sys.modules[module_name], defs, tmp_path / "output")

    yield load
    # loading records the project as this process's code origin: leave no trace for others
    set_code_origin(saved_origin)
    for module_name in [m for m in sys.modules if m.startswith(tuple(loaded))]:
        del sys.modules[module_name]
