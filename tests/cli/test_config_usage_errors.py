"""Usage errors from files and folders the knoll command reads (knoll.yaml, workspace files, -d):
one line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import knoll


def one_line_usage_error(done: object) -> str:
    import subprocess

    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    line: str = lines[0]
    return line


@pytest.mark.parametrize(
    "command",
    [
        ["asset", "list", "-m", "project"],
        ["definitions", "validate", "-m", "project"],
        ["run", "launch", "-m", "project", "--job", "sums"],
        ["code-server", "start", "-m", "project", "--port", "0"],
    ],
)
def test_a_missing_working_directory_is_named(project: Path, command: list[str]) -> None:
    line = one_line_usage_error(knoll(*command, "-d", "no_such_folder", cwd=project))
    assert line == (
        f"error: -d/--working-directory 'no_such_folder' does not exist (looked in {project}). "
        "Give the folder to import the code from, or leave -d out to use the current directory."
    )


def test_a_working_directory_that_is_a_file_is_named(project: Path) -> None:
    line = one_line_usage_error(
        knoll("asset", "list", "-m", "project", "-d", "project.py", cwd=project)
    )
    assert line.startswith("error: -d/--working-directory 'project.py' is a file, not a folder")


@pytest.mark.parametrize(
    "command",
    [
        ["run", "launch", "--job", "sums"],
        ["run", "queue-worker"],
        ["code-server", "start", "--location", "x", "--port", "0"],
    ],
)
def test_a_missing_workspace_file_is_named(project: Path, command: list[str]) -> None:
    line = one_line_usage_error(knoll(*command, "-w", "nope.yaml", cwd=project))
    assert line == (
        f"error: workspace file 'nope.yaml' does not exist (looked in {project}); give the path "
        "to a workspace.yaml, or load one location with -m MODULE or -f FILE."
    )


def test_a_workspace_file_that_is_not_utf8_is_named(project: Path) -> None:
    (project / "workspace.yaml").write_bytes(b"load_from:\n  - python_module: caf\xe9\n")
    line = one_line_usage_error(
        knoll("run", "launch", "--job", "sums", "-w", "workspace.yaml", cwd=project)
    )
    assert line == (
        "error: workspace file 'workspace.yaml': the file is not UTF-8: byte 0xe9 at byte "
        "position 33 (line 2, column 23) cannot be decoded. Save the file as UTF-8."
    )


def test_a_storage_path_that_is_not_utf8_in_knoll_yaml_is_named(project: Path) -> None:
    settings = project / ".knoll" / "knoll.yaml"
    settings.parent.mkdir()
    settings.write_bytes(b'storage:\n  sqlite:\n    path: "data/r\xe9sum\xe9.db"\n')
    line = one_line_usage_error(knoll("asset", "list", "-m", "project", cwd=project))
    assert line == (
        f"error: instance settings {settings}: the file is not UTF-8: byte 0xe9 at byte "
        "position 36 (line 3, column 18) cannot be decoded. Save the file as UTF-8."
    )


def test_a_setting_from_the_environment_that_is_not_utf8_is_named(project: Path) -> None:
    import os

    settings = project / ".knoll" / "knoll.yaml"
    settings.parent.mkdir()
    settings.write_text("storage:\n  postgres:\n    url: {env: KNOLL_TEST_BAD_URL}\n")
    url = os.fsdecode(b"postgresql://knoll@127.0.0.1:5432/d\xffb")
    done = knoll("run", "list", cwd=project, env={"KNOLL_TEST_BAD_URL": url})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"error: Invalid config for instance settings {settings}: 1 error",
        "  - at path storage:postgres:url: environment variable 'KNOLL_TEST_BAD_URL' holds the "
        "byte 0xff at position 35, which is not UTF-8. Give a UTF-8 value (rename the file or "
        "folder if it is a path)",
    ]


def test_a_path_escape_that_is_not_utf8_is_named(project: Path) -> None:
    settings = project / ".knoll" / "knoll.yaml"
    settings.parent.mkdir()
    settings.write_text('compute_logs:\n  base_dir: "logs\\ud800"\n')
    done = knoll("run", "list", cwd=project)
    assert done.returncode == 2
    assert done.stderr.splitlines()[1] == (
        "  - at path compute_logs:base_dir: the value holds the character U+D800 at position 4, "
        "which is not UTF-8. Give a UTF-8 value (rename the file or folder if it is a path)"
    )
