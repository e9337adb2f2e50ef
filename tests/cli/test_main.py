"""The command itself: help, version, and how little it imports to show them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import knoll

HEAVY = ("sqlalchemy", "alembic", "psycopg", "pydantic", "yaml", "rich", "asyncio")

PROBE = """
import sys
from knoll.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    assert exit.code == 0, exit.code
print(sorted(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["asset", "--help"],
        ["asset", "materialize", "--help"],
        ["run", "logs", "--help"],
        ["instance", "--help"],
        ["definitions", "validate", "--help"],
    ],
)
def test_help_does_not_import_heavy_modules(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"


def test_help_lists_the_command_groups(tmp_path: Path) -> None:
    done = knoll("--help", cwd=tmp_path)
    assert done.returncode == 0
    for group in ("asset", "job", "run", "definitions", "instance"):
        assert f"  {group} " in done.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    done = knoll("rnu", "list", cwd=tmp_path)
    assert done.returncode == 2
    assert "No such command 'rnu'" in done.stderr
