"""Reading workspace.yaml, and starting one code server per location in its own Python."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from knoll.codeloc.loader import CodeLocationTarget, load_definitions
from knoll.codeloc.workspace import load_workspace, start_workspace, workspace_from_target
from knoll.errors import DefinitionError, WorkspaceError

PROJECT = Path(__file__).parent / "projects" / "two_locations"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workspace.yaml"
    path.write_text(text)
    return path


def test_every_kind_of_entry_is_read_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
load_from:
  - python_module:
      module_name: sales.definitions
      working_directory: sales
      location_name: sales
      executable_path: sales/.venv/bin/python
  - python_file: marketing/defs.py
  - python_package: {package_name: finance, attribute: finance_defs}
  - python_module: plain_module
""",
    )
    workspace = load_workspace(path)
    assert workspace.location_names() == ["sales", "defs", "finance", "plain_module"]
    sales, marketing, finance, plain = workspace.locations
    assert sales.target == CodeLocationTarget(
        module_name="sales.definitions", working_directory=str(tmp_path / "sales")
    )
    assert sales.executable_path == str(tmp_path / "sales" / ".venv" / "bin" / "python")
    assert marketing.target.python_file == str(tmp_path / "marketing" / "defs.py")
    assert marketing.target.working_directory == str(tmp_path)
    assert marketing.executable_path is None
    assert finance.target.module_name == "finance"
    assert finance.target.attribute == "finance_defs"
    assert plain.target.working_directory == str(tmp_path)
    assert workspace.get("finance") is finance


def test_one_location_from_the_flags() -> None:
    workspace = workspace_from_target(CodeLocationTarget(python_file="jobs/etl.py"))
    assert workspace.location_names() == ["etl"]
    assert workspace.path is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "load_frm: []",
            r"at the root: unknown field 'load_frm'\. Did you mean 'load_from'\?\n"
            r".*at the root: missing required field 'load_from' .* Add it, for example: "
            r"load_from: \[\{python_module: ",
        ),
        (
            "load_from: []\nextra: 1",
            r"at the root: unknown field 'extra'\. Remove it; the known fields are 'load_from'",
        ),
        ("load_from: []", r"at path load_from: the list is empty\. List a location: load_from:"),
        (
            "load_from:\n  - python_modul: x",
            r"at path load_from\[0\]: unknown field 'python_modul'\. Did you mean 'python_module'",
        ),
        (
            "load_from:\n  - python_module: {module_nam: x}",
            r"at path load_from\[0\]:python_module: unknown field 'module_nam'\. "
            r"Did you mean 'module_name'\?",
        ),
        (
            "load_from:\n  - python_file: {location_name: x}",
            r"at path load_from\[0\]:python_file: missing required field 'relative_path' \(str\)\. "
            r"Add it",
        ),
        (
            "load_from:\n  - python_module: {module_name: 3}",
            r"at path load_from\[0\]:python_module:module_name: expected str, got int 3\. "
            r"Quote it",
        ),
        (
            "load_from:\n  - python_module: ''",
            r"at path load_from\[0\]:python_module:module_name: expected a non-empty string, "
            r"got ''\. Give the module name",
        ),
        (
            "load_from:\n  - python_module: a\n  - python_file: {relative_path: a.py, "
            "location_name: a}",
            r"entries load_from\[0\] and load_from\[1\] are both named 'a'; "
            r"give one a different 'location_name'",
        ),
        (
            "load_from:\n  - [a, b]",
            r"at path load_from\[0\]: expected a dict with exactly one of 'python_module', "
            r"'python_file', 'python_package', got list",
        ),
        (
            "load_from:\n  - python_module: a\n    python_file: b",
            r"at path load_from\[0\]: expected a dict with exactly one of .*, got 2 keys",
        ),
        (
            "load_from: 3",
            r"at path load_from: expected list\[.*\], got int 3\. Write a list, for example: "
            r"\[\{python_module: ",
        ),
        ("load_from: [", r"line 1, column \d+: not valid YAML: .*Fix the YAML syntax there"),
    ],
)
def test_a_malformed_workspace_names_the_file_the_entry_and_the_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(WorkspaceError, match=message) as info:
        load_workspace(path)
    assert str(path) in str(info.value)


