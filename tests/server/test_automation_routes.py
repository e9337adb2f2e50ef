"""Automation evaluations through the API, as ``knoll asset automation KEY`` prints them:
recorded by real passes of the daemon's automation duty over the shop's eager ``orders``,
read per asset (the condition tree node by node) and per location (its ticks), page by page."""

from __future__ import annotations

import time

import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.daemon.automation import automation_pass
from knoll.daemon.clock import ManualClock
from knoll.execution.run import RunStatus
from knoll.instance.launcher import LaunchRequest
from tests.server.conftest import LOCATION, WAIT, Api

BASE = "/api/v1/automation"


def _pass(api: Api, client: CodeServerClient, clock: ManualClock) -> None:
    automation_pass(api.instance, {LOCATION: client}, clock, interval_seconds=30)
    clock.advance(60.0)


def _materialize_raw_orders(api: Api) -> None:
    """Materialize raw_orders' last day through the launcher, as a user's run would."""
    launcher = api.context.launcher
    assert launcher is not None
    request = LaunchRequest(asset_selection="raw_orders", partition_key="2024-01-10")
    run_id = launcher.launch_run(request).run.run_id
    deadline = time.monotonic() + WAIT  # only to avoid a hang
    while time.monotonic() < deadline:
        record = api.instance.storage.get_run(run_id)
        assert record is not None
        if record.run.status.is_finished:
            assert record.run.status is RunStatus.SUCCESS
            return
        time.sleep(0.05)
    pytest.fail(f"run {run_id} of raw_orders did not finish within {WAIT}s")


@pytest.fixture
def evaluated(any_api: Api, shop_client: CodeServerClient) -> Api:
    """Two evaluations: the first requests nothing, the second (after raw_orders' last day
    was materialized) requests that day of orders."""
    clock = ManualClock(time.time())
    _pass(any_api, shop_client, clock)
    _materialize_raw_orders(any_api)
    _pass(any_api, shop_client, clock)
    return any_api


def test_an_assets_evaluations_show_the_condition_tree(evaluated: Api) -> None:
    first = evaluated.http.get(f"{BASE}/assets/orders", params={"limit": 1}).json()
    (latest,) = first["items"]
    assert (latest["asset_key"], latest["location"], latest["evaluation_id"]) == (
        "orders",
        LOCATION,
        2,
    )
    assert latest["requested_partitions"] == ["2024-01-10"]
    assert latest["num_requested"] == 1
    (run_id,) = latest["run_ids"]
    record = evaluated.instance.storage.get_run(run_id)
    assert record is not None
    assert record.run.status is RunStatus.QUEUED
    tree = latest["condition"]
    assert (tree["label"], tree["verdict"], tree["true_partitions"]) == (
        "eager",
        "true",
        ["2024-01-10"],
    )
    window = tree["children"][0]
    assert (window["label"], window["verdict"], window["candidates"]) == (
        "in_latest_time_window",
        "true",
        10,
    )
    rest = evaluated.http.get(
        f"{BASE}/assets/orders", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    (earlier,) = rest["items"]
    assert (earlier["evaluation_id"], earlier["condition"]["verdict"]) == (1, "false")
    assert (earlier["requested_partitions"], earlier["run_ids"]) == ([], [])
    assert rest["next_cursor"] is None


def test_a_locations_ticks_say_what_each_requested(evaluated: Api) -> None:
    page = evaluated.http.get(f"{BASE}/locations/{LOCATION}/ticks").json()
    assert [tick["evaluation_id"] for tick in page["items"]] == [2, 1]
    latest, earlier = page["items"]
    assert latest["assets_evaluated"] == 1
    assert latest["requested"] == {"orders": ["2024-01-10"]}
    assert len(latest["run_ids"]) == 1
    assert (earlier["requested"], earlier["run_ids"]) == ({}, [])
    assert latest["timestamp"] > earlier["timestamp"]
    first = evaluated.http.get(f"{BASE}/locations/{LOCATION}/ticks", params={"limit": 1}).json()
    rest = evaluated.http.get(
        f"{BASE}/locations/{LOCATION}/ticks", params={"cursor": first["next_cursor"]}
    ).json()
    assert [t["evaluation_id"] for t in rest["items"]] == [1]


def test_an_asset_never_evaluated_has_no_evaluations(api: Api) -> None:
    assert api.http.get(f"{BASE}/assets/customers").json() == {"items": [], "next_cursor": None}
    assert api.http.get(f"{BASE}/locations/{LOCATION}/ticks").json()["items"] == []


def test_an_unknown_asset_is_a_404_naming_the_close_ones(api: Api) -> None:
    response = api.http.get(f"{BASE}/assets/ordrs")
    assert response.status_code == 404
    problem = response.json()
    assert problem["detail"] == (
        "There is no asset 'ordrs' in the workspace, and no automation evaluation of it is "
        "recorded. Did you mean 'orders' or 'raw_orders'?"
    )
    assert problem["object"] == "ordrs"


def test_an_unknown_location_has_no_automation_ticks(api: Api) -> None:
    response = api.http.get(f"{BASE}/locations/shap/ticks")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "There is no code location 'shap'. Did you mean 'shop'? The workspace's locations: shop."
    )


def test_a_forged_cursor_is_a_400(api: Api) -> None:
    for path in ("assets/orders", f"locations/{LOCATION}/ticks"):
        response = api.http.get(f"{BASE}/{path}", params={"cursor": "eyJ4IjoxfQ"})
        assert response.status_code == 400
        assert response.json()["title"] == "Invalid cursor"
