"""Dashboard charts of the pull and lifecycle slots: SLA breaches per rep and
minimum-claim-rate shortfalls per rep (server-side SVG, like every other chart)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from leadflow.web import charts
from leadflow.web.format import percent


def pull_charts(data: dict[str, Any]) -> dict[str, Markup]:
    sla = data["sla"]
    breaches = [
        charts.Bar(
            r["name"],
            r["breached"],
            f"{r['breached']} missed · {percent(r['breach_rate'])}",
            "bad" if r["breached"] else "",
        )
        for r in sla["reps"]
        if r["breached"] or r["met"]
    ]
    short = [
        charts.Bar(
            f"{r['name']} ({q['queue']})",
            r["shortfall"],
            f"{r['shortfall']} missing · {r['short_days']}/{r['days']} days short",
            "warn" if r["shortfall"] else "",
        )
        for q in data["claim_rates"]["queues"]
        for r in q["reps"]
    ]
    return {
        "sla": charts.hbars(
            breaches, title="SLA breaches per rep", empty="No SLA timer fell due in this period."
        ),
        "claim_rates": charts.hbars(
            short,
            title="Claims missing against the daily minimum",
            empty="No queue sets a daily minimum, or no full day in this period.",
        ),
    }
