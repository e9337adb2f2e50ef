"""Failure alerts delivered for real: an SMTP server and a webhook started in the test, on a
SQLite instance."""

from __future__ import annotations

import email
from collections.abc import Iterator
from pathlib import Path

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
from tests.servers import SMTPServer, WebhookServer, free_port, serving


@asset
def nightly_export() -> None:
    raise PermissionError("bucket exports/ is read-only")


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with serving(SMTPServer()) as server:
        yield server


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    (tmp_path / "knoll.yaml").write_text("storage:\n  sqlite:\n    path: knoll.db\n")
    with Instance.get(tmp_path) as instance:
        yield instance


def test_a_failed_run_is_emailed(smtp: SMTPServer, instance: Instance) -> None:
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
    smtp: SMTPServer, instance: Instance
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

    closed = free_port()
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


@pytest.fixture
def hook() -> Iterator[WebhookServer]:
    with serving(WebhookServer()) as server:
        yield server


def test_a_failed_run_is_posted_to_a_webhook(hook: WebhookServer, instance: Instance) -> None:
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
    closed = free_port()
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
