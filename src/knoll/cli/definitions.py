"""``knoll definitions validate``: load a code location and report every error it has."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from knoll.cli._common import EXIT_USAGE, location_options, location_target

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions

T = TypeVar("T")


@click.group()
def definitions() -> None:
    """Check definitions."""


@definitions.command("validate")
@location_options
def definitions_validate(
    module_name: str | None, python_file: str | None, working_directory: str | None
) -> None:
    """Load a code location and print every error in its definitions at once.

    The assets are checked together, then each job, schedule and sensor on its own, so one
    broken job does not hide another.
    """
    from knoll.codeloc.loader import CodeLocationLoadError, load_definitions
    from knoll.errors import KnollError

    target = location_target(module_name, python_file, working_directory)
    try:
        defs = load_definitions(target)
    except CodeLocationLoadError as exc:
        click.echo(exc.formatted_traceback, err=True)
        _report([str(exc)], target.describe())
    except KnollError as exc:
        parts = _failed_definitions(exc)
        errors = collect_errors(parts) if parts is not None else []
        if not any(str(exc) in message for message in errors):
            errors.insert(0, str(exc))
        _report(errors, target.describe())
    graph = defs.get_asset_graph()
    _warn_of_near_misses(defs)
    click.echo(
        f"ok: {len(graph.keys)} assets, {len(graph.check_keys)} checks, {len(defs.job_defs)} jobs, "
        f"{len(defs.schedules)} schedules, {len(defs.sensors)} sensors"
    )


def _warn_of_near_misses(defs: Definitions) -> None:
    """A warning line per dependency on an undefined asset one edit away from a defined one."""
    from knoll.execution.external_deps import near_miss_message

    graph = defs.get_asset_graph()
    near = graph.near_misses()
    for node in graph.nodes():
        for parent in node.parents:
            if parent in near:
                owner = f"asset {node.key.to_user_string()!r}"
                click.echo(f"warning: {near_miss_message(owner, parent, near[parent])}", err=True)
    for check in graph.check_defs:
        for spec in check.specs:
            if spec.asset_key in near:
                text = near_miss_message(
                    check.describe(), spec.asset_key, near[spec.asset_key], verb="checks"
                )
                click.echo(f"warning: {text}", err=True)


def _report(errors: list[str], where: str) -> NoReturn:
    for message in errors:
        click.echo(f"error: {message}", err=True)
    count = len(errors)
    click.echo(f"{where}: {count} error{'s' if count != 1 else ''} in its definitions.", err=True)
    raise SystemExit(EXIT_USAGE)


def _failed_definitions(exc: BaseException) -> Definitions | None:
    """The ``Definitions`` whose constructor raised ``exc``, as far as it got.

    ``Definitions`` validates everything when it is built, so a module-level
    ``defs = Definitions(...)`` stops at its first error. Its frame is still in the traceback,
    and the constructor stores what it was given before validating it: that is enough to
    validate each part again on its own.
    """
    from knoll.defs.definitions import Definitions

    found: Definitions | None = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code is Definitions.__init__.__code__:
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, Definitions) and hasattr(candidate, "_declared_jobs"):
                found = candidate  # the innermost one (Definitions.merge builds another)
        tb = tb.tb_next
    return found


def collect_errors(parts: Definitions) -> list[str]:
    """Every error of a ``Definitions`` that failed to build: its assets together, then each
    job, schedule and sensor on its own."""
    from knoll.defs.definitions import Definitions
    from knoll.defs.job import UnresolvedAssetJobDefinition
    from knoll.errors import KnollError

    errors: list[str] = []

    def add(message: str) -> None:
        if message not in errors:
            errors.append(message)

    def attempt(build: Callable[[], T], owner: str = "") -> T | None:
        try:
            return build()
        except KnollError as exc:
            message = str(exc)
            # name the job, schedule or sensor when the message itself does not
            add(message if not owner or owner in message else f"{owner}: {message}")
            return None

    common: dict[str, Any] = {"resources": parts.resources, "executor": parts.executor}
    assets_ok = (
        attempt(partial(Definitions, parts.assets, parts.asset_checks, **common)) is not None
    )
    assets: dict[str, Any] = (
        {"assets": parts.assets, "asset_checks": parts.asset_checks} if assets_ok else {}
    )
    good_jobs: list[Any] = []
    for job in parts._declared_jobs:
        if isinstance(job, UnresolvedAssetJobDefinition) and not assets_ok:
            continue  # it selects from assets that do not build; their error is reported
        built = attempt(partial(Definitions, **assets, jobs=[job], **common), _owner("job", job))
        if built is not None:
            good_jobs.append(job)
    if len(good_jobs) > 1:
        attempt(partial(Definitions, **assets, jobs=good_jobs, **common))
    for schedule in parts.schedules:
        attempt(
            partial(Definitions, **assets, jobs=good_jobs, schedules=[schedule], **common),
            _owner("schedule", schedule),
        )
    for sensor in parts.sensors:
        attempt(
            partial(Definitions, **assets, jobs=good_jobs, sensors=[sensor], **common),
            _owner("sensor", sensor),
        )
    for kind, items in (("schedule", parts.schedules), ("sensor", parts.sensors)):
        names = [item.name for item in items]
        for name in sorted({n for n in names if names.count(n) > 1}):
            add(f"two {kind}s are named {name!r}; rename one.")
    return errors


def _owner(kind: str, item: object) -> str:
    name = getattr(item, "name", None)
    return f"{kind} {name!r}" if isinstance(name, str) else ""
