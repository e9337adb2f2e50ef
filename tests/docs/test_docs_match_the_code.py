"""The docs describe only what exists: every `knoll ...` command they show is a command of
the click group, and the README's Layout lists every package and module of src/knoll."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from knoll.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PACKAGE = ROOT / "src" / "knoll"
FENCE = re.compile(r"^```([a-z]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
SPAN = re.compile(r"`([^`\n]+)`")
SHELL = {"", "bash", "shell", "sh", "console"}


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _shown_commands(text: str) -> list[str]:
    """Each `knoll ...` command line of the text: in shell blocks and inline code spans."""
    found: list[str] = []
    for match in FENCE.finditer(text):
        if match.group(1) in SHELL:
            for line in match.group(2).splitlines():
                line = line.strip().removeprefix("$ ")
                if line.startswith("knoll "):
                    found.append(line)
    outside = FENCE.sub("", text)
    found.extend(span for span in SPAN.findall(outside) if span.startswith("knoll "))
    return found


def _unknown_part(line: str) -> str | None:
    """The first word of ``knoll ...`` that is not a command of the group it follows."""
    command: click.Command = main
    for word in line.split()[1:]:
        if not isinstance(command, click.Group) or word.startswith("-"):
            return None
        sub = command.commands.get(word)
        if sub is None:
            return word
        command = sub
    return None


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_command_a_page_shows_exists(page: Path) -> None:
    unknown = [
        f"{line!r} ({word!r} is not a command)"
        for line in _shown_commands(page.read_text())
        if (word := _unknown_part(line)) is not None
    ]
    assert not unknown, f"{_page_id(page)} shows commands knoll does not have: {unknown}"


@pytest.mark.parametrize("name", ["dev"])
def test_no_page_shows_knoll_dev_while_it_does_not_exist(name: str) -> None:
    if name in main.commands:
        pytest.skip(f"`knoll {name}` exists")
    pages = [
        _page_id(page)
        for page in PAGES
        if any(line.split()[1] == name for line in _shown_commands(page.read_text()))
    ]
    assert not pages, f"`knoll {name}` is not a command, but these pages show it: {pages}"


def _layout_entries() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Layout") :]
    block = FENCE.search(section)
    assert block is not None, "README's Layout section has no code block"
    return {line.split()[0] for line in block.group(2).splitlines() if line.startswith("  ")}


def test_the_readme_layout_lists_every_package_and_module() -> None:
    entries = _layout_entries()
    names = {
        f"{path.name}/" if path.is_dir() else path.name
        for path in PACKAGE.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or path.suffix == ".py"
    }
    missing = sorted(names - entries)
    assert not missing, f"README.md's Layout does not list {missing}: add a line for each"
    stale = sorted(entries - names)
    assert not stale, f"README.md's Layout lists {stale}, which src/knoll does not have"


def test_the_checks_catch_what_they_are_for() -> None:
    assert _unknown_part("knoll daemon start") == "start"
    assert _unknown_part("knoll dev --workspace w.yaml") == "dev"
    assert _unknown_part("knoll run monitro --once") == "monitro"
    assert _unknown_part("knoll run monitor --once") is None
    assert _unknown_part("knoll instance pool set warehouse 2") is None
    text = "Run `knoll dev` here.\n\n```bash\nknoll asset list\n```\n\n```text\nknoll x\n```\n"
    assert _shown_commands(text) == ["knoll asset list", "knoll dev"]
