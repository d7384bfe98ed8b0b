"""The lead lifecycle as a state machine: which status may follow which, and why not.

    new ─► routed (assigned | queued | offered) ─► contacted ─► qualified ─► won
                                                          └──────┴──► lost | disqualified
    any open or lost/disqualified lead ─► recycled (back to marketing) ─► new / routed

`won` is final. Routing moves a lead between the routed statuses (reassign, claim,
offer); people move it forward (contacted, qualified, closed). Closing needs a reason
where a manager will ask "why?" later (lost, disqualified, recycled).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from leadflow.domain.model import OPEN_STATUSES, LeadStatus, Org

S = LeadStatus

ROUTED = frozenset({S.ASSIGNED, S.QUEUED, S.OFFERED})
CLOSED = frozenset({S.WON, S.LOST, S.DISQUALIFIED, S.RECYCLED, S.REJECTED})
FINAL = frozenset({S.WON})
NEEDS_REASON = frozenset({S.LOST, S.DISQUALIFIED, S.RECYCLED})
CONTACT_STATUSES = frozenset({S.CONTACTED, S.QUALIFIED, S.WON})
"""Reaching one of these (a `status` decision) is the first contact: SLA, pull, metrics."""
SET_BY_ROUTING = ROUTED
"""Statuses only the router sets (intake, reassign, claim, offer); people cannot."""

_CLOSE = frozenset({S.LOST, S.DISQUALIFIED, S.RECYCLED})

ALLOWED: dict[LeadStatus, frozenset[LeadStatus]] = {
    S.NEW: ROUTED | {S.REJECTED, S.DISQUALIFIED, S.RECYCLED},
    S.ASSIGNED: ROUTED | {S.CONTACTED, S.QUALIFIED} | _CLOSE,
    S.QUEUED: ROUTED | {S.DISQUALIFIED, S.RECYCLED},
    S.OFFERED: ROUTED | {S.DISQUALIFIED, S.RECYCLED},
    # Reassigning a contacted or qualified lead keeps its progress: status unchanged.
    S.CONTACTED: ROUTED | {S.QUALIFIED, S.WON} | _CLOSE,
    S.QUALIFIED: ROUTED | {S.WON} | _CLOSE,
    S.WON: frozenset(),
    S.LOST: frozenset({S.RECYCLED}),
    S.DISQUALIFIED: frozenset({S.RECYCLED}),
    S.RECYCLED: ROUTED | {S.NEW},
    S.REJECTED: frozenset({S.RECYCLED}),
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to "may this lead go from `current` to `target`?"."""

    allowed: bool
    reason: str = ""
    field: str = "status"  # what the caller should change: the status, or the reason
    bad_input: bool = False  # unknown status or missing reason, rather than bad timing


def check(current: str, target: str, reason: str = "", *, by_routing: bool = False) -> Verdict:
    """Whether the transition is legal; a refusal says what to do instead."""
    try:
        cur, tgt = LeadStatus(current), LeadStatus(target)
    except ValueError:
        known = ", ".join(s.value for s in LeadStatus)
        return Verdict(False, f"unknown status {target!r}; one of: {known}", bad_input=True)
    if cur in FINAL:
        return Verdict(False, f"the lead is {cur}: a won lead is final")
    if tgt in SET_BY_ROUTING and not by_routing:
        return Verdict(False, f"{tgt} is set by routing; use reassign or redistribute instead")
    if tgt == cur and tgt not in ROUTED:
        return Verdict(False, f"the lead is already {cur}")
    if tgt not in ALLOWED[cur]:
        nexts = ", ".join(sorted(s.value for s in ALLOWED[cur] - SET_BY_ROUTING)) or "nothing"
        return Verdict(False, f"a {cur} lead cannot become {tgt} (it may become: {nexts})")
    if tgt in NEEDS_REASON and not reason.strip():
        return Verdict(False, f"say why the lead is {tgt}: a reason is required", "reason", True)
    return Verdict(True)


def is_open(status: str) -> bool:
    """Counts against its owner's open-lead capacity."""
    return status in OPEN_STATUSES


def releases_capacity(current: str, target: str) -> bool:
    """Leaving the open statuses frees a slot of the owner's `max_open`."""
    return is_open(current) and not is_open(target) and target not in ROUTED


def is_closed(status: str) -> bool:
    return status in CLOSED


def next_statuses(current: str) -> list[str]:
    """What a person may move this lead to (for the UI and error messages)."""
    try:
        cur = LeadStatus(current)
    except ValueError:
        return []
    return sorted(s.value for s in ALLOWED[cur] - SET_BY_ROUTING)


def excluding(org: Org, rep_ids: frozenset[int]) -> Org:
    """The organisation without some reps (previous owners): the same routing rules then
    pick the next eligible rep; nothing about eligibility is re-implemented."""
    if not rep_ids:
        return org
    reps = {rid: rep for rid, rep in org.reps.items() if rid not in rep_ids}
    return replace(org, reps=reps)
