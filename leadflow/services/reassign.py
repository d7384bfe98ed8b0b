"""Move an owned lead elsewhere by the rules: SLA breach, field change, a rep leaving."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadflow.services.context import Services
from leadflow.store.models import LeadRow


def reroute_if_asked(
    svc: Services, s: Session, lead: LeadRow, changed: list[str], now: datetime, *, actor: str
) -> None:
    """Re-evaluate the rules when a changed field is one the rulebook lists."""
