"""Sensors through the API, as ``knoll sensor ...`` shows and changes them: state with
default_status, start and stop, ticks of the daemon's sensors duty page by page, previews from
a cursor, and the cursor read, set and forgotten (launcher role)."""

from __future__ import annotations

import time

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.daemon.clock import ManualClock
from knoll.daemon.sensors import SensorDuty
from knoll.storage.base import InstigatorStatus
from tests.server.conftest import LOCATION, Api, StartApi
from tests.server.roles import ROLE_AUTH, as_role

BASE = f"/api/v1/locations/{LOCATION}/sensors"


def _tick_twice(api: Api, client: CodeServerClient) -> None:
    """Two passes of the sensors duty, past the sensors' interval apart."""
    clock = ManualClock(time.time())
    duty = SensorDuty(api.instance, {LOCATION: client}, str(api.instance.home), clock=clock)
    duty.one_pass()
    clock.advance(60.0)
    duty.one_pass()


def test_sensors_are_listed_with_their_default_status(any_api: Api) -> None:
    page = any_api.http.get(BASE).json()
    by_name = {sensor["name"]: sensor for sensor in page["items"]}
    assert list(by_name) == ["counting_sensor", "crm_sensor", "failing_sensor"]
    assert (by_name["counting_sensor"]["status"], by_name["crm_sensor"]["status"]) == (
        "RUNNING",
        "STOPPED",
    )
    crm = by_name["crm_sensor"]
    assert crm["status_is_default"] is True
    assert crm["minimum_interval_seconds"] == 30
    assert crm["job_names"] == ["crm_job"]
    assert (crm["cursor"], crm["last_tick"]) == (None, None)
    first = any_api.http.get(BASE, params={"limit": 1}).json()
    assert [s["name"] for s in first["items"]] == ["counting_sensor"]
    rest = any_api.http.get(BASE, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [s["name"] for s in rest["items"]] == ["crm_sensor", "failing_sensor"]
    assert rest["next_cursor"] is None


def test_stop_and_start_keep_the_cursor(any_api: Api) -> None:
    any_api.http.put(f"{BASE}/counting_sensor/cursor", json={"cursor": "7"})
    stopped = any_api.http.post(f"{BASE}/counting_sensor/stop").json()
    assert stopped["message"] == "stopped sensor 'counting_sensor' of location 'shop'"
    assert any_api.http.post(f"{BASE}/counting_sensor/stop").json()["changed"] is False
    started = any_api.http.post(f"{BASE}/counting_sensor/start").json()
    assert (started["status"], started["changed"]) == ("RUNNING", True)
    shown = any_api.http.get(f"{BASE}/counting_sensor").json()
    assert (shown["status"], shown["status_is_default"], shown["cursor"]) == ("RUNNING", False, "7")


def test_ticks_of_the_daemon_carry_runs_keys_and_cursors(
    any_api: Api, shop_client: CodeServerClient
) -> None:
    _tick_twice(any_api, shop_client)
    first = any_api.http.get(f"{BASE}/counting_sensor/ticks", params={"limit": 1}).json()
    (newest,) = first["items"]
    assert newest["status"] == "SUCCESS"
    assert (newest["run_keys"], newest["cursor"]) == (["count-2"], "2")
    assert newest["reason"] == "run keys count-2"
    run = any_api.instance.storage.get_run(newest["run_ids"][0])
    assert run is not None
    assert run.run.tags["count"] == "2"
    rest = any_api.http.get(
        f"{BASE}/counting_sensor/ticks", params={"cursor": first["next_cursor"]}
    ).json()
    assert [t["run_keys"] for t in rest["items"]] == [["count-1"]]
    assert rest["next_cursor"] is None
    shown = any_api.http.get(f"{BASE}/counting_sensor").json()
    assert (shown["cursor"], shown["last_tick"]) == ("2", newest)
    assert any_api.http.get(f"{BASE}/crm_sensor/ticks").json()["items"] == []  # stopped


def test_preview_starts_from_the_stored_or_the_given_cursor(api: Api) -> None:
    api.http.put(f"{BASE}/counting_sensor/cursor", json={"cursor": "4"})
    stored = api.http.post(f"{BASE}/counting_sensor/preview", json={}).json()
    assert (stored["cursor"], stored["new_cursor"]) == ("4", "5")
    (request,) = stored["run_requests"]
    assert (request["run_key"], request["job_name"], request["tags"]) == (
        "count-5",
        "crm_job",
        {"count": "5"},
    )
    given = api.http.post(f"{BASE}/counting_sensor/preview", json={"cursor": "10"}).json()
    assert (given["cursor"], given["new_cursor"]) == ("10", "11")
    skipped = api.http.post(f"{BASE}/crm_sensor/preview", json={}).json()
    assert (skipped["run_requests"], skipped["skip_message"]) == ([], "no run requested")
    assert api.instance.storage.get_ticks(LOCATION, "counting_sensor") == []
    assert api.instance.storage.count_runs() == 0
    assert api.http.get(f"{BASE}/counting_sensor/cursor").json()["cursor"] == "4"


def test_a_preview_whose_user_code_raises_is_a_422(api: Api) -> None:
    response = api.http.post(f"{BASE}/failing_sensor/preview", json={})
    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == "Refused by the code location"
    assert problem["detail"].startswith("sensor 'failing_sensor' tick failed in ")
    assert "the crm export is not readable" in problem["detail"]
    assert api.instance.storage.get_ticks(LOCATION, "failing_sensor") == []


def test_the_cursor_is_read_set_and_forgotten(any_api: Api) -> None:
    path = f"{BASE}/crm_sensor/cursor"
    assert any_api.http.get(path).json() == {
        "location": LOCATION,
        "name": "crm_sensor",
        "cursor": None,
    }
    assert any_api.http.put(path, json={"cursor": '{"file": 17}'}).json()["cursor"] == (
        '{"file": 17}'
    )
    state = any_api.instance.storage.get_instigator_state(LOCATION, "crm_sensor")
    assert state is not None
    assert state.status is InstigatorStatus.STOPPED  # its default_status, kept
    assert any_api.http.get(path).json()["cursor"] == '{"file": 17}'
    assert any_api.http.delete(path).json()["cursor"] is None
    assert any_api.http.get(f"{BASE}/crm_sensor").json()["cursor"] is None


def test_a_cursor_body_without_a_cursor_is_a_422(api: Api) -> None:
    response = api.http.put(f"{BASE}/crm_sensor/cursor", json={})
    assert response.status_code == 422
    assert response.json()["detail"] == f"PUT {BASE}/crm_sensor/cursor: invalid body.cursor."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("POST", "/start"),
        ("POST", "/stop"),
        ("GET", "/ticks"),
        ("POST", "/preview"),
        ("GET", "/cursor"),
        ("PUT", "/cursor"),
        ("DELETE", "/cursor"),
    ],
)
def test_an_unknown_sensor_is_a_404_naming_the_close_ones(api: Api, method: str, path: str) -> None:
    body = {"cursor": "1"} if method == "PUT" else {}
    response = api.http.request(method, f"{BASE}/crm_senzor{path}", json=body)
    assert response.status_code == 404
    problem = response.json()
    assert problem["detail"] == (
        "code location 'shop' has no sensor named 'crm_senzor'. Did you mean 'crm_sensor'? "
        "Its sensors: counting_sensor, crm_sensor, failing_sensor."
    )
    assert problem["fix"] == "GET /api/v1/locations/shop/sensors lists them."
    assert api.instance.storage.get_instigator_state(LOCATION, "crm_senzor") is None


def test_changing_the_cursor_needs_the_launcher_role(start_api: StartApi) -> None:
    api = start_api("sqlite", auth=ROLE_AUTH)
    path = f"{BASE}/crm_sensor/cursor"
    viewer = as_role("viewer")
    assert api.http.get(path, headers=viewer).status_code == 200
    for response in (
        api.http.put(path, json={"cursor": "1"}, headers=viewer),
        api.http.delete(path, headers=viewer),
        api.http.post(f"{BASE}/crm_sensor/start", headers=viewer),
    ):
        assert response.status_code == 403
        assert response.json()["detail"] == (
            "'viewer-user' is a viewer; this needs the launcher role."
        )
    assert api.instance.storage.get_instigator_state(LOCATION, "crm_sensor") is None
    assert api.http.put(path, json={"cursor": "1"}, headers=as_role("launcher")).status_code == 200
