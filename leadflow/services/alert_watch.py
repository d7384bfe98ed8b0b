"""Manager alerts out through the outbox: the dashboard's alerts (domain/alerts.py
thresholds over services/metrics.py figures) are evaluated by the worker every few
minutes, and an alert that was not active before is published as `alert.raised` —
to the subscribed endpoints, and in-app to every team manager.

State (which alerts are active, when to look next) is one `app_settings` row, locked
while it is updated, so two workers never raise the same alert twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from leadflow.services import metrics
from leadflow.services.context import Services
from leadflow.services.notifications import notify_reps, publish
from leadflow.store.models import TeamRow
from leadflow.store.web_models import AppSettingRow

KEY = "alert_watch"
EVERY = timedelta(minutes=5)
PERIOD = "24h"
EVENT = "alert.raised"


def _due(row: AppSettingRow | None, now: datetime) -> bool:
    if row is None or "next_at" not in row.value:
        return True
    return datetime.fromisoformat(row.value["next_at"]) <= now


def run_due_timers(svc: Services, now: datetime, limit: int) -> int:
    """Evaluate the alerts when due; returns how many were newly raised."""
    with svc.db.read() as s:
        if not _due(s.get(AppSettingRow, KEY), now):
            return 0
    alerts: list[dict[str, Any]] = metrics.report(svc, metrics.scope(now, period=PERIOD))["alerts"]
    with svc.db.write() as s:
        row = s.get(AppSettingRow, KEY, with_for_update=True)
        if row is None:
            row = AppSettingRow(key=KEY, value={}, updated_at=now, updated_by="worker")
            s.add(row)
        elif not _due(row, now):
            return 0  # another worker looked meanwhile
        active = set(row.value.get("active", []))
        raised = [a for a in alerts if a["key"] not in active]  # a handful at most
        managers = set(
            s.scalars(select(TeamRow.manager_rep_id).where(TeamRow.manager_rep_id.isnot(None)))
        )
        for alert in raised:
            data = {**alert, "severity": str(alert["severity"]), "period": PERIOD}
            publish(s, EVENT, data, now)
            notify_reps(s, EVENT, {rid: data for rid in managers}, now, hot=False)
        # An alert that clears is forgotten, so it is raised again if it comes back.
        row.value = {
            "next_at": (now + EVERY).isoformat(),
            "active": sorted(a["key"] for a in alerts),
        }
        row.updated_at = now
        return len(raised)
