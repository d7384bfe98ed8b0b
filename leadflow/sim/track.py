"""One lead's life in the simulation (shared by the push, pull and offer engines)."""

from __future__ import annotations

from leadflow.sim.leads import SimLead


class Track:
    __slots__ = (
        "armed",
        "claimed_by",
        "contact",
        "ctx",
        "lead",
        "owned_at",
        "owner",
        "queue",
        "queued_at",
        "qver",
        "reassigned",
        "seq",
        "version",
    )

    def __init__(self, lead: SimLead, seq: int, ctx: dict[str, object]) -> None:
        self.lead = lead
        self.seq = seq
        self.ctx = ctx
        self.owner: int | None = None
        self.owned_at: float | None = None
        self.contact: float | None = None
        self.queue: str | None = None
        self.queued_at: float | None = None
        self.qver = 0  # bumped on every enqueue: older heap entries are stale
        self.claimed_by: int | None = None  # held by a claim (lease running)
        self.armed: frozenset[str] = frozenset()  # queues whose age steps are scheduled
        self.reassigned = 0
        self.version = 0  # bumped on every owner change: older events are stale
