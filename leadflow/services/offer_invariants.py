"""`leadflow check` for offers: one winner per campaign, its accept applied once, each
wave and each fallback applied once, and nothing left pending in a closed campaign.

A campaign is the durable state of one offered lead; its pending offers are its timers.
These are the states that a double-fired timer, a replayed accept or a lost update would
leave behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from leadflow.services.invariants import Violation
from leadflow.store.models import DecisionRow
from leadflow.store.offers_models import OfferCampaignRow, OfferRow


def check_invariants(s: Session, now: datetime) -> Iterator[Violation]:
    yield from _winners(s)
    yield from _applied_once(s)
    yield from _waves(s)


def _winners(s: Session) -> Iterator[Violation]:
    """Exactly one accepted offer in an accepted campaign (its winner's), none elsewhere."""
    accepted = (
        select(
            OfferRow.campaign_id, func.count().label("n"), func.min(OfferRow.rep_id).label("rep")
        )
        .where(OfferRow.status == "accepted")
        .group_by(OfferRow.campaign_id)
        .subquery()
    )
    q = (
        select(
            OfferCampaignRow.id,
            OfferCampaignRow.status,
            OfferCampaignRow.winner_rep_id,
            accepted.c.n,
            accepted.c.rep,
        )
        .outerjoin(accepted, accepted.c.campaign_id == OfferCampaignRow.id)
        .order_by(OfferCampaignRow.id)
    )
    for cid, status, winner, n, rep in s.execute(q):
        subject = f"offer_campaigns {cid}"
        if n and n > 1:
            yield Violation("offer two winners", subject, f"{n} accepted offers")
        elif status == "accepted" and (not n or rep != winner):
            yield Violation(
                "offer winner mismatch",
                subject,
                f"winner rep {winner}, accepted offer by rep {rep if n else None}",
            )
        elif status != "accepted" and n:
            yield Violation("offer winner mismatch", subject, f"{status}, yet rep {rep} accepted")
        if status != "open":
            pending = s.scalar(
                select(func.count()).where(
                    OfferRow.campaign_id == cid, OfferRow.status == "pending"
                )
            )
            if pending:
                yield Violation(
                    "offer pending in closed campaign",
                    subject,
                    f"{status}, with {pending} offer(s) still pending",
                )
        elif not s.scalar(
            select(func.count()).where(OfferRow.campaign_id == cid, OfferRow.status == "pending")
        ):
            yield Violation(
                "offer campaign stalled",
                subject,
                "open with no pending offer: nothing will move it on",
            )


def _applied_once(s: Session) -> Iterator[Violation]:
    """Per lead: as many `offer_accept` decisions as accepted campaigns (each naming a
    winner) and as many `offer_fallback` decisions as campaigns that fell back."""
    for kind, status in (("offer_accept", "accepted"), ("offer_fallback", "fallback")):
        made = (
            select(DecisionRow.lead_id, func.count().label("n"))
            .where(DecisionRow.kind == kind)
            .group_by(DecisionRow.lead_id)
            .subquery()
        )
        ended = (
            select(OfferCampaignRow.lead_id, func.count().label("n"))
            .where(OfferCampaignRow.status == status)
            .group_by(OfferCampaignRow.lead_id)
            .subquery()
        )
        q = (
            select(ended.c.lead_id, ended.c.n, func.coalesce(made.c.n, 0))
            .outerjoin(made, made.c.lead_id == ended.c.lead_id)
            .where(ended.c.n != func.coalesce(made.c.n, 0))
        )
        for lead_id, campaigns, decisions in s.execute(q):
            yield Violation(
                f"{kind} count",
                f"lead {lead_id}",
                f"{campaigns} {status} campaign(s) but {decisions} {kind} decision(s)",
            )
        for lead_id, n in s.execute(
            select(made.c.lead_id, made.c.n).where(
                ~select(OfferCampaignRow.id)
                .where(
                    and_(
                        OfferCampaignRow.lead_id == made.c.lead_id,
                        OfferCampaignRow.status == status,
                    )
                )
                .exists()
            )
        ):
            yield Violation(
                f"{kind} count",
                f"lead {lead_id}",
                f"{n} {kind} decision(s) but no {status} campaign",
            )
    winners = select(
        OfferCampaignRow.id, OfferCampaignRow.lead_id, OfferCampaignRow.winner_rep_id
    ).where(
        OfferCampaignRow.status == "accepted",
        ~select(DecisionRow.id)
        .where(
            DecisionRow.lead_id == OfferCampaignRow.lead_id,
            DecisionRow.kind == "offer_accept",
            DecisionRow.rep_id == OfferCampaignRow.winner_rep_id,
        )
        .exists(),
    )
    for cid, lead_id, rep in s.execute(winners):
        yield Violation(
            "offer winner mismatch",
            f"offer_campaigns {cid}",
            f"no offer_accept decision gives lead {lead_id} to winner rep {rep}",
        )


def _waves(s: Session) -> Iterator[Violation]:
    """A rep is asked at most once per round of a campaign (a wave sent twice means an
    expiry or a decline was applied twice)."""
    q = (
        select(OfferRow.campaign_id, OfferRow.rep_id, OfferRow.round_no, func.count())
        .group_by(OfferRow.campaign_id, OfferRow.rep_id, OfferRow.round_no)
        .having(func.count() > 1)
    )
    for cid, rep, round_no, n in s.execute(q):
        yield Violation(
            "offer sent twice",
            f"offer_campaigns {cid}",
            f"rep {rep} asked {n} times in round {round_no}",
        )
