"""Manager dashboard: distribution and fairness charts, speed, conversion, queues,
claim patterns and alerts, for a period and a team. Same numbers as /api/v1/metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadflow.errors import ValidationError
from leadflow.services import metrics, org
from leadflow.web import charts
from leadflow.web.core import STAFF, NavItem, StaffForm, StaffViewer, field, render, see_other
from leadflow.web.format import duration, number, percent

router = APIRouter()
NAV = [
    NavItem("Dashboard", "/dashboard", STAFF, order=10),
    NavItem("Alerts", "/alerts", STAFF, order=20),
]


def _day(value: str | None, name: str) -> datetime | None:
    """A `YYYY-MM-DD` from the date picker → midnight UTC."""
    if not value:
        return None
    try:
        return datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD)", field=name) from None


def _scope(request: Request) -> tuple[metrics.Scope, str | None]:
    """Period (or from/to dates, `to` included) and team from the query string; a bad
    one falls back to the default period with a message."""
    q = request.query_params
    svc = request.app.state.services
    try:
        since, to = _day(q.get("from"), "from"), _day(q.get("to"), "to")
        return metrics.scope(
            svc.clock.now(),
            period=None if since or to else q.get("period") or None,
            since=since,
            until=to + timedelta(days=1) if to else None,
            team=(q.get("team") or "")[:100] or None,
        ), None
    except ValidationError as exc:
        return metrics.scope(svc.clock.now()), exc.message


def _count_bars(reps: list[dict[str, Any]], key: str, fmt: Any) -> list[charts.Bar]:
    ordered = sorted(reps, key=lambda r: (-r[key], r["name"]))
    return [charts.Bar(r["name"], r[key], fmt(r[key])) for r in ordered]


def _latency_bars(block: dict[str, Any], limit: float | None) -> list[charts.Bar]:
    bars = []
    for q in ("p50", "p95", "p99"):
        v = block[f"{q}_seconds"]
        if v is not None:
            css = "bad" if limit is not None and v > limit else ""
            bars.append(charts.Bar(q, v, duration(v), css))
    return bars


def _group_bars(groups: list[dict[str, Any]]) -> list[charts.Bar]:
    return [
        charts.Bar(
            g["key"],
            g["leads"],
            f"{g['leads']} leads · {percent(g['conversion'])} won",
            "alt" if i % 2 else "",
        )
        for i, g in enumerate(groups[:12])
    ]


def build_charts(data: dict[str, Any]) -> dict[str, Any]:
    dist, lat, limits = data["distribution"], data["latency"], data["thresholds"]
    reps = dist["reps"]
    mean_count = dist["count"]["mean"]
    return {
        "leads_per_rep": charts.hbars(
            _count_bars(reps, "leads", lambda v: number(v)),
            title="Leads per rep",
            threshold=mean_count,
            threshold_label=f"mean {number(mean_count, 1)}",
            empty="No reps in this team.",
        ),
        "value_per_rep": charts.hbars(
            _count_bars(reps, "value", lambda v: number(v)), title="Lead value per rep"
        ),
        "lorenz_count": charts.lorenz(
            [r["leads"] for r in reps],
            title="Lorenz curve of leads per rep",
            gini=dist["count"]["gini"],
        ),
        "lorenz_value": charts.lorenz(
            [r["value"] for r in reps],
            title="Lorenz curve of value per rep",
            gini=dist["value"]["gini"],
        ),
        "latency": charts.hbars(
            _latency_bars(lat["assignment"], limits["latency_p95_seconds"]),
            title="Assignment latency percentiles",
            threshold=limits["latency_p95_seconds"],
            threshold_label=f"alert {duration(limits['latency_p95_seconds'])}",
            empty="No lead was assigned in this period.",
        ),
        "first_contact": charts.hbars(
            _latency_bars(lat["first_contact"], None),
            title="Time to first contact",
            empty="No contact recorded yet (contacts come from lead activities).",
        ),
        "by_method": charts.hbars(
            _group_bars(data["conversion"]["by_method"]),
            title="Leads and conversion by routing method",
            width=480,
        ),
        "by_rule": charts.hbars(
            _group_bars(data["conversion"]["by_rule"]),
            title="Leads and conversion by rule",
            width=480,
        ),
        "by_source": charts.hbars(
            _group_bars(data["conversion"]["by_source"]),
            title="Leads and conversion by source",
            width=480,
            empty="No lead gave a source.",
        ),
        "queues": charts.hbars(
            [
                charts.Bar(
                    q["queue"],
                    q["oldest_seconds"],
                    f"{q['count']} waiting · oldest {duration(q['oldest_seconds'])}",
                    "warn",
                )
                for q in data["queues"]
            ],
            title="Lead age in queues",
            width=480,
            empty="No lead is waiting in a queue.",
        ),
        "cherry": charts.hbars(
            [
                charts.Bar(
                    c["name"],
                    max(c["cherry_picking_index"] or 0, 0),
                    f"{(c['cherry_picking_index'] or 0):+.2f} sd · {c['claims']} claims",
                    "bad" if (c["cherry_picking_index"] or 0) > 0.5 else "",
                )
                for c in data["claims"]["reps"]
            ],
            title="Cherry-picking index",
            threshold=0.5,
            threshold_label="0.5 sd",
            empty="No claims in this period.",
        ),
    }


@router.get("/dashboard")
def dashboard(request: Request, who: StaffViewer) -> Response:
    sc, problem = _scope(request)
    svc = request.app.state.services
    data = metrics.report(svc, sc)
    query: dict[str, str] = {"team": sc.team or ""}
    if sc.period:
        query["period"] = sc.period
    else:
        query["since"], query["until"] = sc.since.isoformat(), sc.until.isoformat()
    return render(
        request,
        "dashboard.html",
        who,
        {
            "data": data,
            "charts": build_charts(data),
            "teams": [t["name"] for t in org.list_teams(svc)],
            "periods": list(metrics.PERIODS),
            "scope": sc,
            "problem": problem,
            "csv_query": urlencode(query),
            "one_day": timedelta(days=1),
            "csv_sections": metrics.CSV_SECTIONS,
        },
    )


def _alerts_page(
    request: Request, who: Any, sc: metrics.Scope, problem: str | None, status_code: int = 200
) -> Response:
    data = metrics.report(request.app.state.services, sc)
    context = {"data": data, "scope": sc, "problem": problem, "labels": THRESHOLD_LABELS}
    return render(request, "alerts.html", who, context, status_code=status_code)


@router.get("/alerts")
def alerts(request: Request, who: StaffViewer) -> Response:
    sc, problem = _scope(request)
    return _alerts_page(request, who, sc, problem)


THRESHOLD_LABELS = {
    "error_rate": ("Routing errors above (share, 0.05 = 5 %)", "0.01"),
    "latency_p95_seconds": ("Assignment latency p95 above (seconds)", "1"),
    "first_response_seconds": ("First response for high priority above (seconds)", "60"),
    "high_priority_score": ("High priority from score", "1"),
    "min_leads": ("Judge rates from this many leads", "1"),
}


@router.post("/alerts/thresholds")
def save_thresholds(request: Request, form: StaffForm) -> Response:
    who, data = form
    changes = {k: field(data, k, max_length=30) for k in THRESHOLD_LABELS if field(data, k)}
    svc = request.app.state.services
    try:
        metrics.set_thresholds(svc, changes, actor=who.principal.name)
    except ValidationError as exc:
        return _alerts_page(request, who, metrics.scope(svc.clock.now()), exc.message, 422)
    return see_other("/alerts?saved=1")
