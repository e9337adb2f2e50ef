"""Jobs of the code locations: ``/jobs`` (every location's, or one's) and one job with the
JSON Schema of its run config and a config scaffold (the defaults, and a placeholder for
each required value without one), as data and as YAML, read from the definitions snapshot."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from knoll._utils import did_you_mean
from knoll.codeloc.client import LocationSnapshot
from knoll.server.auth import Viewer
from knoll.server.context import Context, ServerContext
from knoll.server.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    cursor_value,
    page_of,
)
from knoll.server.problems import Problem, not_found

router = APIRouter(tags=["jobs"])

_PLACEHOLDERS: dict[str, Any] = {
    "string": "",
    "integer": 0,
    "number": 0.0,
    "boolean": False,
    "array": [],
    "object": {},
}


class JobSummary(BaseModel):
    """A job of a code location: asset jobs list the assets they select, op jobs their ops."""

    location: str
    name: str
    description: str | None
    kind: str
    tags: dict[str, str]
    asset_selection: list[str] | None
    ops: list[str] | None
    partitioned: bool


class JobDetail(JobSummary):
    """A job with what its run config may hold: ``run_config_schema`` (JSON Schema, draft
    2020-12), and ``config_scaffold`` / ``config_scaffold_yaml``, a run config to start from."""

    partitions: dict[str, Any] | None
    run_config_schema: dict[str, Any]
    config_scaffold: dict[str, Any]
    config_scaffold_yaml: str


def _summary(location: str, job: dict[str, Any]) -> JobSummary:
    selection = job.get("asset_selection")
    ops = job.get("ops")
    return JobSummary(
        location=location,
        name=job["name"],
        description=job.get("description"),
        kind=job.get("kind", "asset"),
        tags=dict(job.get("tags") or {}),
        asset_selection=["/".join(path) for path in selection] if selection is not None else None,
        ops=[op["handle"] for op in ops] if ops is not None else None,
        partitioned=job.get("partitions") is not None,
    )


def _jobs_of(snapshot: LocationSnapshot) -> list[dict[str, Any]]:
    data = snapshot.snapshot or {}
    return sorted(data.get("jobs", ()), key=lambda job: str(job["name"]))


def _loaded(context: ServerContext, location: str) -> LocationSnapshot:
    if location not in context.locations.names:
        names = context.locations.names
        raise not_found(
            "code location",
            location,
            f"{did_you_mean(location, names)} Locations: {', '.join(names) or 'none'}.".strip(),
        )
    snapshot = context.locations.snapshot(location)
    if snapshot.error is not None:
        raise Problem(
            503,
            "Code location did not load",
            f"code location {location!r} did not load: {snapshot.error.message}",
            object=location,
            fix="Fix the error in the location's code, then reload the location.",
        )
    return snapshot


@router.get("/jobs", response_model=Page[JobSummary])
def list_jobs(
    context: Context,
    principal: Viewer,
    location: Annotated[str | None, Query(description="Only this location's jobs.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[JobSummary]:
    """The jobs of every code location that loaded (or of ``location``), by location, then
    name."""
    after = cursor_value(cursor, "after", str)
    if location is not None:
        snapshots = [(location, _loaded(context, location))]
    else:
        # a location that did not load has no jobs to list
        every = ((name, context.locations.snapshot(name)) for name in context.locations.names)
        snapshots = [(name, snapshot) for name, snapshot in every if snapshot.ok]
    found = [
        _summary(name, job)
        for name, snapshot in snapshots
        for job in _jobs_of(snapshot)
        if after is None or f"{name}\n{job['name']}" > after
    ]
    return page_of(
        found, limit, lambda job: job, lambda job: {"after": f"{job.location}\n{job.name}"}
    )


@router.get("/jobs/{location}/{name}", response_model=JobDetail)
def get_job(context: Context, principal: Viewer, location: str, name: str) -> JobDetail:
    """One job of a code location, with the JSON Schema of its run config and a scaffold."""
    snapshot = _loaded(context, location)
    jobs = {str(job["name"]): job for job in _jobs_of(snapshot)}
    job = jobs.get(name)
    if job is None:
        raise not_found(
            "job",
            name,
            f"{did_you_mean(name, jobs)} Jobs of code location {location!r}: "
            f"{', '.join(jobs) or 'none'}.".strip(),
        )
    schema: dict[str, Any] = job.get("run_config_schema") or {"type": "object"}
    scaffold = config_scaffold(schema)
    return JobDetail(
        **_summary(location, job).model_dump(),
        partitions=job.get("partitions"),
        run_config_schema=schema,
        config_scaffold=scaffold,
        config_scaffold_yaml=_yaml(scaffold),
    )


def config_scaffold(schema: dict[str, Any]) -> dict[str, Any]:
    """A run config to start from, read from its JSON Schema: every default, and a
    placeholder of the right type for each required value without one."""
    found, value = _scaffold(schema, dict(schema.get("$defs") or {}), required=False)
    return value if found and isinstance(value, dict) else {}


def _scaffold(schema: dict[str, Any], defs: dict[str, Any], *, required: bool) -> tuple[bool, Any]:
    """Whether the scaffold holds something for ``schema``, and what."""
    defs = {**defs, **(schema.get("$defs") or {})}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs.get(ref.removeprefix("#/$defs/"))
        if isinstance(target, dict):
            return _scaffold(
                {**target, **{k: v for k, v in schema.items() if k != "$ref"}},
                defs,
                required=required,
            )
    if "default" in schema:
        return True, schema["default"]
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        needed = set(schema.get("required") or ())
        out: dict[str, Any] = {}
        for key, sub in properties.items():
            if isinstance(sub, dict):
                has, value = _scaffold(sub, defs, required=key in needed)
                if has:
                    out[key] = value
        if out or required:
            return True, out
        return False, None
    if not required:
        return False, None
    for branch in schema.get("anyOf") or ():
        if isinstance(branch, dict):
            return _scaffold(branch, defs, required=True)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return True, _PLACEHOLDERS.get(str(kind))


def _yaml(value: dict[str, Any]) -> str:
    import yaml  # only a job's page needs it

    if not value:
        return "{}\n"
    text: str = yaml.safe_dump(value, sort_keys=False, default_flow_style=False)
    return text
