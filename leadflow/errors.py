"""Every error a leadflow user can trigger, in one tree.

    LeadflowError
    ├── ValidationError        bad input: names the field and the reason (HTTP 422)
    │   └── RulebookError      a rulebook that cannot be compiled (names rule + field)
    ├── NotFound               an id that does not exist (HTTP 404)
    ├── Conflict               the state changed under you: already claimed, duplicate (409)
    ├── AuthError              missing or bad credentials (HTTP 401)
    ├── Forbidden              the credentials do not allow this (HTTP 403)
    └── Unavailable            a part of the server stopped mid-request: retry (HTTP 503)

Messages say what to change, not only what went wrong.
"""

from __future__ import annotations


class LeadflowError(Exception):
    """Base of every error leadflow raises on purpose."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_detail(self) -> dict[str, object]:
        detail: dict[str, object] = {"message": self.message}
        if self.field is not None:
            detail["field"] = self.field
        return detail


class ValidationError(LeadflowError):
    """Input that is malformed or refers to something that does not exist."""

    status_code = 422

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict[str, object]] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.errors = errors or [{"field": field, "message": message}]

    def as_detail(self) -> dict[str, object]:
        return {"message": self.message, "errors": self.errors}


class RulebookError(ValidationError):
    """A rulebook that cannot be compiled; `rule` names the rule at fault."""

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None) -> None:
        where = f"rule {rule!r}" if rule else "rulebook"
        full = f"{where}: {field + ': ' if field else ''}{message}"
        super().__init__(
            full, field=field, errors=[{"rule": rule, "field": field, "message": message}]
        )
        self.rule = rule


class NotFound(LeadflowError):
    status_code = 404


class Conflict(LeadflowError):
    status_code = 409


class AuthError(LeadflowError):
    status_code = 401


class Forbidden(LeadflowError):
    status_code = 403


class Unavailable(LeadflowError):
    """The request may or may not have taken effect; retrying it with the same
    `Idempotency-Key` (or `external_id`) is safe."""

    status_code = 503
