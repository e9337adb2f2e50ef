"""Loading a code location: a module or a file whose top level holds a ``Definitions``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from knoll._utils import did_you_mean
from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_spec import AssetSpec
from knoll.defs.check import AssetChecksDefinition
from knoll.defs.definitions import Definitions, LazyDefinitions
from knoll.defs.job import JobDefinition, UnresolvedAssetJobDefinition
from knoll.defs.schedule import ScheduleDefinition
from knoll.defs.sensor import SensorDefinition
from knoll.errors import DefinitionError, KnollError
from knoll.execution.origin import CodeOrigin, set_code_origin


class CodeLocationLoadError(KnollError):
    """A code location's module could not be imported; carries the formatted traceback."""

    def __init__(self, message: str, formatted_traceback: str) -> None:
        self.formatted_traceback = formatted_traceback
        super().__init__(message)


@dataclass(frozen=True)
class CodeLocationTarget:
    """Where a code location's code lives: a module name or a Python file."""

    module_name: str | None = None
    python_file: str | None = None
    working_directory: str | None = None
    attribute: str | None = None
    """The name of the module-level ``Definitions`` to load when the module holds several."""

    def describe(self) -> str:
        return f"module {self.module_name!r}" if self.module_name else f"file {self.python_file!r}"


# Imported by a multiprocess executor's forkserver along with the location, so that the
# workers it forks do not import them again (see knoll.execution.spawned).
WORKER_WARM_MODULES = (
    "knoll.instance",
    "knoll.instance._backends",
    "knoll.storage.sql",
    "knoll.execution.io_managers",
)


def load_definitions(target: CodeLocationTarget) -> Definitions:
    """Import the target and return its ``Definitions``.

    The module's top-level ``Definitions`` object is used (``defs`` by convention); if it has
    none, every asset, check, job, schedule and sensor at its top level is collected. The
    target is recorded as this process's code origin, from which multiprocess workers that
    are not forked from this process (forkserver, spawn) load the same definitions.
    """
    defs = _load(target)
    where = {
        "module_name": target.module_name,
        "python_file": os.path.abspath(target.python_file) if target.python_file else None,
        "working_directory": os.path.abspath(target.working_directory or os.getcwd()),
        "attribute": target.attribute,
    }
    origin = CodeOrigin(
        "knoll.codeloc.loader:load_origin_target", where, target.describe(), WORKER_WARM_MODULES
    )
    set_code_origin(origin, defs)
    return defs


def load_origin_target(target: Mapping[str, Any]) -> Definitions:
    """Load the location a ``CodeOrigin`` names (how multiprocess workers that do not fork
    from the run's process get its definitions back)."""
    return load_definitions(CodeLocationTarget(**target))


def _load(target: CodeLocationTarget) -> Definitions:
    module = _import(target)
    if target.attribute is not None:
        return _attribute(module, target, target.attribute)
    names = _definitions_names(module)
    if len(names) > 1:
        raise DefinitionError(
            f"{target.describe()} has {len(names)} Definitions objects ({', '.join(names)}); keep "
            "one at module level (merge others with Definitions.merge)."
        )
    if names:
        return _resolve(getattr(module, names[0]))
    return _collect(module, target)


def _definitions_names(module: ModuleType) -> list[str]:
    """Module-level ``Definitions`` and ``@definitions`` functions, by name."""
    return sorted(
        k for k, v in vars(module).items() if isinstance(v, (Definitions, LazyDefinitions))
    )


def _resolve(value: Definitions | LazyDefinitions) -> Definitions:
    return value() if isinstance(value, LazyDefinitions) else value


def _attribute(module: ModuleType, target: CodeLocationTarget, name: str) -> Definitions:
    value = getattr(module, name, None)
    if isinstance(value, (Definitions, LazyDefinitions)):
        return _resolve(value)
    names = _definitions_names(module)
    if value is None:
        raise DefinitionError(
            f"{target.describe()} has no attribute {name!r}.{did_you_mean(name, names)} Its "
            f"Definitions objects: {', '.join(names) or 'none'}."
        )
    raise DefinitionError(
        f"{target.describe()} attribute {name!r} is a {type(value).__name__}, not a Definitions; "
        f"name a module-level Definitions object or @definitions function "
        f"(found: {', '.join(names) or 'none'})."
    )


def _import(target: CodeLocationTarget) -> ModuleType:
    workdir = target.working_directory or os.getcwd()
    if workdir not in sys.path:
        sys.path.insert(0, workdir)
    try:
        if target.module_name:
            return importlib.import_module(target.module_name)
        if not target.python_file:
            raise DefinitionError("a code location needs a module (-m) or a file (-f).")
        path = Path(target.python_file)
        if not path.is_file():
            raise DefinitionError(
                f"file {target.python_file!r} does not exist (looked in {Path.cwd()})."
            )
        name = f"__knoll_location__{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise DefinitionError(f"cannot import {target.python_file!r} as Python code.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        parent = str(path.resolve().parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)
        spec.loader.exec_module(module)
        return module
    except KnollError:
        raise
    except Exception as exc:
        raise CodeLocationLoadError(
            f"error while importing {target.describe()}: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        ) from exc


def _collect(module: ModuleType, target: CodeLocationTarget) -> Definitions:
    assets: list[AssetsDefinition | AssetSpec] = []
    checks: list[AssetChecksDefinition] = []
    jobs: list[JobDefinition | UnresolvedAssetJobDefinition] = []
    schedules: list[ScheduleDefinition] = []
    sensors: list[SensorDefinition] = []
    for value in vars(module).values():
        if isinstance(value, (AssetsDefinition, AssetSpec)):
            assets.append(value)
        elif isinstance(value, AssetChecksDefinition):
            checks.append(value)
        elif isinstance(value, (JobDefinition, UnresolvedAssetJobDefinition)):
            jobs.append(value)
        elif isinstance(value, ScheduleDefinition):
            schedules.append(value)
        elif isinstance(value, SensorDefinition):
            sensors.append(value)
    if not (assets or jobs):
        raise DefinitionError(
            f"{target.describe()} defines no assets or jobs at its top level. Add "
            "`defs = Definitions(assets=[...], jobs=[...])` to it."
        )
    return Definitions(
        assets=assets, asset_checks=checks, jobs=jobs, schedules=schedules, sensors=sensors
    )
