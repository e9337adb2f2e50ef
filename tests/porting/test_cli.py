"""A ported project runs from the `knoll` command into a persisted instance."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import knoll
from tests.porting.conftest import PROJECTS, port_source


def test_materialize_a_ported_project_and_read_its_logs(tmp_path: Path) -> None:
    source = (PROJECTS / "external_specs.py").read_text()
    (tmp_path / "definitions.py").write_text(port_source(source))
    done = knoll("asset", "materialize", "-f", "definitions.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = knoll("asset", "list", "-f", "definitions.py", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    states = {
        line.split()[0]: "never" if line.endswith("never materialized") else line.split()[-5]
        for line in listed.stdout.splitlines()
    }
    # the external asset is listed, never materialized; the two others by the one run
    assert states == {
        "landing_files": "never",
        "staged_files": "materialized",
        "wh/file_index": "materialized",
    }
    logs = knoll("run", "logs", "--last", cwd=tmp_path)
    rows = [line.split() for line in logs.stdout.splitlines() if "LOG_MESSAGE" in line]
    assert [(row[1], row[3], " ".join(row[4:])) for row in rows] == [
        ("INFO", "staged_files", "staged the landing files")
    ]
