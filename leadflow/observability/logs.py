"""Structured logs. One JSON object per line (or plain text), with the request id of the
HTTP request being served, and secrets scrubbed from the final text of every record.

Scrubbing happens on the formatted output (message, arguments and tracebacks alike) so
that no code path, ours or a library's, can put a token or password into the logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str | None] = ContextVar("leadflow_request_id", default=None)

#: Attributes every LogRecord has; anything else was passed with `extra=` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_PATTERNS = [
    # leadflow API tokens (`lf_` + urlsafe base64): the most likely secret to leak.
    (re.compile(r"lf_[A-Za-z0-9_\-]{8,}"), "lf_***"),
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), r"\1 ***"),
    (re.compile(r"(?i)(authorization|cookie|set-cookie)([\"']?\s*[:=]\s*[\"']?)[^\"'\n]+"),
     r"\1\2***"),
    (re.compile(r"(?i)(password|passwd|secret|token)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;]+"),
     r"\1\2***"),
    # passwords inside database URLs: scheme://user:password@host
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
]
_extra_secrets: list[str] = []


def add_secret(value: str | None) -> None:
    """Scrub this exact value too (e.g. LEADFLOW_ADMIN_TOKEN, which may have any shape)."""
    if value and len(value) >= 4 and value not in _extra_secrets:
        _extra_secrets.append(value)


def redact(text: str) -> str:
    for secret in _extra_secrets:
        text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = request_id.get()
        return redact(f"{text} request_id={rid}" if rid else text)


_HANDLER_NAME = "leadflow"


def configure_logging(level: str = "info", json_logs: bool = True) -> None:
    """Send every logger (ours, uvicorn's, SQLAlchemy's) to stderr through one scrubbing
    handler. Idempotent: reconfiguring replaces leadflow's handler, not others'."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == _HANDLER_NAME:
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if json_logs else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
