"""A memoising view of the org for the simulator's hot path."""

from __future__ import annotations

from leadflow.domain.model import Org, Rep


class IndexedOrg(Org):
    """The same `Org`, with its team and e-mail lookups memoised.

    Routing asks `team_members` on every lead, and `Org` scans all reps to answer: a
    million simulated leads pay that a million times. The answers are those of `Org`'s
    own methods, computed once per team (the org never changes during a run).
    """

    __slots__ = ("_sim_by_email", "_sim_members", "base")
    _sim_by_email: dict[str, Rep]
    _sim_members: dict[str, list[Rep]]
    base: Org

    def __init__(self, org: Org) -> None:
        super().__init__(org.reps, org.teams, org.territories, org.revision)
        object.__setattr__(self, "base", org)
        object.__setattr__(self, "_sim_members", {})
        object.__setattr__(self, "_sim_by_email", {r.email.lower(): r for r in org.reps.values()})

    def team_members(self, team: str) -> list[Rep]:
        members: dict[str, list[Rep]] = self._sim_members
        if team not in members:
            members[team] = Org.team_members(self, team)
        return list(members[team])

    def rep_by_email(self, email: str) -> Rep | None:
        by_email: dict[str, Rep] = self._sim_by_email
        return by_email.get(email.lower())
