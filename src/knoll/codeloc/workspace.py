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
from typing import IO, Any

from knoll._utils import did_you_mean
from knoll._yaml import read_yaml_file
from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.protocol import ServeOptions
from knoll.defs.config_schema import (
    Array,
    ConfigPath,
    Field,
    ScalarUnion,
    Selector,
    Shape,
    check_config,
    format_path,
)
from knoll.errors import CodeServerError, ConfigFileError, WorkspaceError

_MAIN_KEYS = {
    # kind: the key naming the code; the shorthand `- kind: value` gives it
    "python_module": "module_name",
    "python_file": "relative_path",
    "python_package": "package_name",
}
_LOCATION_KEYS = ("working_directory", "location_name", "executable_path", "attribute")


def _location_schema(main_key: str) -> ScalarUnion:
    fields: dict[str, Field] = {main_key: Field(str, description="the code to load")}
    fields.update({key: Field(str, is_required=False) for key in _LOCATION_KEYS})
    return ScalarUnion(str, Shape(fields))


WORKSPACE_SCHEMA = Shape(
    {
        "load_from": Field(
            Array(Selector({kind: _location_schema(key) for kind, key in _MAIN_KEYS.items()})),
            description="the code locations, in order",
        )
    },
    description="workspace.yaml: the code locations a deployment serves",
)
_EXAMPLE = "load_from: [{python_module: my_project.definitions}]"


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
    file = Path(path)
    where = f"workspace file {str(file)!r}"
    if file.is_dir():
        raise WorkspaceError(
            f"{where} is a folder, not a file; give the path to the workspace.yaml in it."
        )
    try:
        data = read_yaml_file(file, where)
    except FileNotFoundError:
        raise WorkspaceError(
            f"{where} does not exist (looked in {Path.cwd()}); give the path to a "
            "workspace.yaml, or load one location with -m MODULE or -f FILE."
        ) from None
    except ConfigFileError as exc:
        raise WorkspaceError(str(exc)) from None
    return _parse(data, file)


def _parse(data: object, file: Path) -> Workspace:
    checked = check_config(WORKSPACE_SCHEMA, data)
    errors = list(checked.errors)
    locations: list[LocationSpec] = []
    if not errors:
        entries = checked.value["load_from"]
        if not entries:
            errors.append(f"at path load_from: the list is empty. List a location: {_EXAMPLE}")
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            location = _entry(entry, ("load_from", index), file.parent, errors)
            if location is None:
                continue
            if location.name in seen:
                errors.append(
                    f"at path load_from[{index}]: entries load_from[{seen[location.name]}] and "
                    f"load_from[{index}] are both named {location.name!r}; give one a different "
                    "'location_name'"
                )
            seen.setdefault(location.name, index)
            locations.append(location)
    if errors:
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        lines = [f"workspace file {str(file)!r} is not valid: {count}", *errors]
        raise WorkspaceError("\n  - ".join(lines))
    return Workspace(tuple(locations), file)


def _entry(
    entry: Mapping[str, Any], path: ConfigPath, base: Path, errors: list[str]
) -> LocationSpec | None:
    """The location of one checked ``load_from`` entry, or None after adding its errors."""
    kind, body = next(iter(entry.items()))
    main_key = _MAIN_KEYS[kind]
    values: dict[str, str] = {main_key: body} if isinstance(body, str) else dict(body)
    problems = len(errors)
    for key, value in values.items():
        if not value.strip():
            errors.append(
                f"{format_path((*path, kind, key))}: expected a non-empty string, got {value!r}. "
                f"Give the {key.replace('_', ' ')}"
                + ("" if key == main_key else ", or remove the key")
            )
    if len(errors) > problems:
        return None
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
    stdout: IO[Any] | None = None,
) -> WorkspaceProcesses:
    """Start one code server per location, each in the location's own Python, on a unix socket.

    Sockets go in ``socket_dir`` (default: a new temporary folder, removed on stop). With
    ``wait``, return once every server answers; a location whose code fails to import still
    answers, serving its error. The servers print to ``stdout`` (default: this process's);
    commands whose standard output is their result give ``sys.stderr``.
    """
    owns = socket_dir is None
    folder = Path(tempfile.mkdtemp(prefix="knoll-") if socket_dir is None else socket_dir)
    folder.mkdir(parents=True, exist_ok=True)
    processes = WorkspaceProcesses(workspace, folder, owns)
    try:
        for index, location in enumerate(workspace.locations):
            # short names: a unix socket path must stay under ~100 bytes
            socket_path = str(folder / f"{index}.sock")
            processes.processes[location.name] = _spawn(location, socket_path, env, stdout)
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
    location: LocationSpec,
    socket_path: str,
    env: Mapping[str, str] | None,
    stdout: IO[Any] | None,
) -> subprocess.Popen[bytes]:
    options = location.serve_options(socket_path=socket_path)
    command = [location.executable_path or sys.executable, *options.command_args()]
    try:
        return subprocess.Popen(command, env=None if env is None else dict(env), stdout=stdout)
    except OSError as exc:
        raise CodeServerError(
            f"cannot start the code server for location {location.name!r} with "
            f"{command[0]!r}: {exc}. Check its 'executable_path' in the workspace file."
        ) from None
