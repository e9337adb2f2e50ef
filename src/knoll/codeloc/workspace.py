"""Workspaces: the code locations a deployment serves, read from ``workspace.yaml``.

The file has Dagster's ``load_from:`` shape::

    load_from:
      - python_module:
          module_name: sales.definitions
          working_directory: sales          # relative to this file (default: its folder)
          location_name: sales              # default: the module name
          executable_path: sales/.venv/bin/python   # a Python of its own (default: this one)
      - python_file: marketing/defs.py      # shorthand: just the path
      - python_package: {package_name: finance}

:func:`start_workspace` starts one code server process per location and stops them all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from knoll._utils import did_you_mean
from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.protocol import ServeOptions
from knoll.errors import CodeServerError, WorkspaceError

_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # kind: (the key naming the code, the other keys it takes)
    "python_module": (
        "module_name",
        ("working_directory", "location_name", "executable_path", "attribute"),
    ),
    "python_file": (
        "relative_path",
        ("working_directory", "location_name", "executable_path", "attribute"),
    ),
    "python_package": (
        "package_name",
        ("working_directory", "location_name", "executable_path", "attribute"),
    ),
}


@dataclass(frozen=True)
class LocationSpec:
    """One code location of a workspace: its name, its code, and the Python that runs it."""

    name: str
    target: CodeLocationTarget
    executable_path: str | None = None
    """The Python interpreter of the location's own environment; None: the current one."""

    def serve_options(
        self, *, socket_path: str | None = None, port: int | None = None
    ) -> ServeOptions:
        """The options of a code server process for this location."""
        return ServeOptions(
            location_name=self.name,
            module_name=self.target.module_name,
            python_file=self.target.python_file,
            working_directory=self.target.working_directory,
            attribute=self.target.attribute,
            socket_path=socket_path,
            port=port,
        )


@dataclass(frozen=True)
class Workspace:
    """The code locations of a deployment, in the order they were listed."""

    locations: tuple[LocationSpec, ...]
    path: Path | None = None
    """The ``workspace.yaml`` it was read from; None when built from ``-m``/``-f``."""

    def location_names(self) -> list[str]:
        return [location.name for location in self.locations]

    def get(self, name: str) -> LocationSpec:
        """The location named ``name``, or a ``WorkspaceError`` listing the ones there are."""
        for location in self.locations:
            if location.name == name:
                return location
        names = self.location_names()
        where = f"workspace {str(self.path)!r}" if self.path else "the workspace"
        raise WorkspaceError(
            f"{where} has no code location named {name!r}.{did_you_mean(name, names)} "
            f"Its locations: {', '.join(names) or 'none'}."
        )


def workspace_from_target(
    target: CodeLocationTarget, location_name: str | None = None
) -> Workspace:
    """A workspace of one location, as given by the ``-m``/``-f`` flags."""
    return Workspace((LocationSpec(location_name or _default_name(target), target),))


