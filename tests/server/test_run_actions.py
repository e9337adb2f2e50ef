"""Launching, re-executing, cancelling and deleting runs through the API, with real runs of
the shop project forked from its code server."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import Request

from knoll.codeloc.client import CodeServerClient
from knoll.execution.run import Run, RunStatus, new_run_id
from knoll.server import ServerContext, create_app, serving
from knoll.server.auth import AuthSettings
from knoll.server.auth.principal import Principal, Role
from tests.instance.conftest import MakeInstance
from tests.server.canary import never_shows_canary
from tests.server.conftest import WAIT, Api, StartApi

FAIL = {"ops": {"customers": {"config": {"fail": True}}}}


def _launch(api: Api, **body: Any) -> dict[str, Any]:
    response = api.http.post("/api/v1/runs", json=body)
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    return run


def _finished(api: Api, run_id: str) -> dict[str, Any]:
    """The run once it has finished (polled; the deadline only avoids a hang)."""
    deadline = time.monotonic() + WAIT
    while True:
        body: dict[str, Any] = api.http.get(f"/api/v1/runs/{run_id}").json()
        if RunStatus(body["status"]).is_finished:
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} did not finish: {body['status']}")
        time.sleep(0.05)


def _every_event(api: Api, run_id: str, limit: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        body = api.http.get(f"/api/v1/runs/{run_id}/events", params=params).json()
        events += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return events


def test_launch_a_job_and_read_what_it_did(any_api: Api) -> None:
    never_shows_canary(any_api)
    launched = _launch(any_api, job_name="crm_job", tags={"team": "crm"})
    assert launched["status"] == "STARTING"
    assert launched["location"] == "shop"
    assert launched["tags"]["team"] == "crm"
    run = _finished(any_api, launched["run_id"])
    assert run["status"] == "SUCCESS"
    assert run["asset_selection"] == ["customer_report", "customers"]
    events = _every_event(any_api, run["run_id"], limit=3)
    ids = [e["storage_id"] for e in events]
    assert ids == sorted(set(ids))
    kinds = [e["event_type"] for e in events]
    assert kinds[-1] == "RUN_SUCCESS"
    assert kinds.count("ASSET_MATERIALIZATION") == 2
    listed = any_api.http.get("/api/v1/runs", params={"asset": "customers"}).json()
    assert [r["run_id"] for r in listed["items"]] == [run["run_id"]]
    logs = any_api.http.get(f"/api/v1/runs/{run['run_id']}/logs/customers").json()
    assert logs["exists"] is True


def test_launch_an_asset_selection_with_a_partition(api: Api) -> None:
    never_shows_canary(api)
    launched = _launch(api, asset_selection="raw_orders", partition_key="2024-01-03")
    run = _finished(api, launched["run_id"])
    assert run["status"] == "SUCCESS"
    assert run["partition_key"] == "2024-01-03"
    assert run["asset_selection"] == ["raw_orders"]


def _refused(api: Api, body: dict[str, Any], status: int = 422) -> dict[str, Any]:
    response = api.http.post("/api/v1/runs", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    return problem


def test_a_refused_launch_stores_no_run(any_api: Api) -> None:
    never_shows_canary(any_api)
    bad_config = {"ops": {"customers": {"config": {"fail": "yes", "colour": 1}}}}
    problem = _refused(any_api, {"job_name": "crm_job", "run_config": bad_config})
    assert problem["title"] == "Invalid config"
    assert problem["detail"].startswith("cannot launch job 'crm_job' of location 'shop': ")
    assert "ops:customers:config:fail" in problem["detail"]
    assert "colour" in problem["detail"]
    assert "Traceback" not in problem["detail"]
    problem = _refused(any_api, {"job_name": "crm_jbo"})
    assert problem["detail"].startswith("cannot launch job 'crm_jbo' of location 'shop': ")
    assert "crm_job" in problem["detail"]  # the job it may have meant
    problem = _refused(any_api, {"job_name": "sales_job", "partition_key": "1999-01-01"})
    assert problem["title"] == "Unknown partition"
    assert "1999-01-01" in problem["detail"]
    problem = _refused(any_api, {"asset_selection": "no_such_asset"})
    assert problem["title"] == "Invalid selection"
    assert "no_such_asset" in problem["detail"]
    problem = _refused(any_api, {"run_config": {}})
    assert problem["title"] == "Nothing to run"
    assert problem["detail"] == "the launch names neither a job nor an asset selection."
    problem = _refused(any_api, {"job_name": "sales_job", "partition_range_start": "2024-01-01"})
    assert problem["detail"] == (
        "a partition range needs both 'partition_range_start' and 'partition_range_end'."
    )
    problem = _refused(
        any_api,
        {
            "job_name": "sales_job",
            "partition_key": "2024-01-01",
            "partition_range_start": "2024-01-01",
            "partition_range_end": "2024-01-02",
        },
    )
    assert problem["detail"] == "the launch gives both 'partition_key' and a partition range."
    problem = _refused(any_api, {"job_name": "crm_job", "location": "shops"})
    assert problem["detail"] == (
        "cannot launch a run: there is no code location 'shops'. Did you mean 'shop'? "
        "Locations: shop."
    )
    problem = _refused(any_api, {"job_name": "crm_job", "colour": "red"})
    assert problem["detail"] == "POST /api/v1/runs: invalid body.colour."
    assert any_api.instance.storage.count_runs() == 0


def test_reexecute_from_failure_and_chosen_steps(api: Api) -> None:
    never_shows_canary(api)
    failed = _finished(api, _launch(api, job_name="crm_job", run_config=FAIL)["run_id"])
    assert failed["status"] == "FAILURE"
    parent = failed["run_id"]
    response = api.http.post(f"/api/v1/runs/{parent}/reexecute", json={"strategy": "FROM_FAILURE"})
    assert response.status_code == 201, response.text
    child = _finished(api, response.json()["run_id"])
    assert child["parent_run_id"] == parent
    assert child["root_run_id"] == parent
    assert child["run_config"] == FAIL
    assert child["status"] == "FAILURE"  # the same config fails the same way
    succeeded = _finished(api, _launch(api, job_name="crm_job")["run_id"])
    response = api.http.post(
        f"/api/v1/runs/{succeeded['run_id']}/reexecute",
        json={"strategy": "ALL_STEPS", "step_selection": ["customer_report"], "tags": {"a": "b"}},
    )
    assert response.status_code == 201, response.text
    chosen = _finished(api, response.json()["run_id"])
    assert chosen["status"] == "SUCCESS"
    assert chosen["asset_selection"] == ["customer_report"]
    assert chosen["tags"]["a"] == "b"
    assert chosen["parent_run_id"] == succeeded["run_id"]
    response = api.http.post(
        f"/api/v1/runs/{chosen['run_id']}/reexecute", json={"strategy": "FROM_FAILURE"}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"run {chosen['run_id']} succeeded: there is no failure to re-execute from."
    )
    response = api.http.post(
        f"/api/v1/runs/{parent}/reexecute",
        json={"strategy": "FROM_FAILURE", "step_selection": ["customers"]},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "strategy FROM_FAILURE chooses its own steps, so it takes no 'step_selection'."
    )
    response = api.http.post(
        f"/api/v1/runs/{parent}/reexecute", json={"step_selection": ["no_step"]}
    )
    assert response.status_code == 422
    assert "no_step" in response.json()["detail"]
    response = api.http.post(f"/api/v1/runs/{parent}/reexecute", json={"strategy": "SOME"})
    assert response.status_code == 422
    response = api.http.post("/api/v1/runs/nope/reexecute", json={})
    assert response.status_code == 404
    assert response.json()["detail"] == "There is no run 'nope'."


def test_queue_cancel_and_delete(any_api: Api) -> None:
    never_shows_canary(any_api)
    # no daemon or queue worker runs here: a launch starts at once unless asked to queue
    queued = _launch(any_api, job_name="crm_job", queue=True)
    assert queued["status"] == "QUEUED"
    run_id = queued["run_id"]
    response = any_api.http.delete(f"/api/v1/runs/{run_id}")
    assert response.status_code == 409
    problem = response.json()
    assert problem["detail"] == f"run {run_id} is QUEUED: only a finished run can be deleted."
    assert problem["fix"] == (
        f"Cancel it first (POST /api/v1/runs/{run_id}/cancel), then delete it."
    )
    response = any_api.http.post(f"/api/v1/runs/{run_id}/reexecute", json={})
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"run {run_id} is QUEUED: only a finished run can be re-executed."
    )
    response = any_api.http.post(f"/api/v1/runs/{run_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELED"
    response = any_api.http.post(f"/api/v1/runs/{run_id}/cancel")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"run {run_id} has already finished (CANCELED): there is nothing to cancel."
    )
    assert any_api.http.delete(f"/api/v1/runs/{run_id}").status_code == 204
    assert any_api.http.get(f"/api/v1/runs/{run_id}").status_code == 404
    assert any_api.instance.storage.count_runs() == 0
    for method, path in (("POST", "/cancel"), ("DELETE", "")):
        response = any_api.http.request(method, f"/api/v1/runs/nope{path}")
        assert response.status_code == 404
        assert response.json()["detail"] == "There is no run 'nope'."


def test_cancel_a_running_run(api: Api) -> None:
    never_shows_canary(api)
    # cancelled while it starts or runs; it may also have finished before the cancel came
    launched = _launch(api, job_name="crm_job")
    response = api.http.post(f"/api/v1/runs/{launched['run_id']}/cancel")
    assert response.status_code in (200, 409), response.text
    final = _finished(api, launched["run_id"])
    # it was canceled, unless it finished before the cancel came
    assert final["status"] in ("CANCELED", "SUCCESS")
    if response.status_code == 200:
        assert response.json()["status"] == final["status"]


def test_a_queue_worker_makes_launches_queue(api: Api) -> None:
    never_shows_canary(api)
    from knoll.instance.loop_heartbeats import Loop, record_loop_heartbeat

    record_loop_heartbeat(api.instance.storage, Loop.QUEUE_WORKER, interval=5.0)
    assert _launch(api, job_name="crm_job")["status"] == "QUEUED"
    assert _launch(api, job_name="crm_job", queue=False)["status"] == "STARTING"


class _AsViewer:
    def authenticate(self, request: Request) -> Principal | None:
        return Principal("vera", Role.VIEWER, "token")


def test_a_viewer_may_read_runs_but_not_act_on_them(start_api: StartApi) -> None:
    api = start_api("sqlite", auth=AuthSettings(required=True, authenticator=_AsViewer()))
    assert api.http.get("/api/v1/runs").status_code == 200
    for method, path, body in (
        ("POST", "/api/v1/runs", {"job_name": "crm_job"}),
        ("POST", "/api/v1/runs/x/reexecute", {}),
        ("POST", "/api/v1/runs/x/cancel", None),
        ("DELETE", "/api/v1/runs/x", None),
    ):
        response = api.http.request(method, path, json=body)
        assert response.status_code == 403, path
        assert response.json()["detail"] == "'vera' is a viewer; this needs the launcher role."
    assert api.instance.storage.count_runs() == 0


def test_with_several_locations_a_launch_names_its_own(
    make_instance: MakeInstance, shop_client: CodeServerClient
) -> None:
    # the same code server under two names: the requests below are refused before either
    # is asked anything
    instance = make_instance("sqlite")
    context = ServerContext.for_clients(instance, {"shop": shop_client, "shop_eu": shop_client})
    parent = Run(new_run_id(), "crm_job", RunStatus.FAILURE)  # stored without a location tag
    instance.storage.add_run(parent)
    with serving(create_app(context)) as running, httpx.Client(base_url=running.url) as http:
        response = http.post("/api/v1/runs", json={"job_name": "crm_job"})
        assert response.status_code == 422
        assert response.json()["detail"] == (
            "cannot launch a run: this webserver serves several code locations (shop, "
            "shop_eu), and the request names none."
        )
        response = http.post(f"/api/v1/runs/{parent.run_id}/reexecute", json={})
        assert response.status_code == 422
        assert response.json()["detail"] == (
            f"cannot re-execute run {parent.run_id}: this webserver serves several code "
            "locations (shop, shop_eu), and the run has no knoll/location tag to say which "
            "it belongs to."
        )
        jobs = http.get("/api/v1/jobs", params={"limit": 3}).json()
        assert [(j["location"], j["name"]) for j in jobs["items"]] == [
            ("shop", "crm_job"),
            ("shop", "sales_job"),
            ("shop_eu", "crm_job"),
        ]
        rest = http.get("/api/v1/jobs", params={"limit": 3, "cursor": jobs["next_cursor"]})
        assert [(j["location"], j["name"]) for j in rest.json()["items"]] == [
            ("shop_eu", "sales_job")
        ]
    assert instance.storage.count_runs() == 1
