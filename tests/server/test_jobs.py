"""Jobs of the code locations, with the JSON Schema of their run config and a scaffold."""

from __future__ import annotations

from typing import Any

import yaml

from knoll.server.api.jobs import config_scaffold
from knoll.server.pagination import encode_cursor
from tests.server.canary import never_shows_canary
from tests.server.conftest import CANARY, Api


def test_jobs_of_every_location_page_by_page(api: Api) -> None:
    never_shows_canary(api)
    body = api.http.get("/api/v1/jobs").json()
    assert [(j["location"], j["name"]) for j in body["items"]] == [
        ("shop", "crm_job"),
        ("shop", "sales_job"),
    ]
    assert body["next_cursor"] is None
    crm, sales = body["items"]
    assert crm["asset_selection"] == ["customer_report", "customers"]
    assert crm["partitioned"] is False
    assert sales["partitioned"] is True
    first = api.http.get("/api/v1/jobs", params={"limit": 1}).json()
    assert [j["name"] for j in first["items"]] == ["crm_job"]
    rest = api.http.get("/api/v1/jobs", params={"limit": 1, "cursor": first["next_cursor"]})
    assert [j["name"] for j in rest.json()["items"]] == ["sales_job"]
    assert rest.json()["next_cursor"] is None
    only = api.http.get("/api/v1/jobs", params={"location": "shop"}).json()
    assert len(only["items"]) == 2


def test_jobs_refusals(api: Api) -> None:
    never_shows_canary(api)
    response = api.http.get("/api/v1/jobs", params={"location": "shops"})
    assert response.status_code == 404
    assert response.json()["detail"] == "There is no code location 'shops'."
    assert response.json()["fix"] == "Did you mean 'shop'? Locations: shop."
    response = api.http.get("/api/v1/jobs", params={"cursor": encode_cursor({"after": 1})})
    assert response.status_code == 400
    response = api.http.get("/api/v1/jobs/shop/crm_jbo")
    assert response.status_code == 404
    assert response.json()["detail"] == "There is no job 'crm_jbo'."
    assert response.json()["fix"] == (
        "Did you mean 'crm_job'? Jobs of code location 'shop': crm_job, sales_job."
    )
    response = api.http.get("/api/v1/jobs/nowhere/crm_job")
    assert response.status_code == 404
    assert response.json()["detail"] == "There is no code location 'nowhere'."


def test_a_job_with_its_config_schema_and_scaffold(any_api: Api) -> None:
    never_shows_canary(any_api)
    response = any_api.http.get("/api/v1/jobs/shop/crm_job")
    assert response.status_code == 200
    assert CANARY not in response.text
    body = response.json()
    schema = body["run_config_schema"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    customers = schema["properties"]["ops"]["properties"]["customers"]
    fields = customers["properties"]["config"]["properties"]
    assert fields["fail"]["type"] == "boolean"
    assert fields["rows"]["default"] == 3
    scaffold = {"ops": {"customers": {"config": {"fail": False, "rows": 3}}}}
    assert body["config_scaffold"] == scaffold
    assert yaml.safe_load(body["config_scaffold_yaml"]) == scaffold
    sales = any_api.http.get("/api/v1/jobs/shop/sales_job").json()
    assert sales["partitions"] is not None
    assert sales["config_scaffold"] == {}
    assert sales["config_scaffold_yaml"] == "{}\n"


def test_scaffold_places_a_value_for_each_required_field() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "ops": {
                "type": "object",
                "properties": {
                    "load": {
                        "type": "object",
                        "properties": {"config": {"$ref": "#/$defs/Load"}},
                        "required": ["config"],
                    }
                },
                "required": ["load"],
            },
            "loggers": {"type": "object", "maxProperties": 0},
        },
        "required": ["ops"],
        "$defs": {
            "Load": {
                "type": "object",
                "properties": {
                    "table": {"type": "string"},
                    "limit": {"type": "integer"},
                    "batch": {"type": "integer", "default": 100},
                    "columns": {"type": "array", "items": {"type": "string"}},
                    "mode": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
                    "note": {"type": "string"},
                },
                "required": ["table", "limit", "columns", "mode"],
            }
        },
    }
    assert config_scaffold(schema) == {
        "ops": {
            "load": {
                "config": {"table": "", "limit": 0, "batch": 100, "columns": [], "mode": False}
            }
        }
    }
    assert config_scaffold({"type": "object"}) == {}
