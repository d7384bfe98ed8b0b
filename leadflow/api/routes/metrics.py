"""Metrics for managers: distribution and fairness, speed, conversion, queues, claims,
alerts. Every chart of the dashboard reads these same numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response

from leadflow.api.deps import Staff, SvcDep
from leadflow.services import metrics

router = APIRouter(prefix="/metrics", tags=["metrics"])


def _scope(
    svc: SvcDep,
    period: Annotated[str | None, Query(max_length=8, description="24h, 7d, 30d or 90d")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
) -> metrics.Scope:
    return metrics.scope(svc.clock.now(), period=period, since=since, until=until, team=team)


ScopeDep = Annotated[metrics.Scope, Depends(_scope)]
SECTIONS = ("distribution", "latency", "conversion", "routing", "queues", "claims", "sla",
            "claim_rates", "alerts")


@router.get("")
def dashboard(svc: SvcDep, sc: ScopeDep, _: Staff) -> dict[str, Any]:
    """Every metric at once (what the dashboard shows)."""
    return metrics.report(svc, sc)


@router.get("/export.csv", response_class=Response)
def export_csv(
    svc: SvcDep,
    sc: ScopeDep,
    _: Staff,
    section: Annotated[str, Query(max_length=16)] = "reps",
) -> Response:
    """One table as CSV: `reps` (default), `conversion`, `queues` or `summary`."""
    text = metrics.to_csv(metrics.report(svc, sc), section)
    name = f"leadflow-{section}-{sc.since:%Y%m%d}-{sc.until:%Y%m%d}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/thresholds")
def get_thresholds(svc: SvcDep, _: Staff) -> dict[str, float]:
    return metrics.get_thresholds(svc)


@router.put("/thresholds")
def put_thresholds(
    svc: SvcDep,
    principal: Staff,
    body: Annotated[dict[str, float], Body(max_length=20)],
) -> dict[str, float]:
    """Change some alert thresholds (others keep their value)."""
    return metrics.set_thresholds(svc, body, actor=principal.name)


def _section(name: str) -> Any:
    def read(svc: SvcDep, sc: ScopeDep, _: Staff) -> dict[str, Any]:
        data = metrics.report(svc, sc)
        return {"scope": data["scope"], name: data[name]}

    read.__name__ = f"metrics_{name}"
    read.__doc__ = f"The `{name}` part of the metrics."
    return read


for _name in SECTIONS:
    router.add_api_route(f"/{_name}", _section(_name), methods=["GET"])
