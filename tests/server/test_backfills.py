"""Backfills through the API, as ``knoll backfill ...`` handles them: launched after the code
location checked them (422 and nothing stored otherwise), advanced by the daemon's backfills
duty, read with progress per group and per partition, canceled and resumed (editor role)."""

from __future__ import annotations

from typing import Any

import pytest

from knoll.daemon.backfill import BackfillSubmitter
from knoll.execution.run import RunStatus
from knoll.storage.base import BackfillStatus
from tests.daemon.helpers import backfill_runs, end_run, partitions_of
from tests.server.conftest import CANARY, Api, StartApi
from tests.server.roles import ROLE_AUTH, as_role

THREE_DAYS = {"first": "2024-01-01", "last": "2024-01-03"}
ZERO = dict.fromkeys(
    ["requested", "in progress", "materialized", "failed", "canceled", "skipped"], 0
)


def _launch(api: Api, **body: Any) -> dict[str, Any]:
    response = api.http.post("/api/v1/backfills", json=body)
    assert response.status_code == 201, response.text
    assert CANARY not in response.text
    launched: dict[str, Any] = response.json()
    return launched


def _end_queued(api: Api, backfill_id: str, failing: str | None = None) -> None:
    for run in backfill_runs(api.instance, backfill_id, statuses=[RunStatus.QUEUED]):
        failed = partitions_of(run) == failing
        end_run(api.instance, run.run_id, RunStatus.FAILURE if failed else RunStatus.SUCCESS)


def test_a_backfill_runs_through_the_daemon_and_shows_its_progress(any_api: Api) -> None:
    launched = _launch(
        any_api, selection="raw_orders*", partition_range=THREE_DAYS, tags={"team": "sales"}
    )
    backfill_id = launched["backfill_id"]
    assert launched["status"] == "REQUESTED"
    assert (launched["kind"], launched["target"], launched["location"]) == (
        "assets",
        "raw_orders*",
        "shop",
    )
    assert (launched["requested"], launched["tags"]) == (
        "2024-01-01...2024-01-03",
        {"team": "sales"},
    )
    assert [g["name"] for g in launched["groups"]] == ["raw_orders, orders", "orders_summary"]
    assert launched["partitions"] == {**ZERO, "requested": 6}
    submitter = BackfillSubmitter(any_api.instance)
    submitter.one_pass()  # the days of orders; orders_summary waits for them
    shown = any_api.http.get(f"/api/v1/backfills/{backfill_id}").json()
    assert [g["partitions"] for g in shown["groups"]] == [
        {**ZERO, "in progress": 3},
        {**ZERO, "requested": 3},
    ]
    _end_queued(any_api, backfill_id, failing="2024-01-02")
    submitter.one_pass()
    _end_queued(any_api, backfill_id)
    submitter.one_pass()
    shown = any_api.http.get(f"/api/v1/backfills/{backfill_id}").json()
    assert shown["status"] == "FAILED"
    assert [g["partitions"] for g in shown["groups"]] == [
        {**ZERO, "materialized": 2, "failed": 1},
        {**ZERO, "materialized": 2, "skipped": 1},
    ]
    path = f"/api/v1/backfills/{backfill_id}/partitions"
    skipped = any_api.http.get(path, params={"state": "skipped"}).json()
    assert skipped["items"] == [
        {"group": "orders_summary", "partition": "2024-01-02", "state": "skipped", "run_id": None}
    ]
    (failed,) = any_api.http.get(path, params={"state": "failed"}).json()["items"]
    record = any_api.instance.storage.get_run(failed["run_id"])
    assert record is not None
    assert record.run.status is RunStatus.FAILURE
    first = any_api.http.get(path, params={"limit": 4}).json()
    rest = any_api.http.get(path, params={"limit": 4, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) + len(rest["items"]) == 6
    assert rest["next_cursor"] is None
    assert [p["partition"] for p in first["items"][:3]] == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]
    resumed = any_api.http.post(f"/api/v1/backfills/{backfill_id}/resume").json()
    assert resumed["partitions_requested"] == 2
    assert resumed["backfill"]["status"] == "REQUESTED"
    assert resumed["backfill"]["partitions"] == {**ZERO, "materialized": 4, "requested": 2}


