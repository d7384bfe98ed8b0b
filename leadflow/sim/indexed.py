"""A memoising view of the org for the simulator's hot path."""

from __future__ import annotations

from leadflow.domain.model import Org, Rep


class IndexedOrg(Org):
    """The same `Org`, with its team and e-mail lookups memoised.

    Routing asks `team_members` on every lead; live services build a fresh snapshot per
    org revision so they never notice, but a million simulated leads do. The answers are
    those of `Org`'s own methods, computed once (the org never changes during a run).
    """

    __slots__ = ("_by_email", "_members", "base")

    def __init__(self, org: Org) -> None:
        super().__init__(org.reps, org.teams, org.territories, org.revision)
        object.__setattr__(self, "base", org)
        object.__setattr__(self, "_members", {})
        object.__setattr__(self, "_by_email", {r.email.lower(): r for r in org.reps.values()})

    def team_members(self, team: str) -> list[Rep]:
        members: dict[str, list[Rep]] = self._members
        if team not in members:
            members[team] = Org.team_members(self, team)
        return list(members[team])

    def rep_by_email(self, email: str) -> Rep | None:
        by_email: dict[str, Rep] = self._by_email
        return by_email.get(email.lower())