def load_workspace(path: str | os.PathLike[str]) -> Workspace:
    """Read a ``workspace.yaml``; relative paths in it are relative to the file's folder."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise WorkspaceError(
            f"workspace file {str(file)!r} does not exist (looked in {Path.cwd()}); give the path "
            "to a workspace.yaml, or load one location with -m MODULE or -f FILE."
        )
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise WorkspaceError(f"workspace file {str(file)!r} is not valid YAML: {exc}") from None
    return _parse(data, file)


def _parse(data: object, file: Path) -> Workspace:
    where = f"workspace file {str(file)!r}"
    example = "load_from:\n  - python_module: my_project.definitions"
    if not isinstance(data, Mapping) or "load_from" not in data:
        raise WorkspaceError(
            f"{where} must have a top-level 'load_from:' list, for example:\n{example}"
        )
    extra = sorted(str(k) for k in data if k != "load_from")
    if extra:
        raise WorkspaceError(
            f"{where} has an unknown top-level key {extra[0]!r}."
            f"{did_you_mean(extra[0], ['load_from'])} Only 'load_from' is read."
        )
    entries = data["load_from"]
    if not isinstance(entries, list) or not entries:
        raise WorkspaceError(
            f"{where}: 'load_from' must be a non-empty list, for example:\n{example}"
        )
    locations: list[LocationSpec] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        location = _entry(entry, f"{where}, entry load_from[{index}]", file.parent)
        if location.name in seen:
            raise WorkspaceError(
                f"{where}: entries load_from[{seen[location.name]}] and load_from[{index}] are "
                f"both named {location.name!r}; give one a different 'location_name'."
            )
        seen[location.name] = index
        locations.append(location)
    return Workspace(tuple(locations), file)


def _entry(entry: object, where: str, base: Path) -> LocationSpec:
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise WorkspaceError(
            f"{where} must be a mapping with exactly one of {', '.join(_KINDS)}, for example "
            "'- python_module: my_project.definitions'."
        )
    kind = str(next(iter(entry)))
    if kind not in _KINDS:
        raise WorkspaceError(
            f"{where}: unknown kind {kind!r}.{did_you_mean(kind, _KINDS)} Use one of "
            f"{', '.join(_KINDS)}."
        )
    main_key, optional = _KINDS[kind]
    body = entry[kind]
    if isinstance(body, str):
        body = {main_key: body}  # the shorthand `- python_module: name`
    if not isinstance(body, Mapping):
        raise WorkspaceError(
            f"{where}: {kind} must be a string or a mapping with '{main_key}', got "
            f"{type(body).__name__}."
        )
    allowed = (main_key, *optional)
    values: dict[str, str] = {}
    for key, value in body.items():
        if key not in allowed:
            raise WorkspaceError(
                f"{where}: {kind} has an unknown key {key!r}.{did_you_mean(str(key), allowed)} "
                f"It takes: {', '.join(allowed)}."
            )
        if not isinstance(value, str) or not value.strip():
            raise WorkspaceError(
                f"{where}: {kind}.{key} must be a non-empty string, got {value!r}."
            )
        values[key] = value
    if main_key not in values:
        raise WorkspaceError(f"{where}: {kind} needs '{main_key}', for example '{main_key}: ...'.")
    workdir = _resolve(base, values.get("working_directory")) or str(base.resolve())
    if kind == "python_file":
        target = CodeLocationTarget(
            python_file=_resolve(base, values[main_key]),
            working_directory=workdir,
            attribute=values.get("attribute"),
        )
    else:
        target = CodeLocationTarget(
            module_name=values[main_key],
            working_directory=workdir,
            attribute=values.get("attribute"),
        )
    executable = values.get("executable_path")
    if executable is not None and os.sep in executable:
        executable = _resolve(base, executable)  # a bare name is looked up on PATH
    name = values.get("location_name") or _default_name(target)
    return LocationSpec(name, target, executable)


def _resolve(base: Path, value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _default_name(target: CodeLocationTarget) -> str:
    if target.module_name:
        return target.module_name
    return Path(target.python_file or "location").stem


# --- processes ------------------------------------------------------------------------------


class WorkspaceProcesses:
    """One running code server process per location of a workspace, each on a unix socket.

    Use it as a context manager, or call :meth:`stop`. Every process stops with the workspace.
    """

    def __init__(self, workspace: Workspace, socket_dir: Path, owns_dir: bool) -> None:
        self.workspace = workspace
        self.socket_dir = socket_dir
        self._owns_dir = owns_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.clients: dict[str, CodeServerClient] = {}

    def client(self, name: str) -> CodeServerClient:
        """The client of the code server of location ``name``."""
        if name not in self.clients:
            self.workspace.get(name)  # raises the error naming the locations there are
        return self.clients[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.clients)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every server answers ``/health`` (the code may still be loading)."""
        deadline = time.monotonic() + timeout
        for name, client in self.clients.items():
            while True:
                process = self.processes[name]
                if process.poll() is not None:
                    raise CodeServerError(
                        f"code server for location {name!r} exited with code {process.returncode} "
                        "before answering; its output above says why."
                    )
                try:
                    client.health(timeout=5.0)  # importing code holds the GIL: be patient
                    break
                except CodeServerError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every server: SIGTERM, then SIGKILL for one that does not exit in ``timeout``."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._owns_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def __enter__(self) -> WorkspaceProcesses:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_workspace(
    workspace: Workspace,
    *,
    socket_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    wait: bool = True,
    timeout: float = 60.0,
) -> WorkspaceProcesses:
    """Start one code server per location, each in the location's own Python, on a unix socket.

    Sockets go in ``socket_dir`` (default: a new temporary folder, removed on stop). With
    ``wait``, return once every server answers; a location whose code fails to import still
    answers, serving its error.
    """
    owns = socket_dir is None
    folder = Path(tempfile.mkdtemp(prefix="knoll-") if socket_dir is None else socket_dir)
    folder.mkdir(parents=True, exist_ok=True)
    processes = WorkspaceProcesses(workspace, folder, owns)
    try:
        for index, location in enumerate(workspace.locations):
            # short names: a unix socket path must stay under ~100 bytes
            socket_path = str(folder / f"{index}.sock")
            processes.processes[location.name] = _spawn(location, socket_path, env)
            processes.clients[location.name] = CodeServerClient(
                socket_path=socket_path, location_name=location.name
            )
        if wait:
            processes.wait_ready(timeout)
    except BaseException:
        processes.stop()
        raise
    return processes


def _spawn(
    location: LocationSpec, socket_path: str, env: Mapping[str, str] | None
) -> subprocess.Popen[bytes]:
    options = location.serve_options(socket_path=socket_path)
    command = [location.executable_path or sys.executable, *options.command_args()]
    try:
        return subprocess.Popen(command, env=None if env is None else dict(env))
    except OSError as exc:
        raise CodeServerError(
            f"cannot start the code server for location {location.name!r} with "
            f"{command[0]!r}: {exc}. Check its 'executable_path' in the workspace file."
        ) from None