def test_cancel_then_resume_once_canceled(any_api: Api) -> None:
    backfill_id = _launch(any_api, job_name="sales_job", partition_keys=["2024-01-05"])[
        "backfill_id"
    ]
    canceling = any_api.http.post(f"/api/v1/backfills/{backfill_id}/cancel").json()
    assert canceling["status"] == "CANCELING"
    again = any_api.http.post(f"/api/v1/backfills/{backfill_id}/cancel")
    assert (again.status_code, again.json()["status"]) == (200, "CANCELING")
    early = any_api.http.post(f"/api/v1/backfills/{backfill_id}/resume")
    assert early.status_code == 409
    assert early.json()["detail"] == (
        f"backfill {backfill_id} is CANCELING, so there is nothing to resume (wait until it "
        "is CANCELED): only a FAILED or CANCELED backfill can be resumed."
    )
    BackfillSubmitter(any_api.instance).one_pass()
    assert any_api.http.get(f"/api/v1/backfills/{backfill_id}").json()["status"] == "CANCELED"
    late = any_api.http.post(f"/api/v1/backfills/{backfill_id}/cancel")
    assert late.status_code == 409
    assert late.json()["detail"] == (
        f"backfill {backfill_id} is CANCELED: only a requested backfill can be canceled. "
        f"`knoll backfill show {backfill_id}` shows what it did."
    )
    resumed = any_api.http.post(f"/api/v1/backfills/{backfill_id}/resume").json()
    assert (resumed["partitions_requested"], resumed["backfill"]["status"]) == (1, "REQUESTED")


def test_backfills_are_listed_newest_first_page_by_page(any_api: Api) -> None:
    ids = [
        _launch(any_api, job_name="sales_job", partition_keys=[day])["backfill_id"]
        for day in ("2024-01-01", "2024-01-02", "2024-01-03")
    ]
    any_api.http.post(f"/api/v1/backfills/{ids[1]}/cancel")
    first = any_api.http.get("/api/v1/backfills", params={"limit": 2}).json()
    assert [b["backfill_id"] for b in first["items"]] == [ids[2], ids[1]]
    assert first["items"][0]["partitions"] == {**ZERO, "requested": 1}
    rest = any_api.http.get("/api/v1/backfills", params={"cursor": first["next_cursor"]}).json()
    assert ([b["backfill_id"] for b in rest["items"]], rest["next_cursor"]) == ([ids[0]], None)
    canceling = any_api.http.get("/api/v1/backfills", params={"status": "canceling"}).json()
    assert [b["backfill_id"] for b in canceling["items"]] == [ids[1]]


INVALID = [
    (
        {"selection": "raw_orders", "job_name": "sales_job", "all_partitions": True},
        "Invalid backfill",
        "say what to backfill: 'selection' (an asset selection, e.g. 'orders+') or 'job_name' "
        "(a partitioned job), one of them.",
    ),
    (
        {"selection": "raw_orders", "all_partitions": True, "partition_keys": ["2024-01-01"]},
        "Invalid backfill",
        "say which partitions in one way: 'partition_keys' (a list), 'partition_range' "
        "({first, last}, both included), 'all_partitions': true, or 'time_window' "
        "({start, end}).",
    ),
    (
        {"selection": "raw_orders"},
        "Invalid backfill",
        "say which partitions in one way: 'partition_keys' (a list), 'partition_range' "
        "({first, last}, both included), 'all_partitions': true, or 'time_window' "
        "({start, end}).",
    ),
    (
        {"job_name": "sales_job", "time_window": {"start": "2024-01-03", "end": "2024-01-01"}},
        "Invalid backfill",
        "time_window: start 2024-01-03T00:00:00 is not before end 2024-01-01T00:00:00: give a "
        "window whose start comes first.",
    ),
    (
        {"job_name": "sales_jb", "all_partitions": True},
        "Invalid backfill",
        "there is no job 'sales_jb' in this code location. Did you mean 'sales_job'? Its "
        "jobs: crm_job, sales_job. Or backfill assets with --select.",
    ),
    (
        {"selection": "nothing_here", "all_partitions": True},
        "Refused by the code location",
        "cannot resolve asset selection 'nothing_here' in location 'shop': asset selection "
        "names 'nothing_here', which is not an asset in these definitions.",
    ),
    (
        {
            "job_name": "sales_job",
            "partition_keys": ["2024-01-02"],
            "run_config": {"ops": {"raw_orders": {"config": {"x": 1}}}},
        },
        "Refused by the code location",
        "cannot launch job 'sales_job' of location 'shop': Invalid config for job 'sales_job': "
        "1 error\n  - at path ops:raw_orders: op or asset 'raw_orders' takes no config. Remove "
        "this entry, or declare config on op or asset 'raw_orders' (a Config parameter or "
        "config_schema=).",
    ),
    (
        {"job_name": "sales_job", "partition_range": {"first": "2024-01-09", "last": "2024-02-01"}},
        "Unknown partition",
        None,
    ),
]


