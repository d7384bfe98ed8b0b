"""Senders: one function per channel. Each raises DeliveryError when the receiver did not
take the message, so the outbox retries it; none of them logs secrets or bodies."""

from __future__ import annotations

import json
import smtplib
import threading
from email.message import EmailMessage
from typing import Any

import httpx

from leadflow.config import Settings
from leadflow.notify import signing

TIMEOUT = httpx.Timeout(10.0)


class DeliveryError(Exception):
    """The receiver refused or could not be reached: try again later."""


def envelope(message_id: str, event: str, created_at: str, data: dict[str, Any]) -> bytes:
    body = {"id": message_id, "type": event, "created_at": created_at, "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def post_webhook(
    url: str, secret: str, message_id: str, event: str, body: bytes, timestamp: int
) -> None:
    headers = {
        "Content-Type": "application/json",
        signing.ID_HEADER: message_id,
        signing.EVENT_HEADER: event,
        signing.TIMESTAMP_HEADER: str(timestamp),
    }
    if secret:
        headers[signing.SIGNATURE_HEADER] = signing.sign(secret, timestamp, body)
    _post(url, body, headers)


def post_slack(url: str, text: str, message_id: str) -> None:
    """Slack incoming-webhook format: `{"text": ...}` (Mattermost, Rocket.Chat accept it)."""
    body = json.dumps({"text": text}).encode()
    _post(url, body, {"Content-Type": "application/json", signing.ID_HEADER: message_id})


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _http() -> httpx.Client:
    """One client per process, made on first use (so after any fork) and reused: making
    one (its TLS context) costs ~50 ms of CPU, more than a delivery; it also keeps
    connections to a receiver alive between messages. httpx clients are thread-safe."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        return _client


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        response = _http().post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: could not reach the receiver") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"receiver answered HTTP {response.status_code}")


def send_email(settings: Settings, to: str, subject: str, text: str, message_id: str) -> None:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    # A stable Message-ID lets mail clients and receivers drop a retried duplicate.
    msg["Message-ID"] = f"<{message_id}@leadflow>"
    msg["X-Leadflow-Id"] = message_id
    msg.set_content(text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}") from None
