"""The app's frame: the OpenAPI document, problem documents for every error, cursors, and
the instance routes."""

from __future__ import annotations

import pytest

from knoll.server.auth import logins_required
from knoll.server.pagination import cursor_value, encode_cursor
from knoll.server.problems import Problem
from tests.server.conftest import Api, StartApi


def test_openapi_document_is_served_under_api_v1(api: Api) -> None:
    response = api.http.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "knoll"
    assert "/api/v1/instance" in document["paths"]


def test_health_needs_no_credentials_where_logins_are_required(start_api: StartApi) -> None:
    api = start_api("sqlite", auth=logins_required())
    response = api.http.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert api.http.get("/api/v1/instance").status_code == 401  # the same client, refused


def test_instance_says_where_everything_is_kept(any_api: Api) -> None:
    body = any_api.http.get("/api/v1/instance").json()
    assert body["info"]["storage"] in {"sqlite", "postgres"}
    assert body["daemon_heartbeats"] == []


def test_unknown_route_is_a_problem_document(api: Api) -> None:
    response = api.http.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "There is no route /api/v1/nothing-here."
    assert "openapi.json" in body["fix"]


def test_wrong_method_is_a_405_problem(api: Api) -> None:
    response = api.http.delete("/api/v1/health")
    assert response.status_code == 405
    assert response.json()["detail"] == "/api/v1/health does not answer DELETE."


def test_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    cursor = encode_cursor({"after": 41})
    assert cursor_value(cursor, "after", int) == 41
    assert cursor_value(None, "after", int) is None
    for forged in ("not-base64!", encode_cursor({"after": "41"}), "bnVsbA"):
        with pytest.raises(Problem) as raised:
            cursor_value(forged, "after", int)
        assert raised.value.document.status == 400
        assert "is not a cursor this list gave out" in raised.value.document.detail


def test_the_listening_socket_is_tcp_so_responses_are_not_held_back() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP; with 0, Nagle's
    # algorithm held every response body back until the client's delayed ACK (40 ms)
    import socket

    from knoll.server.serve import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