@pytest.mark.parametrize(("body", "title", "detail"), INVALID)
def test_an_invalid_backfill_is_a_422_and_nothing_is_stored(
    api: Api, body: dict[str, Any], title: str, detail: str | None
) -> None:
    response = api.http.post("/api/v1/backfills", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == title
    if detail is not None:
        assert problem["detail"] == detail
    else:
        assert "'2024-02-01'" in problem["detail"]
    assert api.instance.storage.get_backfills() == []


def test_an_unknown_location_is_a_404(api: Api) -> None:
    response = api.http.post(
        "/api/v1/backfills",
        json={"location": "shops", "job_name": "sales_job", "all_partitions": True},
    )
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "There is no code location 'shops'. Did you mean 'shop'? The workspace's locations: shop."
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("GET", "/partitions"), ("POST", "/cancel"), ("POST", "/resume")],
)
def test_an_unknown_backfill_is_a_404_naming_a_close_one(api: Api, method: str, path: str) -> None:
    backfill_id = _launch(api, job_name="sales_job", partition_keys=["2024-01-01"])["backfill_id"]
    typo = backfill_id[:-1] + ("a" if backfill_id[-1] != "a" else "b")
    response = api.http.request(method, f"/api/v1/backfills/{typo}{path}")
    assert response.status_code == 404
    problem = response.json()
    assert problem["detail"] == f"There is no backfill {typo!r}. Did you mean {backfill_id!r}?"
    assert problem["fix"] == "GET /api/v1/backfills lists the backfills there are."
    stored = api.instance.storage.get_backfill(backfill_id)
    assert stored is not None
    assert stored.status is BackfillStatus.REQUESTED


def test_an_unknown_status_or_state_is_a_422(api: Api) -> None:
    response = api.http.get("/api/v1/backfills", params={"status": "done"})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "status 'done' is not a backfill status: use one of REQUESTED, COMPLETED, FAILED, "
        "CANCELING, CANCELED."
    )
    backfill_id = _launch(api, job_name="sales_job", partition_keys=["2024-01-01"])["backfill_id"]
    wrong = api.http.get(f"/api/v1/backfills/{backfill_id}/partitions", params={"state": "done"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == (
        "state 'done' is not a partition state of a backfill: use one of requested, in "
        "progress, materialized, failed, canceled, skipped."
    )


def test_launching_and_canceling_need_the_editor_role(start_api: StartApi) -> None:
    api = start_api("sqlite", auth=ROLE_AUTH)
    body = {"job_name": "sales_job", "partition_keys": ["2024-01-01"]}
    refused = api.http.post("/api/v1/backfills", json=body, headers=as_role("launcher"))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "'launcher-user' is a launcher; this needs the editor role."
    assert api.instance.storage.get_backfills() == []
    made = api.http.post("/api/v1/backfills", json=body, headers=as_role("editor")).json()
    path = f"/api/v1/backfills/{made['backfill_id']}"
    assert api.http.get(path, headers=as_role("viewer")).status_code == 200
    assert api.http.post(f"{path}/cancel", headers=as_role("launcher")).status_code == 403
    assert api.http.post(f"{path}/resume", headers=as_role("launcher")).status_code == 403
    assert api.http.get(path, headers=as_role("viewer")).json()["status"] == "REQUESTED"


def test_the_openapi_document_describes_every_route_and_answer(api: Api) -> None:
    document = api.http.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path, method in [
        ("/api/v1/backfills", "post"),
        ("/api/v1/backfills/{backfill_id}/partitions", "get"),
        ("/api/v1/backfills/{backfill_id}/resume", "post"),
        ("/api/v1/locations/{location}/schedules/{name}/preview", "post"),
        ("/api/v1/locations/{location}/sensors/{name}/cursor", "put"),
        ("/api/v1/automation/assets/{asset_key}", "get"),
        ("/api/v1/automation/locations/{location}/ticks", "get"),
    ]:
        answers = paths[path][method]["responses"]
        ok = answers.get("200") or answers["201"]
        assert "$ref" in ok["content"]["application/json"]["schema"], (path, method)
