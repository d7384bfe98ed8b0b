"""Human text for e-mail and Slack: one line of what happened, then what to do."""

from __future__ import annotations

from typing import Any

TITLES = {
    "offer.made": "New lead offered to you",
    "offer.withdrawn": "Offer withdrawn",
    "offer.expired": "Offer expired",
    "offer.accepted": "Offer accepted",
    "lead.assigned": "Lead assigned",
    "lead.created": "Lead created",
    "lead.queued": "Lead queued",
    "lead.claimed": "Lead claimed",
    "lead.released": "Lead released",
    "sla.breached": "SLA breached",
}


def subject(event: str, data: dict[str, Any]) -> str:
    title = TITLES.get(event, event)
    company = (data.get("lead") or {}).get("company") or {}
    name = company.get("name")
    return f"[leadflow] {title}" + (f": {name}" if name else "")


def text(event: str, data: dict[str, Any], public_url: str) -> str:
    lines = [subject(event, data).removeprefix("[leadflow] ")]
    lead = data.get("lead") or {}
    company = lead.get("company") or {}
    for label, value in (
        ("Company", company.get("name")),
        ("Country", company.get("country")),
        ("Score", lead.get("score")),
        ("Expires", data.get("expires_at")),
        ("Reason", data.get("reason")),
    ):
        if value not in (None, ""):
            lines.append(f"{label}: {value}")
    if event == "offer.made" and data.get("offer_id") is not None:
        lines.append(f"Accept: {public_url.rstrip('/')}/?offer={data['offer_id']}")
    elif lead.get("id") is not None:
        lines.append(f"Lead: {public_url.rstrip('/')}/?lead={lead['id']}")
    return "\n".join(lines)
