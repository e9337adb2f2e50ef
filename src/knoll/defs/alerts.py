"""Ready-made run failure sensors that tell someone: by email (SMTP) or by a JSON webhook.

Each is a ``@run_failure_sensor`` whose function sends one message per failed run. A server
that refuses the message or cannot be reached fails the tick with an error naming the sensor
and the server's host and port.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from knoll.defs.run_status_sensor import (
    RunFailureSensorContext,
    RunStatusSensorDefinition,
    run_failure_sensor,
)
from knoll.defs.sensor import DefaultSensorStatus
from knoll.errors import AlertDeliveryError, DefinitionError

_SMTP_TYPES = ("SSL", "STARTTLS", "PLAIN")
_DEFAULT_PORTS = {"SSL": 465, "STARTTLS": 587, "PLAIN": 25}
_TIMEOUT = 30.0  # seconds to wait for a mail or webhook server


def default_failure_email_subject(context: RunFailureSensorContext) -> str:
    return f"Knoll run failed: {context.dagster_run.job_name}"


def default_failure_email_body(context: RunFailureSensorContext) -> str:
    run = context.dagster_run
    return "<br>".join(
        [
            f"Job {run.job_name} failed!",
            f"Run ID: {run.run_id}",
            f"Error: {context.failure_event.message}",
        ]
    )


def make_email_on_run_failure_sensor(  # noqa: PLR0913 (Dagster's keyword arguments)
    email_from: str,
    email_password: str,
    email_to: Sequence[str],
    email_body_fn: Callable[[RunFailureSensorContext], str] = default_failure_email_body,
    email_subject_fn: Callable[[RunFailureSensorContext], str] = default_failure_email_subject,
    smtp_host: str = "smtp.gmail.com",
    smtp_type: str = "SSL",
    smtp_port: int | None = None,
    smtp_user: str | None = None,
    name: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    monitor_all_code_locations: bool = False,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
) -> RunStatusSensorDefinition:
    """A sensor that emails ``email_to`` about each failed run of ``monitored_jobs`` (every
    job when None). ``smtp_type`` is ``SSL``, ``STARTTLS`` or ``PLAIN`` (no encryption, for
    a local relay); the login is skipped when ``email_password`` is empty."""
    sensor_name = name or "email_on_run_failure"
    if smtp_type not in _SMTP_TYPES:
        raise DefinitionError(
            f"sensor {sensor_name!r}: smtp_type must be one of {', '.join(_SMTP_TYPES)}, "
            f"got {smtp_type!r}."
        )
    if isinstance(email_to, str) or not email_to:
        raise DefinitionError(
            f"sensor {sensor_name!r}: email_to must be a non-empty list of addresses, got "
            f"{email_to!r}; for one address write [address]."
        )
    port = smtp_port or _DEFAULT_PORTS[smtp_type]
    recipients = list(email_to)

    @run_failure_sensor(
        name=sensor_name,
        monitored_jobs=monitored_jobs,
        monitor_all_code_locations=monitor_all_code_locations,
        default_status=default_status,
    )
    def email_on_run_failure(context: RunFailureSensorContext) -> None:
        message = EmailMessage()
        message["From"], message["To"] = email_from, ", ".join(recipients)
        message["Subject"] = email_subject_fn(context)
        message.set_content(email_body_fn(context), subtype="html")
        where = f"{smtp_host}:{port}"
        try:
            _send_mail(smtp_type, smtp_host, port, smtp_user or email_from, email_password, message)
        except (OSError, smtplib.SMTPException) as exc:
            raise AlertDeliveryError(
                f"sensor {sensor_name!r} could not email the failure of run "
                f"{context.dagster_run.run_id} through {where}: {type(exc).__name__}: {exc}. "
                "Check smtp_host, smtp_port, smtp_type and the credentials."
            ) from exc

    return email_on_run_failure


def _send_mail(
    smtp_type: str, host: str, port: int, user: str, password: str, message: EmailMessage
) -> None:
    client: smtplib.SMTP
    if smtp_type == "SSL":
        client = smtplib.SMTP_SSL(
            host, port, timeout=_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port, timeout=_TIMEOUT)
    with client:
        if smtp_type == "STARTTLS":
            client.starttls(context=ssl.create_default_context())
        if password:
            client.login(user, password)
        client.send_message(message)


def default_failure_payload(context: RunFailureSensorContext) -> Mapping[str, Any]:
    run = context.dagster_run
    return {
        "sensor": context.sensor_name,
        "job_name": run.job_name,
        "run_id": run.run_id,
        "status": "FAILURE",
        "error": context.error_message,
        "tags": dict(run.tags),
    }


def make_webhook_on_run_failure_sensor(
    url: str,
    *,
    payload_fn: Callable[[RunFailureSensorContext], Mapping[str, Any]] = default_failure_payload,
    headers: Mapping[str, str] | None = None,
    name: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    monitor_all_code_locations: bool = False,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
) -> RunStatusSensorDefinition:
    """A sensor that POSTs a JSON document (``payload_fn``'s, by default the job, run id,
    error and tags) to ``url`` for each failed run of ``monitored_jobs``."""
    sensor_name = name or "webhook_on_run_failure"
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DefinitionError(
            f"sensor {sensor_name!r}: url must be an http:// or https:// address, got {url!r}."
        )
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    sent_headers = {"Content-Type": "application/json", **(headers or {})}

    @run_failure_sensor(
        name=sensor_name,
        monitored_jobs=monitored_jobs,
        monitor_all_code_locations=monitor_all_code_locations,
        default_status=default_status,
    )
    def webhook_on_run_failure(context: RunFailureSensorContext) -> None:
        body = json.dumps(payload_fn(context)).encode()
        request = urllib.request.Request(url, data=body, headers=sent_headers, method="POST")
        run_id = context.dagster_run.run_id
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise AlertDeliveryError(
                f"sensor {sensor_name!r}: the webhook at {where} refused the failure of run "
                f"{run_id} with HTTP {exc.code} {exc.reason}."
            ) from exc
        except OSError as exc:
            reason = getattr(exc, "reason", exc)
            raise AlertDeliveryError(
                f"sensor {sensor_name!r} could not reach the webhook at {where} for the "
                f"failure of run {run_id}: {reason}. Check the url and that the server is up."
            ) from exc

    return webhook_on_run_failure
