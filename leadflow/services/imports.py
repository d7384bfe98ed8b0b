"""Import leads from CSV: every line validated first (errors carry line numbers), then
each lead routed. A line without `external_id` gets a key derived from the file's content
and its line number, so re-running an interrupted import never creates duplicates."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticError

from leadflow.errors import ValidationError
from leadflow.schemas import LeadIn
from leadflow.services import routing
from leadflow.services.context import Services

COMPANY_COLUMNS = {
    f"company_{k}": k
    for k in ("name", "domain", "size", "industry", "country", "state", "region", "postcode")
}
LEAD_COLUMNS = {
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "language",
    "source",
    "score",
    "value",
}
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


def parse_csv(data: bytes) -> tuple[list[tuple[int, LeadIn]], list[LineError]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [LineError(0, "file", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    reader = csv.DictReader(io.StringIO(text))
    unknown = [
        c
        for c in reader.fieldnames or []
        if c not in LEAD_COLUMNS and c not in COMPANY_COLUMNS and not c.startswith("attr_")
    ]
    if unknown:
        allowed = ", ".join(sorted(LEAD_COLUMNS | set(COMPANY_COLUMNS))) + ", attr_*"
        return [], [LineError(1, c, f"unknown column; allowed: {allowed}") for c in unknown]
    leads: list[tuple[int, LeadIn]] = []
    errors: list[LineError] = []
    for row in reader:
        line = reader.line_num
        if len(leads) + len(errors) >= MAX_ROWS:
            errors.append(LineError(line, "file", f"more than {MAX_ROWS} rows"))
            break
        try:
            leads.append((line, LeadIn.model_validate(_row_to_lead(row))))
        except PydanticError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "row"
                errors.append(LineError(line, field, err["msg"]))
    return leads, errors


def _row_to_lead(row: dict[str, Any]) -> dict[str, Any]:
    lead: dict[str, Any] = {"company": {}, "attributes": {}}
    for key, value in row.items():
        if key is None:
            # More cells than header columns: a shifted row, refuse rather than guess.
            raise PydanticError.from_exception_data(
                "LeadIn",
                [
                    {
                        "type": "value_error",
                        "loc": ("row",),
                        "input": value,
                        "ctx": {"error": "more cells than columns in the header"},
                    }
                ],
            )
        if value is None or value == "":
            continue
        if key in COMPANY_COLUMNS:
            lead["company"][COMPANY_COLUMNS[key]] = value
        elif key.startswith("attr_"):
            lead["attributes"][key[5:]] = value
        else:
            lead[key] = value
    return lead


def import_leads(
    svc: Services,
    data: bytes,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    leads, errors = parse_csv(data)
    errors = errors or _rulebook_errors(svc, leads)
    if errors:
        raise ImportFailed(errors)
    file_key = hashlib.sha256(data).hexdigest()[:16]
    created = repeated = 0
    keyed = [
        (lead, None if lead.external_id else f"import:{file_key}:{line}") for line, lead in leads
    ]
    for _, was_created in routing.intake_many(svc, keyed, actor="import"):
        created += was_created
        repeated += not was_created
        if progress:
            progress(1)
    return {"rows": len(leads), "created": created, "already_present": repeated}


def _rulebook_errors(svc: Services, leads: list[tuple[int, LeadIn]]) -> list[LineError]:
    """What the active rulebook would refuse at intake (e.g. a phone it requires), found
    before the first lead is stored, so a file is never half-imported."""
    from leadflow.services.hooks import preview_routing_hooks

    hooks = preview_routing_hooks()
    errors: list[LineError] = []
    if not hooks:
        return errors
    now = svc.clock.now()
    with svc.db.read() as s:
        for line, lead in leads:
            doc = routing.lead_document(lead)
            try:
                for hook in hooks:
                    hook(s, doc, now)
            except ValidationError as exc:
                errors.append(LineError(line, exc.field or "row", exc.message))
    return errors


class ImportFailed(ValidationError):
    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(
            f"{len(errors)} error(s); nothing imported. First: {errors[0]}",
            errors=[{"line": e.line, "field": e.field, "message": e.message} for e in errors],
        )
        self.line_errors = errors


def iter_errors(exc: ImportFailed) -> Iterator[str]:
    return (str(e) for e in exc.line_errors)
