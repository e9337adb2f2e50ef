"""``Definitions`` attributes hold what was passed, as Dagster's do; resolved jobs are separate."""

from __future__ import annotations

from knoll import (
    AssetSpec,
    Definitions,
    ScheduleDefinition,
    asset,
    define_asset_job,
    job,
    op,
)
from knoll.defs.asset import AssetsDefinition
from knoll.defs.job import JobDefinition, UnresolvedAssetJobDefinition


@asset
def invoices() -> list[int]:
    return [120, 80]


@op
def ping() -> None:
    pass


@job
def heartbeat() -> None:
    ping()


billing_job = define_asset_job("billing", selection=[invoices])
nightly = ScheduleDefinition(name="nightly", cron_schedule="0 2 * * *", job=billing_job)
crm = AssetSpec("crm_accounts")


def test_attributes_are_the_collections_passed() -> None:
    assets: list[AssetsDefinition | AssetSpec] = [invoices, crm]
    jobs: list[JobDefinition | UnresolvedAssetJobDefinition] = [billing_job, heartbeat]
    resources = {"api_token": "secret"}
    defs = Definitions(assets=assets, jobs=jobs, schedules=(nightly,), resources=resources)
    assert defs.assets is assets
    assert defs.jobs is jobs
    assert isinstance(defs.jobs[0], UnresolvedAssetJobDefinition)
    assert defs.schedules == (nightly,)
    assert defs.resources is resources
    assert defs.sensors == ()
    assert defs.asset_checks == ()


def test_resolved_jobs_are_in_job_defs_and_the_getters() -> None:
    only_schedule = Definitions(assets=[invoices], schedules=[nightly])
    assert only_schedule.jobs == ()  # the schedule's job was not passed in jobs=
    assert set(only_schedule.job_defs) == {"billing"}
    billing = only_schedule.get_job_def("billing")
    assert only_schedule.resolve_job_def("billing") is billing
    assert only_schedule.resolve_all_job_defs() == [billing]
    assert billing.asset_selection == frozenset({invoices.key})


def test_the_implicit_asset_job_stays_internal() -> None:
    defs = Definitions(assets=[invoices, crm], jobs=[heartbeat])
    implicit = defs.get_implicit_global_asset_job_def()
    assert implicit.name not in defs.job_defs
    assert implicit.asset_selection == frozenset({invoices.key})
    assert defs.resolve_implicit_global_asset_job_def().name == implicit.name
    assert [j.name for j in defs.get_all_job_defs()] == ["heartbeat"]


def test_a_generator_is_kept_as_a_tuple() -> None:
    defs = Definitions(assets=(a for a in [invoices]))
    assert defs.assets == (invoices,)
    assert defs.get_asset_graph().has(invoices.key)
