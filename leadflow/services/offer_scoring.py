"""Gather each rep's logged outcomes for the performance score (domain/performance.py).

Conversion comes from leads the rep owned that ended won or lost; acceptance and response
time from the rep's past offers. Only the last `window_days` count, so the score follows
performance as it changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadflow.domain.model import LeadStatus
from leadflow.domain.performance import RepStats
from leadflow.store.models import LeadRow
from leadflow.store.offers_models import OfferRow

ENDED = ("accepted", "declined", "expired")
MAX_RESPONSES = 200  # per rep: enough for a stable median, bounded work


def rep_stats(
    s: Session, rep_ids: Collection[int], now: datetime, window_days: int
) -> dict[int, RepStats]:
    if not rep_ids:
        return {}
    since = now - timedelta(days=window_days)
    ids = sorted(rep_ids)
    outcomes: dict[int, dict[str, int]] = defaultdict(dict)
    for rep_id, status, n in s.execute(
        select(LeadRow.owner_rep_id, LeadRow.status, func.count())
        .where(
            LeadRow.owner_rep_id.in_(ids),
            LeadRow.status.in_([LeadStatus.WON, LeadStatus.LOST]),
            LeadRow.updated_at >= since,
        )
        .group_by(LeadRow.owner_rep_id, LeadRow.status)
    ):
        if rep_id is not None:  # excluded by the query; narrows the type
            outcomes[rep_id][status] = n
    offers: dict[int, dict[str, int]] = defaultdict(dict)
    for rep_id, status, n in s.execute(
        select(OfferRow.rep_id, OfferRow.status, func.count())
        .where(OfferRow.rep_id.in_(ids), OfferRow.status.in_(ENDED), OfferRow.created_at >= since)
        .group_by(OfferRow.rep_id, OfferRow.status)
    ):
        offers[rep_id][status] = n
    times: dict[int, list[float]] = defaultdict(list)
    for rep_id, created, responded in s.execute(
        select(OfferRow.rep_id, OfferRow.created_at, OfferRow.responded_at)
        .where(
            OfferRow.rep_id.in_(ids),
            OfferRow.responded_at.is_not(None),
            OfferRow.created_at >= since,
        )
        .order_by(OfferRow.id.desc())
        .limit(MAX_RESPONSES * len(ids))
    ):
        if responded is not None and len(times[rep_id]) < MAX_RESPONSES:
            times[rep_id].append((responded - created).total_seconds())
    return {
        r: RepStats(
            won=outcomes[r].get(LeadStatus.WON, 0),
            lost=outcomes[r].get(LeadStatus.LOST, 0),
            offered=sum(offers[r].values()),
            accepted=offers[r].get("accepted", 0),
            response_seconds=tuple(times[r]),
        )
        for r in ids
    }
