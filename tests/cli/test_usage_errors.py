"""Usage errors are one `error:` line on stderr and exit 2, never a traceback or a usage
screen: `knoll code-server start` with a port or socket it cannot listen on, and click's own
errors (an unknown option, a value of the wrong type) of any command."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import knoll

DEFS = "from knoll import Definitions, asset\n\n@asset\ndef one() -> int:\n    return 1\n\n" + (
    "defs = Definitions(assets=[one])\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "small.py").write_text(DEFS)
    return tmp_path


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_a_port_out_of_range_is_refused(project: Path, port: str) -> None:
    done = knoll("code-server", "start", "-m", "small", "--port", port, cwd=project)

    assert done.returncode == 2
    assert _one_error_line(done.stderr) == (
        f"error: --port {port} is not a TCP port: give a port from 1 to 65535 that no other "
        "process listens on, or --port 0 to let the system pick a free one."
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_in_use_is_named(project: Path, busy_port: int) -> None:
    done = knoll("code-server", "start", "-m", "small", "--port", str(busy_port), cwd=project)

    assert done.returncode == 2
    line = _one_error_line(done.stderr)
    assert f"cannot listen on 127.0.0.1:{busy_port}" in line
    assert "Pick another --port (0 picks a free one)." in line


def test_a_port_that_is_not_a_number_is_one_line(project: Path) -> None:
    done = knoll("code-server", "start", "-m", "small", "--port", "http", cwd=project)

    assert done.returncode == 2
    assert _one_error_line(done.stderr) == (
        "error: Invalid value for '--port': 'http' is not a valid integer. "
        "See `knoll code-server start --help`."
    )


def test_a_socket_in_a_missing_folder_names_the_folder(project: Path) -> None:
    path = project / "missing" / "dir" / "x.sock"

    done = knoll("code-server", "start", "-m", "small", "--socket", str(path), cwd=project)

    assert done.returncode == 2
    folder = project / "missing" / "dir"
    assert _one_error_line(done.stderr) == (
        f"error: --socket {path}: its folder {folder} does not exist. Create the folder first "
        f"(mkdir -p {folder}), or give a socket path in a folder that exists."
    )


def test_a_socket_under_a_file_is_refused(project: Path) -> None:
    done = knoll("code-server", "start", "-m", "small", "--socket", "small.py/x.sock", cwd=project)

    assert done.returncode == 2
    assert _one_error_line(done.stderr) == (
        "error: --socket small.py/x.sock: small.py is a file, not a folder. Give a socket path "
        "in a folder."
    )


def test_a_socket_path_too_long_is_refused(project: Path) -> None:
    path = str(project / ("s" * 120 + ".sock"))

    done = knoll("code-server", "start", "-m", "small", "--socket", path, cwd=project)

    assert done.returncode == 2
    line = _one_error_line(done.stderr)
    assert f"--socket {path} is {len(path.encode())} bytes long" in line
    assert "Give a shorter path." in line


def test_an_unknown_option_is_one_line_with_the_help_command(tmp_path: Path) -> None:
    done = knoll("run", "show", "--lats", cwd=tmp_path)

    assert done.returncode == 2
    line = _one_error_line(done.stderr)
    assert line.startswith("error: No such option '--lats'")
    assert line.endswith("See `knoll run show --help`.")
