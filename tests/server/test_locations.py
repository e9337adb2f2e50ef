"""Code locations: their status (and load error with its fix), reloading one, and its
definitions snapshot, against real code servers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target
from knoll.server import ServerContext, create_app, serving
from tests.instance.conftest import MakeInstance
from tests.server.canary import never_shows_canary
from tests.server.conftest import LOCATION, WAIT, Api, StartApi
from tests.server.roles import ROLE_AUTH, as_role

BASE = "/api/v1/locations"
PROJECT = """
from knoll import Definitions, asset

@asset
def {name}() -> None:
    return None

defs = Definitions(assets=[{name}])
"""


@pytest.fixture
def editable(tmp_path: Path) -> Iterator[tuple[Path, CodeServerClient]]:
    """A code server for a module the test may rewrite, as location ``editable``."""
    (tmp_path / "editable_project.py").write_text(PROJECT.format(name="first"))
    target = CodeLocationTarget(module_name="editable_project", working_directory=str(tmp_path))
    with start_workspace(workspace_from_target(target, "editable"), timeout=WAIT) as processes:
        yield tmp_path / "editable_project.py", processes.client("editable")


def test_the_locations_with_their_status(any_api: Api) -> None:
    never_shows_canary(any_api)
    any_api.http.get(f"{BASE}/{LOCATION}/definitions")  # waits for the code to load
    response = any_api.http.get(BASE)
    assert response.status_code == 200
    (shop,) = response.json()["items"]
    assert shop["name"] == LOCATION
    assert shop["status"] == "loaded"
    assert shop["error"] is None
    assert shop["snapshot_id"]
    assert shop["pid"] > 0
    assert shop["address"].startswith(("unix:", "http://"))
    assert 0 < shop["loaded_at"] <= time.time()
    assert any_api.http.get(f"{BASE}/{LOCATION}").json() == shop


def test_the_definitions_snapshot_of_a_location(api: Api) -> None:
    never_shows_canary(api)
    body = api.http.get(f"{BASE}/{LOCATION}/definitions").json()
    assert body["name"] == LOCATION
    assert body["snapshot_id"] == api.http.get(f"{BASE}/{LOCATION}").json()["snapshot_id"]
    keys = [asset["user_string"] for asset in body["snapshot"]["assets"]]
    assert keys == ["customer_report", "customers", "orders", "orders_summary", "raw_orders"]
    assert [job["name"] for job in body["snapshot"]["jobs"]] == ["crm_job", "sales_job"]


def test_an_unknown_location_is_a_404_naming_the_close_ones(api: Api) -> None:
    for path in (f"{BASE}/shopp", f"{BASE}/shopp/definitions"):
        response = api.http.get(path)
        assert response.status_code == 404
        problem = response.json()
        assert problem["detail"] == (
            "There is no code location 'shopp'. Did you mean 'shop'? The workspace's "
            "locations: shop."
        )
        assert problem["fix"].startswith("Name one of the workspace's code locations")
    assert api.http.post(f"{BASE}/shopp/reload").status_code == 404


def test_a_location_that_did_not_load_shows_its_error_and_the_fix(
    make_instance: MakeInstance, shop_client: CodeServerClient, tmp_path: Path
) -> None:
    (tmp_path / "broken_shop.py").write_text("raise RuntimeError('the broken shop cannot load')\n")
    target = CodeLocationTarget(module_name="broken_shop", working_directory=str(tmp_path))
    with (
        start_workspace(workspace_from_target(target, "broken"), timeout=WAIT) as processes,
        serving(
            create_app(
                ServerContext.for_clients(
                    make_instance("sqlite"),
                    {LOCATION: shop_client, "broken": processes.client("broken")},
                )
            )
        ) as running,
        httpx.Client(base_url=running.url, timeout=WAIT) as http,
    ):
        http.get(f"{BASE}/broken/definitions")  # waits for the code to load
        broken, shop = http.get(BASE).json()["items"]
        assert shop["status"] == "loaded"
        assert broken["name"] == "broken"
        assert broken["status"] == "error"
        assert broken["snapshot_id"] is None
        error = broken["error"]
        assert "the broken shop cannot load" in error["message"]
        assert error["error_type"] == "RuntimeError"
        assert "broken_shop.py" in error["traceback"]
        assert error["fix"] == (
            "Fix the error in the code of location 'broken', then reload it: POST "
            "/api/v1/locations/broken/reload."
        )
        definitions = http.get(f"{BASE}/broken/definitions")
        assert definitions.status_code == 409
        assert definitions.json()["detail"].startswith(
            "code location 'broken' did not load, so it has no definitions: "
        )
        assert definitions.json()["fix"] == error["fix"]


def test_reloading_a_location_serves_its_new_definitions(
    make_instance: MakeInstance, editable: tuple[Path, CodeServerClient]
) -> None:
    path, client = editable
    context = ServerContext.for_clients(make_instance("sqlite"), {"editable": client}, ROLE_AUTH)
    with (
        serving(create_app(context)) as running,
        httpx.Client(base_url=running.url, timeout=WAIT) as http,
    ):
        viewer = as_role("viewer")
        before = http.get(f"{BASE}/editable/definitions", headers=viewer).json()
        assert [a["user_string"] for a in before["snapshot"]["assets"]] == ["first"]
        refused = http.post(f"{BASE}/editable/reload", headers=viewer)
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "'viewer-user' is a viewer; this needs the editor role."
        )
        assert http.post(f"{BASE}/editable/reload", headers=as_role("launcher")).status_code == 403
        generation = http.get(f"{BASE}/editable", headers=viewer).json()["generation"]
        path.write_text(PROJECT.format(name="second"))
        reloaded = http.post(f"{BASE}/editable/reload", headers=as_role("editor"))
        assert reloaded.status_code == 200
        assert reloaded.json()["status"] == "loaded"
        assert reloaded.json()["generation"] == generation + 1
        assert reloaded.json()["snapshot_id"] != before["snapshot_id"]
        after = http.get(f"{BASE}/editable/definitions", headers=viewer).json()
        assert [a["user_string"] for a in after["snapshot"]["assets"]] == ["second"]
        assert after["snapshot_id"] == reloaded.json()["snapshot_id"]
        # a reload into broken code shows the error; the fix reloads it again
        path.write_text("raise ImportError('no module named warehouse')\n")
        failed = http.post(f"{BASE}/editable/reload", headers=as_role("editor")).json()
        assert failed["status"] == "error"
        assert "no module named warehouse" in failed["error"]["message"]


def test_reading_locations_needs_a_viewer(start_api: StartApi) -> None:
    api = start_api("sqlite", ROLE_AUTH)
    assert api.http.get(BASE).status_code == 401
    assert api.http.get(BASE, headers=as_role("viewer")).status_code == 200


def test_a_location_whose_code_server_is_gone_is_unavailable_and_says_how_to_fix_it(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    (tmp_path / "gone_project.py").write_text(PROJECT.format(name="first"))
    target = CodeLocationTarget(module_name="gone_project", working_directory=str(tmp_path))
    with start_workspace(workspace_from_target(target, "gone"), timeout=WAIT) as processes:
        gone = processes.client("gone")
        gone.health()
    # the code server has stopped; the webserver still knows its address
    context = ServerContext.for_clients(make_instance("sqlite"), {"gone": gone})
    with (
        serving(create_app(context)) as running,
        httpx.Client(base_url=running.url, timeout=WAIT) as http,
    ):
        (location,) = http.get(BASE).json()["items"]
        assert location["status"] == "unavailable"
        assert location["pid"] is None
        assert location["address"] == gone.address
        assert location["error"]["fix"] == (
            "Start the code server of location 'gone' again (knoll code-server start) or check "
            "its address in workspace.yaml."
        )
        refused = http.post(f"{BASE}/gone/reload")
        assert refused.status_code == 503
        assert refused.json()["detail"].startswith("code location 'gone' did not reload: ")
        assert refused.json()["fix"] == (
            "Check that the code server of location 'gone' runs (GET "
            "/api/v1/locations/gone), then reload again."
        )
