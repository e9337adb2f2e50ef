"""Schedules through the API, as ``knoll schedule ...`` shows and changes them: their state
with default_status, start and stop (idempotent, launcher role), ticks recorded by the
daemon's schedules duty and read page by page, and previews evaluated by the code server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target
from knoll.daemon.clock import ManualClock
from knoll.daemon.schedules import ScheduleDuty
from knoll.server import ServerContext, create_app, serving
from knoll.storage.base import InstigatorStatus
from tests.instance.conftest import MakeInstance
from tests.server.conftest import CANARY, LOCATION, WAIT, Api, StartApi
from tests.server.roles import ROLE_AUTH, as_role

BASE = f"/api/v1/locations/{LOCATION}/schedules"
DAY = 86_400.0


def _next_two_am(after: float) -> datetime:
    start = datetime.fromtimestamp(after, UTC)
    candidate = start.replace(hour=2, minute=0, second=0, microsecond=0)
    return candidate if candidate > start else candidate + timedelta(days=1)


def test_a_schedule_never_started_shows_its_default_status(any_api: Api) -> None:
    page = any_api.http.get(BASE).json()
    assert page["next_cursor"] is None
    (schedule,) = page["items"]
    assert schedule["name"] == "nightly_crm"
    assert schedule["status"] == "STOPPED"
    assert schedule["status_is_default"] is True
    assert schedule["cron_schedule"] == "0 2 * * *"
    assert schedule["execution_timezone"] == "UTC"
    assert schedule["job_name"] == "crm_job"
    assert schedule["next_tick"] is None
    assert schedule["last_tick"] is None
    assert any_api.http.get(f"{BASE}/nightly_crm").json() == schedule


def test_start_and_stop_are_stored_and_idempotent(any_api: Api) -> None:
    before = time.time()
    started = any_api.http.post(f"{BASE}/nightly_crm/start")
    assert started.status_code == 200
    assert started.json() == {
        "location": LOCATION,
        "name": "nightly_crm",
        "status": "RUNNING",
        "changed": True,
        "message": "started schedule 'nightly_crm' of location 'shop'",
    }
    again = any_api.http.post(f"{BASE}/nightly_crm/start").json()
    assert (again["changed"], again["message"]) == (
        False,
        "schedule 'nightly_crm' of location 'shop' is started already",
    )
    state = any_api.instance.storage.get_instigator_state(LOCATION, "nightly_crm")
    assert state is not None
    assert state.status is InstigatorStatus.RUNNING
    assert state.cursor is not None
    assert float(state.cursor) >= before  # it ticks from now on
    shown = any_api.http.get(f"{BASE}/nightly_crm").json()
    assert (shown["status"], shown["status_is_default"]) == ("RUNNING", False)
    assert datetime.fromisoformat(shown["next_tick"]) == _next_two_am(time.time())
    stopped = any_api.http.post(f"{BASE}/nightly_crm/stop").json()
    assert (stopped["status"], stopped["changed"]) == ("STOPPED", True)
    assert stopped["message"] == "stopped schedule 'nightly_crm' of location 'shop'"
    assert any_api.http.post(f"{BASE}/nightly_crm/stop").json()["message"] == (
        "schedule 'nightly_crm' of location 'shop' is stopped already"
    )
    assert any_api.http.get(f"{BASE}/nightly_crm").json()["next_tick"] is None


def test_ticks_of_the_daemon_are_read_page_by_page(
    any_api: Api, shop_client: CodeServerClient
) -> None:
    any_api.http.post(f"{BASE}/nightly_crm/start")
    instance = any_api.instance
    clock = ManualClock(time.time() + 2 * DAY + 60)
    ScheduleDuty(instance, {LOCATION: shop_client}, str(instance.home), clock=clock).one_pass()
    first = any_api.http.get(f"{BASE}/nightly_crm/ticks", params={"limit": 1}).json()
    (newest,) = first["items"]
    assert newest["status"] == "SUCCESS"
    assert len(newest["run_ids"]) == 1
    assert instance.storage.get_run(newest["run_ids"][0]) is not None
    assert newest["duration_seconds"] == 0.0  # the manual clock stood still
    assert (newest["skip_reason"], newest["error"]) == (None, None)
    assert newest["timestamp"] == _next_two_am(clock.now() - DAY).timestamp()
    second = any_api.http.get(
        f"{BASE}/nightly_crm/ticks", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    (older,) = second["items"]
    assert older["timestamp"] == newest["timestamp"] - DAY
    assert second["next_cursor"] is None  # the last page
    listed = any_api.http.get(BASE).json()["items"][0]
    assert listed["last_tick"] == newest
    everything = any_api.http.get(f"{BASE}/nightly_crm/ticks").json()
    assert [t["tick_id"] for t in everything["items"]] == [newest["tick_id"], older["tick_id"]]
    assert everything["next_cursor"] is None


def test_a_forged_ticks_cursor_is_a_400(api: Api) -> None:
    response = api.http.get(f"{BASE}/nightly_crm/ticks", params={"cursor": "eyJ4IjoxfQ"})
    assert response.status_code == 400
    assert response.json()["detail"] == "cursor 'eyJ4IjoxfQ' is not a cursor this list gave out."


def test_preview_evaluates_at_a_time_and_records_nothing(api: Api) -> None:
    response = api.http.post(f"{BASE}/nightly_crm/preview", json={"at": "2024-05-01T02:00"})
    assert response.status_code == 200
    preview = response.json()
    assert datetime.fromisoformat(preview["scheduled_time"]) == datetime(2024, 5, 1, 2, tzinfo=UTC)
    (request,) = preview["run_requests"]
    assert request["job_name"] == "crm_job"
    assert request["tags"] == {}
    assert preview["skip_message"] is None
    assert CANARY not in response.text
    offset = api.http.post(
        f"{BASE}/nightly_crm/preview", json={"at": "2024-05-01T04:00+02:00"}
    ).json()
    assert datetime.fromisoformat(offset["scheduled_time"]) == datetime(2024, 5, 1, 2, tzinfo=UTC)
    default = api.http.post(f"{BASE}/nightly_crm/preview", json={}).json()
    assert datetime.fromisoformat(default["scheduled_time"]) == _next_two_am(time.time())
    assert api.instance.storage.get_ticks(LOCATION, "nightly_crm") == []
    assert api.instance.storage.count_runs() == 0


def test_a_preview_time_that_is_not_iso_8601_is_a_422(api: Api) -> None:
    response = api.http.post(f"{BASE}/nightly_crm/preview", json={"at": "tomorrow"})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == f"POST {BASE}/nightly_crm/preview: invalid body.at."
    assert body["errors"][0]["field"] == "body.at"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("POST", "/start"),
        ("POST", "/stop"),
        ("GET", "/ticks"),
        ("POST", "/preview"),
    ],
)
def test_an_unknown_schedule_is_a_404_naming_the_close_ones(
    api: Api, method: str, path: str
) -> None:
    response = api.http.request(method, f"{BASE}/nightly_cr{path}", json={})
    assert response.status_code == 404
    body = response.json()
    assert body["detail"] == (
        "code location 'shop' has no schedule named 'nightly_cr'. Did you mean "
        "'nightly_crm'? Its schedules: nightly_crm."
    )
    assert body["object"] == "nightly_cr"
    assert body["fix"] == "GET /api/v1/locations/shop/schedules lists them."
    assert api.instance.storage.get_instigator_state(LOCATION, "nightly_cr") is None


def test_an_unknown_location_is_a_404_listing_the_workspaces(api: Api) -> None:
    response = api.http.get("/api/v1/locations/shap/schedules")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "There is no code location 'shap'. Did you mean 'shop'? The workspace's locations: shop."
    )


def test_starting_needs_the_launcher_role(start_api: StartApi) -> None:
    api = start_api("sqlite", auth=ROLE_AUTH)
    assert api.http.get(BASE, headers=as_role("viewer")).status_code == 200
    refused = api.http.post(f"{BASE}/nightly_crm/start", headers=as_role("viewer"))
    assert refused.status_code == 403
    assert refused.json()["detail"] == ("'viewer-user' is a viewer; this needs the launcher role.")
    preview = api.http.post(f"{BASE}/nightly_crm/preview", json={}, headers=as_role("viewer"))
    assert preview.status_code == 403
    assert api.instance.storage.get_instigator_state(LOCATION, "nightly_crm") is None
    started = api.http.post(f"{BASE}/nightly_crm/start", headers=as_role("launcher"))
    assert started.json()["changed"] is True
    assert api.http.get(BASE).status_code == 401


@pytest.fixture(scope="module")
def broken_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeServerClient]:
    """A code server for a module whose import fails: it serves the error."""
    project = tmp_path_factory.mktemp("broken")
    (project / "broken_shop.py").write_text("raise RuntimeError('the broken shop cannot load')\n")
    target = CodeLocationTarget(module_name="broken_shop", working_directory=str(project))
    with start_workspace(workspace_from_target(target, "broken"), timeout=WAIT) as processes:
        yield processes.client("broken")


def test_a_location_that_did_not_load_is_a_409(
    make_instance: MakeInstance,
    shop_client: CodeServerClient,
    broken_client: CodeServerClient,
) -> None:
    instance = make_instance("sqlite", "")
    clients = {LOCATION: shop_client, "broken": broken_client}
    context = ServerContext.for_clients(instance, clients)
    with serving(create_app(context)) as running, httpx.Client(base_url=running.url) as http:
        response = http.get("/api/v1/locations/broken/schedules")
        assert response.status_code == 409
        problem = response.json()
        assert problem["detail"].startswith(
            "code location 'broken' did not load, so its schedules are unknown: "
        )
        assert "the broken shop cannot load" in problem["detail"]
        sensors = http.post("/api/v1/locations/broken/sensors/any/start")
        assert sensors.status_code == 409
        assert "so its sensors are unknown" in sensors.json()["detail"]
        assert http.get(BASE).status_code == 200  # the other location serves on
        backfill = http.post(
            "/api/v1/backfills", json={"job_name": "sales_job", "all_partitions": True}
        )
        assert backfill.status_code == 422
        assert backfill.json()["detail"] == (
            "the workspace has 2 code locations (broken, shop): say which one defines what "
            "to backfill."
        )
