"""Failure alerts delivered for real: an SMTP server and a webhook started in the test, on a
SQLite instance."""

from __future__ import annotations

import base64
import email
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AlertDeliveryError,
    DefinitionError,
    RunFailureSensorContext,
    asset,
    build_sensor_context,
    define_asset_job,
    make_email_on_run_failure_sensor,
    make_webhook_on_run_failure_sensor,
    materialize,
)
from knoll.errors import UserCodeError
from knoll.instance import Instance


@asset
def nightly_export() -> None:
    raise PermissionError("bucket exports/ is read-only")


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.logins: list[str] = []
        self.refuse = False


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    server: _SMTPServer

    def _say(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        box = self.server.mailbox
        self._say("220 test.local ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250-test.local")
                self._say("250 AUTH PLAIN")
            elif verb == "AUTH":
                box.logins.append(base64.b64decode(line.split()[2]).decode().split("\0")[1])
                self._say("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                sender = line.split(":", 1)[1].strip(" <>")
                self._say("250 OK")
            elif verb == "RCPT":
                if box.refuse:
                    self._say("550 5.7.1 relaying denied")
                    continue
                recipients.append(line.split(":", 1)[1].strip(" <>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 end with .")
                body = []
                while (data := self.rfile.readline().decode()) not in (".\r\n", ""):
                    body.append(data)
                box.messages.append({"from": sender, "to": recipients, "data": "".join(body)})
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 OK")


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.mailbox = _Mailbox()


@pytest.fixture
def smtp() -> Iterator[_SMTPServer]:
    server = _SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    (tmp_path / "knoll.yaml").write_text("storage:\n  sqlite:\n    path: knoll.db\n")
    with Instance.get(tmp_path) as instance:
        yield instance


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_failed_run_is_emailed(smtp: _SMTPServer, instance: Instance) -> None:
    def subject(context: RunFailureSensorContext) -> str:
        return f"[data] {context.dagster_run.job_name} failed"

    alert = make_email_on_run_failure_sensor(
        email_from="knoll@example.com",
        email_password="app-password",
        email_to=["oncall@example.com", "data@example.com"],
        email_subject_fn=subject,
        smtp_host="127.0.0.1",
        smtp_port=smtp.server_address[1],
        smtp_type="PLAIN",
        name="mail_on_failure",
    )
    start = alert.evaluate_tick(build_sensor_context(instance=instance))
    failed = materialize([nightly_export], instance=instance, raise_on_error=False)
    alert.evaluate_tick(build_sensor_context(instance, cursor=start.cursor))

    (mail,) = smtp.mailbox.messages
    assert smtp.mailbox.logins == ["knoll@example.com"]
    assert mail["from"] == "knoll@example.com"
    assert mail["to"] == ["oncall@example.com", "data@example.com"]
    parsed = email.message_from_string(mail["data"])
    assert parsed["Subject"] == "[data] __ephemeral_asset_job__ failed"
    body = parsed.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert f"Run ID: {failed.run_id}" in body.decode()
    assert "Error: run of job '__ephemeral_asset_job__' failed" in body.decode()
    assert alert.name == "mail_on_failure"


def test_a_refused_or_unreachable_mail_server_fails_the_tick(
    smtp: _SMTPServer, instance: Instance
) -> None:
    smtp.mailbox.refuse = True
    port = smtp.server_address[1]
    alert = make_email_on_run_failure_sensor(
        email_from="knoll@example.com",
        email_password="",
        email_to=["oncall@example.com"],
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_type="PLAIN",
    )
    start = alert.evaluate_tick(build_sensor_context(instance=instance))
    materialize([nightly_export], instance=instance, raise_on_error=False)
    with pytest.raises(UserCodeError) as info:
        alert.evaluate_tick(build_sensor_context(instance, cursor=start.cursor))
    assert isinstance(info.value.__cause__, AlertDeliveryError)
    message = str(info.value)
    assert "sensor 'email_on_run_failure' could not email the failure of run" in message
    assert f"127.0.0.1:{port}" in message
    assert "relaying denied" in message

    closed = _free_port()
    down = make_email_on_run_failure_sensor(
        email_from="knoll@example.com",
        email_password="",
        email_to=["oncall@example.com"],
        smtp_host="127.0.0.1",
        smtp_port=closed,
        smtp_type="PLAIN",
        name="mail_down",
    )
    with pytest.raises(UserCodeError, match=f"'mail_down' could not email .* 127.0.0.1:{closed}"):
        down.evaluate_tick(build_sensor_context(instance, cursor=start.cursor))


class _Hook(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append((dict(self.headers), json.loads(self.rfile.read(length))))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return


class _HookServer(HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.received: list[tuple[dict[str, str], Any]] = []
        self.status = 204


@pytest.fixture
def hook() -> Iterator[_HookServer]:
    server = _HookServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_failed_run_is_posted_to_a_webhook(hook: _HookServer, instance: Instance) -> None:
    exports = define_asset_job("exports", selection="nightly_export")
    port = hook.server_address[1]
    alert = make_webhook_on_run_failure_sensor(
        f"http://127.0.0.1:{port}/alerts",
        headers={"Authorization": "Bearer t0ken"},
        name="hook_on_failure",
    )
    start = alert.evaluate_tick(build_sensor_context(instance=instance))
    failed = materialize([nightly_export], instance=instance, raise_on_error=False)
    alert.evaluate_tick(build_sensor_context(instance, cursor=start.cursor))
    ((headers, payload),) = hook.received
    assert headers["Authorization"] == "Bearer t0ken"
    assert payload["run_id"] == failed.run_id
    assert payload["sensor"] == "hook_on_failure"
    assert payload["status"] == "FAILURE"
    assert "nightly_export" in payload["error"]
    assert exports.name == "exports"

    hook.status = 503
    again = materialize([nightly_export], instance=instance, raise_on_error=False)
    with pytest.raises(UserCodeError) as info:
        alert.evaluate_tick(build_sensor_context(instance, cursor=start.cursor))
    message = str(info.value)
    assert f"the webhook at 127.0.0.1:{port} refused the failure of run" in message
    assert "HTTP 503" in message
    assert again.run_id  # the second failure is the one it could not deliver


def test_an_unreachable_webhook_and_bad_arguments_are_explained(instance: Instance) -> None:
    closed = _free_port()
    alert = make_webhook_on_run_failure_sensor(f"http://127.0.0.1:{closed}/x", name="hook_down")
    start = alert.evaluate_tick(build_sensor_context(instance=instance))
    materialize([nightly_export], instance=instance, raise_on_error=False)
    with pytest.raises(
        UserCodeError, match=f"'hook_down' could not reach the webhook at 127.0.0.1:{closed}"
    ):
        alert.evaluate_tick(build_sensor_context(instance, cursor=start.cursor))
    with pytest.raises(DefinitionError, match="url must be an http:// or https:// address"):
        make_webhook_on_run_failure_sensor("ftp://files.example.com")
    with pytest.raises(DefinitionError, match="smtp_type must be one of SSL, STARTTLS, PLAIN"):
        make_email_on_run_failure_sensor("a@example.com", "", ["b@example.com"], smtp_type="TLS")
    with pytest.raises(DefinitionError, match="email_to must be a non-empty list"):
        make_email_on_run_failure_sensor("a@example.com", "", "b@example.com")