def test_a_missing_workspace_file_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"workspace file '.*nope.yaml' does not exist"):
        load_workspace(tmp_path / "nope.yaml")


def test_an_unknown_location_is_suggested() -> None:
    workspace = load_workspace(PROJECT / "workspace.yaml")
    with pytest.raises(
        WorkspaceError, match=r"no code location named 'sale'\. Did you mean 'sales'\?"
    ):
        workspace.get("sale")


def test_a_location_with_its_own_python_executable_is_served_by_it(tmp_path: Path) -> None:
    # The test's own interpreter stands in for a location's virtual environment: what matters
    # is that the server process runs the executable the workspace names.
    workspace_file = write(
        tmp_path,
        f"""
load_from:
  - python_module:
      module_name: sales_defs
      working_directory: {PROJECT / "sales"}
      location_name: sales
      executable_path: {sys.executable}
""",
    )
    with start_workspace(load_workspace(workspace_file), timeout=60) as processes:
        assert processes.processes["sales"].args[0] == sys.executable  # type: ignore[index]
        assert processes.client("sales").snapshot().ok
    assert processes.processes["sales"].returncode == 0


def test_a_missing_executable_is_reported_with_the_location(tmp_path: Path) -> None:
    workspace_file = write(
        tmp_path,
        "load_from:\n  - python_module: {module_name: m, executable_path: ./venv/bin/python}",
    )
    from knoll.errors import CodeServerError

    with pytest.raises(
        CodeServerError, match=r"location 'm' with '.*venv/bin/python'.*executable_path"
    ):
        start_workspace(load_workspace(workspace_file))


def test_the_attribute_picks_one_definitions_object(tmp_path: Path) -> None:
    (tmp_path / "two_defs_mod.py").write_text(
        "from knoll import Definitions, asset\n\n"
        "@asset\ndef a() -> int:\n    return 1\n\n"
        "first = Definitions(assets=[a])\nsecond = Definitions()\n"
    )
    target = CodeLocationTarget(python_file=str(tmp_path / "two_defs_mod.py"), attribute="first")
    assert len(load_definitions(target).assets) == 1
    wrong = CodeLocationTarget(python_file=str(tmp_path / "two_defs_mod.py"), attribute="frist")
    with pytest.raises(DefinitionError, match=r"no attribute 'frist'\. Did you mean 'first'\?"):
        load_definitions(wrong)


def test_a_workspace_path_that_is_a_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(
        WorkspaceError,
        match=r"workspace file '.*' is a folder, not a file; give the path to the "
        r"workspace\.yaml in it\.",
    ):
        load_workspace(tmp_path)


def test_every_mistake_in_a_workspace_is_listed_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "load_from:\n  - python_module: {module_name: a, location: x}\n  - python_file: 3\n",
    )
    with pytest.raises(WorkspaceError) as info:
        load_workspace(path)
    assert str(info.value).splitlines() == [
        f"workspace file {str(path)!r} is not valid: 2 errors",
        "  - at path load_from[0]:python_module: unknown field 'location'. Did you mean "
        "'location_name'?",
        '  - at path load_from[1]:python_file: expected str or a dict like {relative_path: "..."}, '
        "got int 3",
    ]


def test_a_code_server_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    """A daemon or command killed with SIGKILL cannot stop its code servers: they notice that
    their parent is gone and stop themselves."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    (tmp_path / "tiny.py").write_text("from knoll import Definitions\ndefs = Definitions()\n")
    script = textwrap.dedent(
        f"""
        import sys
        import time
        from knoll.codeloc.loader import CodeLocationTarget
        from knoll.codeloc.workspace import start_workspace, workspace_from_target

        target = CodeLocationTarget(python_file={str(tmp_path / "tiny.py")!r})
        processes = start_workspace(
            workspace_from_target(target, "tiny"), timeout=60, stdout=sys.stderr
        )
        print(processes.processes["tiny"].pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    server_pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.communicate(timeout=60)
    deadline = time.monotonic() + 60  # only to avoid a hang
    while time.monotonic() < deadline:
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(server_pid, signal.SIGKILL)
    raise AssertionError(f"code server {server_pid} outlived the process that started it")
