"""What a rep may see of a decision about their own lead.

A decision trace lists every candidate considered, with names and why each was skipped
(absent, at capacity…): that is other reps' data. A rep gets the rules that were tried
and whether each matched; candidate lists and notes stay with staff.
"""

from __future__ import annotations

from typing import Any


def decision_for_rep(decision: dict[str, Any], rep_id: int | None) -> dict[str, Any]:
    view = dict(decision)
    trace = decision.get("trace") or {}
    view["trace"] = {
        "steps": [
            {"rule": step.get("rule"), "matched": step.get("matched")}
            for step in trace.get("steps", [])
        ],
        "redacted": True,
    }
    if view.get("rep_id") is not None and view["rep_id"] != rep_id:
        # an earlier owner (before a reassignment) is another rep: not named to this one
        view["rep_id"] = None
        view["reason"] = "assigned to another rep"
    return view
