"""Reading runs: the filtered, cursor-paginated list, one run, its events and its steps'
compute logs, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from knoll.defs.keys import AssetKey
from knoll.execution.events import EventType, run_event
from knoll.execution.run import Run, RunStatus, new_run_id
from knoll.server.pagination import encode_cursor
from tests.server.canary import never_shows_canary
from tests.server.conftest import Api


def _runs(api: Api) -> list[Run]:
    """Six runs, oldest first: two jobs, statuses, tags and asset selections."""
    made = [
        Run(new_run_id(), "crm_job", RunStatus.SUCCESS, {"team": "crm"}, asset_selection=None),
        Run(new_run_id(), "crm_job", RunStatus.FAILURE, {"team": "crm", "env": "prod"}),
        Run(
            new_run_id(),
            "sales_job",
            RunStatus.QUEUED,
            {"team": "sales"},
            asset_selection=frozenset({AssetKey("orders"), AssetKey("raw_orders")}),
        ),
        Run(new_run_id(), "sales_job", RunStatus.CANCELED, {"env": "prod"}),
        Run(
            new_run_id(),
            "__asset_job",
            RunStatus.QUEUED,
            asset_selection=frozenset({AssetKey(["sales", "orders"])}),
        ),
        Run(new_run_id(), "crm_job", RunStatus.QUEUED, {"team": "crm"}),
    ]
    for run in made:  # one at a time: each has its own creation time
        api.instance.storage.add_runs([run])
    return made


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["run_id"] for item in body["items"]]


def test_runs_list_newest_first_page_by_page(any_api: Api) -> None:
    never_shows_canary(any_api)
    made = _runs(any_api)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor is not None:
            params["cursor"] = cursor
        body = any_api.http.get("/api/v1/runs", params=params).json()
        seen += _ids(body)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert seen == [run.run_id for run in reversed(made)]
    first = any_api.http.get("/api/v1/runs", params={"limit": 1}).json()["items"][0]
    assert first["job_name"] == "crm_job"
    assert first["status"] == "QUEUED"
    assert first["tags"] == {"team": "crm"}


def test_runs_list_filters(any_api: Api) -> None:
    never_shows_canary(any_api)
    made = _runs(any_api)

    def ids(**params: Any) -> set[str]:
        response = any_api.http.get("/api/v1/runs", params=params)
        assert response.status_code == 200, response.text
        return set(_ids(response.json()))

    def of(*indexes: int) -> set[str]:
        return {made[i].run_id for i in indexes}

    assert ids(status=["QUEUED"]) == of(2, 4, 5)
    assert ids(status=["SUCCESS", "FAILURE"]) == of(0, 1)
    assert ids(job="sales_job") == of(2, 3)
    assert ids(tag=["team=crm"]) == of(0, 1, 5)
    assert ids(tag=["team=crm", "env=prod"]) == of(1)
    assert ids(asset="orders") == of(2)
    assert ids(asset="sales/orders") == of(4)
    assert ids(run_id=[made[0].run_id, made[3].run_id]) == of(0, 3)
    assert ids(job="crm_job", status=["QUEUED"]) == of(5)
    created = {
        r.run.run_id: r.create_timestamp for r in any_api.instance.storage.get_runs().records
    }
    middle = created[made[2].run_id]
    assert ids(created_before=middle) == of(0, 1)
    assert ids(created_after=middle) == of(3, 4, 5)
    assert ids(job="nobody") == set()


def test_runs_list_refuses_bad_filters_and_forged_cursors(any_api: Api) -> None:
    never_shows_canary(any_api)
    response = any_api.http.get("/api/v1/runs", params={"status": "DONE"})
    assert response.status_code == 422
    assert response.json()["detail"] == "GET /api/v1/runs: invalid query.status.0."
    response = any_api.http.get("/api/v1/runs", params={"tag": "team"})
    assert response.status_code == 422
    assert response.json()["detail"] == "tag 'team' is not key=value."
    response = any_api.http.get("/api/v1/runs", params={"tag": ["team=a", "team=b"]})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "tag 'team' is given twice, as 'a' and 'b': no run has both."
    )
    response = any_api.http.get("/api/v1/runs", params={"asset": "/"})
    assert response.status_code == 422
    assert response.json()["detail"] == "asset '/' is not an asset key."
    response = any_api.http.get("/api/v1/runs", params={"asset": "a//b"})
    assert response.status_code == 422
    assert response.json()["title"] == "Invalid asset key"
    assert "'a//b'" in response.json()["detail"]
    for bound in ("created_after", "created_before"):
        response = any_api.http.get("/api/v1/runs", params={bound: "nan"})
        assert response.status_code == 422
        assert response.json()["detail"] == f"GET /api/v1/runs: invalid query.{bound}."
    for forged in ("zzz", encode_cursor({"runs": "not-a-position"}), encode_cursor({"runs": 3})):
        response = any_api.http.get("/api/v1/runs", params={"cursor": forged})
        assert response.status_code == 400, forged
        assert "is not a cursor this list gave out" in response.json()["detail"]
    response = any_api.http.get("/api/v1/runs", params={"limit": 0})
    assert response.status_code == 422


def test_one_run_and_an_unknown_one(any_api: Api) -> None:
    never_shows_canary(any_api)
    made = _runs(any_api)
    body = any_api.http.get(f"/api/v1/runs/{made[2].run_id}").json()
    assert body["run_id"] == made[2].run_id
    assert body["asset_selection"] == ["orders", "raw_orders"]
    assert body["status"] == "QUEUED"
    response = any_api.http.get("/api/v1/runs/no-such-run")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "There is no run 'no-such-run'."


def _write_logs(api: Api, run: Run, count: int, start: int = 0) -> None:
    api.instance.write_events(
        [run_event(run, EventType.LOG_MESSAGE, f"line {i}") for i in range(start, start + count)]
    )


def test_run_events_follow_a_running_run_until_it_finishes(any_api: Api) -> None:
    never_shows_canary(any_api)
    run = Run(new_run_id(), "crm_job", RunStatus.QUEUED)
    any_api.instance.storage.add_run(run)
    any_api.instance.write_events([run_event(run, EventType.RUN_STARTING, "starting")])
    any_api.instance.write_events([run_event(run, EventType.RUN_START, "started")])
    _write_logs(any_api, run, 5)
    url = f"/api/v1/runs/{run.run_id}/events"
    body = any_api.http.get(url, params={"limit": 3}).json()
    assert [e["message"] for e in body["items"]] == ["starting", "started", "line 0"]
    assert body["run_status"] == "STARTED"
    cursor = body["next_cursor"]
    body = any_api.http.get(url, params={"limit": 100, "cursor": cursor}).json()
    assert [e["message"] for e in body["items"]] == [f"line {i}" for i in range(1, 5)]
    # caught up with a running run: the cursor stays, to ask again
    cursor = body["next_cursor"]
    assert cursor is not None
    empty = any_api.http.get(url, params={"cursor": cursor}).json()
    assert empty["items"] == []
    assert empty["next_cursor"] is not None
    _write_logs(any_api, run, 2, start=5)
    any_api.instance.write_events([run_event(run, EventType.RUN_SUCCESS, "done")])
    body = any_api.http.get(url, params={"cursor": empty["next_cursor"]}).json()
    assert [e["message"] for e in body["items"]] == ["line 5", "line 6", "done"]
    assert body["run_status"] == "SUCCESS"
    assert body["next_cursor"] is None
    ids = [e["storage_id"] for e in body["items"]]
    assert ids == sorted(ids)
    only = any_api.http.get(url, params={"type": ["RUN_START", "RUN_SUCCESS"]}).json()
    assert [e["event_type"] for e in only["items"]] == ["RUN_START", "RUN_SUCCESS"]
    assert only["next_cursor"] is None


def test_run_events_refusals(any_api: Api) -> None:
    never_shows_canary(any_api)
    run = Run(new_run_id(), "crm_job", RunStatus.QUEUED)
    any_api.instance.storage.add_run(run)
    url = f"/api/v1/runs/{run.run_id}/events"
    response = any_api.http.get(url, params={"type": "NOT_A_TYPE"})
    assert response.status_code == 422
    assert "query.type.0" in response.json()["detail"]
    forgeries = (
        encode_cursor({"after": "1"}),
        encode_cursor({"after": -1}),
        encode_cursor({"after": 2**64}),
    )
    for forged in forgeries:
        response = any_api.http.get(url, params={"cursor": forged})
        assert response.status_code == 400
        assert "is not a cursor this list gave out" in response.json()["detail"]
    response = any_api.http.get("/api/v1/runs/nope/events")
    assert response.status_code == 404
    assert response.json()["detail"] == "There is no run 'nope'."


def test_step_logs_read_from_an_offset(api: Api) -> None:
    never_shows_canary(api)
    run = Run(new_run_id(), "crm_job", RunStatus.QUEUED)
    api.instance.storage.add_run(run)
    url = f"/api/v1/runs/{run.run_id}/logs/customers"
    # not started yet: no file, which is no error while the run may still write it
    body = api.http.get(url).json()
    assert body == {
        "run_id": run.run_id,
        "step_key": "customers",
        "stream": "stdout",
        "offset": 0,
        "next_offset": 0,
        "text": "",
        "exists": False,
    }
    out, err = api.instance.compute_logs.prepare(run.run_id, "customers")
    out.write_text("hello\nworld\n", encoding="utf-8")
    err.write_text("oops\n", encoding="utf-8")
    body = api.http.get(url, params={"offset": 6}).json()
    assert body["text"] == "world\n"
    assert body["next_offset"] == 12
    assert body["exists"] is True
    assert api.http.get(url, params={"stream": "stderr"}).json()["text"] == "oops\n"
    assert api.http.get(url, params={"stream": "stdin"}).status_code == 422
    assert api.http.get(url, params={"offset": -1}).status_code == 422


def test_step_logs_of_a_finished_run_name_its_steps(api: Api) -> None:
    never_shows_canary(api)
    run = Run(new_run_id(), "crm_job", RunStatus.QUEUED)
    api.instance.storage.add_run(run)
    api.instance.compute_logs.prepare(run.run_id, "customers")
    api.instance.write_events([run_event(run, EventType.RUN_CANCELED, "canceled")])
    response = api.http.get(f"/api/v1/runs/{run.run_id}/logs/customer")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"run {run.run_id} has no compute logs for step 'customer'. Did you mean 'customers'? "
        "Its steps with logs: customers."
    )
    response = api.http.get("/api/v1/runs/nope/logs/customers")
    assert response.status_code == 404
    assert response.json()["detail"] == "There is no run 'nope'."


def test_openapi_describes_the_run_and_job_routes(api: Api) -> None:
    paths = api.http.get("/api/v1/openapi.json").json()["paths"]
    expected = {
        "/api/v1/runs": {"get", "post"},
        "/api/v1/runs/{run_id}": {"get", "delete"},
        "/api/v1/runs/{run_id}/events": {"get"},
        "/api/v1/runs/{run_id}/logs/{step_key}": {"get"},
        "/api/v1/runs/{run_id}/reexecute": {"post"},
        "/api/v1/runs/{run_id}/cancel": {"post"},
        "/api/v1/jobs": {"get"},
        "/api/v1/jobs/{location}/{name}": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    listed = paths["/api/v1/runs"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["$ref"].endswith("Page_RunModel_")
