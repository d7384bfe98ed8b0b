"""The three worked push examples of examples/, loaded into SQLite and PostgreSQL and
exercised with representative leads: where each lead goes, by which rule, and why."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadflow.cli.main import app
from leadflow.schemas import AbsenceIn, CapacityIn, RepPatch
from leadflow.services import org
from tests.examples.conftest import EXAMPLES

GEO = "geographic"


class TestGeographic:
    """Territory owners by location (weighted), the expansion rep for the rest."""

    def test_territory_lead_goes_to_its_aes_by_performance_weights(self, install: Any) -> None:
        """Six New York leads: 3/2/1 to the northeast AEs; other territories' AEs skipped."""
        ex = install(GEO)
        routed = [ex.route(company={"country": "US", "state": "NY"}) for _ in range(6)]
        assert Counter(r.owner for r in routed) == {
            "alice.nolan@geo.example": 3,
            "ben.carter@geo.example": 2,
            "chen.li@geo.example": 1,
        }
        first = routed[0]
        assert (first.rule, first.method) == ("territory owner", "weighted")
        skipped = first.skipped("territory owner")
        assert skipped["Julia Schmidt"] == "not_in_territory"
        assert skipped["Hana Sato"] == "not_in_territory"
        assert skipped["Alice Nolan"] is None

    @pytest.mark.parametrize(
        ("company", "owner"),
        [
            (
                {"country": "US", "state": "ca"},
                {"hana.sato@geo.example", "ivan.petrov@geo.example"},
            ),
            ({"country": "US", "state": "FL"}, {"dana.brooks@geo.example"}),
            ({"country": "DE"}, {"julia.schmidt@geo.example"}),
            # Norway's code must not be read as YAML's `no` (false): it is international.
            ({"country": "NO"}, {"julia.schmidt@geo.example"}),
        ],
    )
    def test_each_territory_reaches_its_own_aes(
        self, install: Any, company: dict[str, str], owner: set[str]
    ) -> None:
        ex = install(GEO)
        routed = ex.route(company=company)
        assert routed.rule == "territory owner"
        assert routed.owner in owner

    @pytest.mark.parametrize(
        "company",
        [{"country": "BR"}, {"country": "JP"}, {"country": "US"}, {"country": "US", "state": "TX"}],
    )
    def test_no_territory_goes_to_the_expansion_rep(
        self, install: Any, company: dict[str, str]
    ) -> None:
        """Brazil, Japan, a US lead without a state, Texas: nobody's territory."""
        ex = install(GEO)
        routed = ex.route(company=company)
        assert routed.owner == "kofi.mensah@geo.example"
        assert routed.rule == "fallback"
        step = routed.step("territory owner")
        assert step["matched"] is False
        assert step["result"] == "conditions not met"
        assert step["conditions"][0]["actual"] is False

    def test_unavailable_territory_aes_hand_over_to_the_expansion_rep(
        self, install: Any, svc: Any, clock: Any
    ) -> None:
        """Away, out of office, at capacity: each skipped with its reason, then fallback."""
        ex = install(GEO)
        org.update_rep(svc, ex.ids["alice.nolan@geo.example"], RepPatch(status="away"))
        org.add_absence(
            svc,
            ex.ids["ben.carter@geo.example"],
            AbsenceIn(start=clock.now() - timedelta(hours=1), end=clock.now() + timedelta(days=7)),
        )
        org.update_rep(
            svc, ex.ids["chen.li@geo.example"], RepPatch(capacity=CapacityIn(max_open=1))
        )
        ny = {"country": "US", "state": "NY"}
        first = ex.route(company=ny)
        assert first.owner == "chen.li@geo.example"  # the only northeast AE still free
        second = ex.route(company=ny)
        assert second.owner == "kofi.mensah@geo.example"
        assert second.rule == "fallback"
        skipped = second.skipped("territory owner")
        assert skipped["Alice Nolan"] == "away"
        assert skipped["Ben Carter"] == "out_of_office"
        assert skipped["Chen Li"] == "at_capacity_open"
        assert second.step("territory owner")["result"] == "no eligible rep"
        clock.advance(days=8)  # Ben is back: the territory takes its leads again
        assert ex.route(company=ny).owner == "ben.carter@geo.example"


VERTICAL = "vertical"
GENERALISTS = {
    f"{n}@vertical.example"
    for n in ("gabe.wilson", "gina.russo", "glen.hart", "grace.obi", "greta.lund")
}


class TestVertical:
    """Industry specialists first, generalists for everything else and as cover."""

    @pytest.mark.parametrize(
        ("industry", "rule", "owner"),
        [
            ("Hospital & Health Care", "healthcare specialist", "helen.park@vertical.example"),
            ("Pharmaceuticals", "healthcare specialist", "helen.park@vertical.example"),
            ("Banking", "financial services specialist", "felix.grant@vertical.example"),
            ("Insurance", "financial services specialist", "felix.grant@vertical.example"),
            ("Automotive", "manufacturing specialist", "maria.lopez@vertical.example"),
            ("Industrial Machinery", "manufacturing specialist", "maria.lopez@vertical.example"),
        ],
    )
    def test_specialist_industries_reach_the_specialist(
        self, install: Any, industry: str, rule: str, owner: str
    ) -> None:
        ex = install(VERTICAL)
        routed = ex.route(company={"industry": industry, "country": "US"})
        assert (routed.rule, routed.owner) == (rule, owner)

    def test_general_and_unknown_sectors_rotate_among_generalists(self, install: Any) -> None:
        """Five leads (retail, software, no industry at all…) → five different generalists."""
        ex = install(VERTICAL)
        leads: list[dict[str, Any]] = [
            {"company": {"industry": "Retail"}},
            {"company": {"industry": "Computer Software"}},
            {"company": {}},
            {"company": {"industry": "Education"}},
            {"email": "someone@prospect.example"},
        ]
        routed = [ex.route(**lead) for lead in leads]
        assert {r.owner for r in routed} == GENERALISTS
        assert all(r.rule == "fallback" and r.method == "round_robin" for r in routed)
        unknown = routed[2].step("healthcare specialist")
        assert unknown["matched"] is False  # a missing industry matches no specialist

    def test_specialist_out_of_office_is_covered_by_a_generalist(
        self, install: Any, svc: Any, clock: Any
    ) -> None:
        ex = install(VERTICAL)
        org.add_absence(
            svc,
            ex.ids["helen.park@vertical.example"],
            AbsenceIn(start=clock.now(), end=clock.now() + timedelta(days=2)),
        )
        routed = ex.route(company={"industry": "Healthcare"})
        assert routed.owner in GENERALISTS
        assert routed.rule == "fallback"
        assert routed.step("healthcare specialist")["matched"] is True
        assert routed.skipped("healthcare specialist") == {"Helen Park": "out_of_office"}

    def test_daily_cap_sends_overflow_to_generalists_until_tomorrow(
        self, install: Any, clock: Any
    ) -> None:
        """Maria takes five manufacturing leads a day; the sixth goes to a generalist."""
        ex = install(VERTICAL)
        lead = {"company": {"industry": "Manufacturing"}}
        owners = [ex.route(**lead).owner for _ in range(5)]
        assert owners == ["maria.lopez@vertical.example"] * 5
        sixth = ex.route(**lead)
        assert sixth.owner in GENERALISTS
        assert sixth.skipped("manufacturing specialist") == {"Maria Lopez": "at_capacity_day"}
        clock.advance(days=1)
        assert ex.route(**lead).owner == "maria.lopez@vertical.example"


SEGMENTS = "segments"


class TestSegments:
    """Enterprise / mid-market / SMB by employee count; weighted within the segment."""

    @pytest.mark.parametrize(
        ("size", "rule"),
        [
            (10_000, "enterprise"),
            (500, "enterprise"),
            (499, "mid-market"),
            (50, "mid-market"),
            (49, "smb"),
            (1, "smb"),
            (None, "fallback"),
        ],
    )
    def test_size_boundaries_pick_the_segment(
        self, install: Any, size: int | None, rule: str
    ) -> None:
        ex = install(SEGMENTS)
        routed = ex.route(company={"size": size} if size is not None else {})
        assert routed.rule == rule
        team = {"enterprise": "enterprise", "mid-market": "mid-market"}.get(rule, "inside-sales")
        members = {r["email"] for r in org.list_reps(ex.svc, team=team)}
        assert routed.owner in members

    def test_within_a_segment_weights_follow_quota_attainment(self, install: Any) -> None:
        """A full cycle of each weighted segment gives every AE exactly their weight."""
        ex = install(SEGMENTS)
        enterprise = Counter(ex.route(company={"size": 2000}).owner for _ in range(8))
        assert enterprise == {
            "erin.walsh@segments.example": 3,
            "ethan.ross@segments.example": 2,
            "elena.ivanova@segments.example": 2,
            "emeka.obi@segments.example": 1,
        }
        mid = Counter(ex.route(company={"size": 120}).owner for _ in range(15))
        weights = {r["email"]: r["weight"] for r in org.list_reps(ex.svc, team="mid-market")}
        assert mid == weights
        smb = [ex.route(company={"size": 12}).owner for _ in range(6)]
        assert len(set(smb)) == 6  # plain round robin: everyone once

    def test_enterprise_overflow_goes_to_senior_mid_market(self, install: Any, svc: Any) -> None:
        """Enterprise AEs full → the `enterprise-ready` mid-market AEs, fewest open first."""
        ex = install(SEGMENTS)
        for rep in org.list_reps(svc, team="enterprise"):
            org.update_rep(svc, rep["id"], RepPatch(capacity=CapacityIn(max_open=1)))
        first_four = {ex.route(company={"size": 900}).owner for _ in range(4)}
        assert len(first_four) == 4  # each enterprise AE takes one, then is full
        fifth = ex.route(company={"size": 900})
        sixth = ex.route(company={"size": 900})
        assert fifth.rule == sixth.rule == "enterprise overflow"
        assert {fifth.owner, sixth.owner} == {
            "marco.bianchi@segments.example",
            "mei.wong@segments.example",
        }
        assert set(fifth.skipped("enterprise").values()) == {"at_capacity_open"}
        assert fifth.step("enterprise")["result"] == "no eligible rep"
        assert fifth.step("mid-market")["matched"] is False
        overflow = fifth.skipped("enterprise overflow")
        assert overflow["Miles Foster"] == "missing_skill"
        assert fifth.method == "load_balanced"


@pytest.mark.parametrize("name", [GEO, VERTICAL, SEGMENTS])
def test_examples_load_and_activate_with_the_cli(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leadflow load`, `rulebook validate|activate` and a dry run, as the README says."""
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'ex.db'}")
    runner = CliRunner()
    folder = EXAMPLES / name

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    assert "0 updated" in run("load", str(folder / "org.yaml"))
    assert "0 teams" in run("load", str(folder / "org.yaml"))  # idempotent: only updates
    assert "Valid" in run("rulebook", "validate", str(folder / "rulebook.yaml"))
    assert "version 1" in run("rulebook", "activate", str(folder / "rulebook.yaml"))
    lead = tmp_path / "lead.json"
    lead.write_text('{"company": {"country": "US", "state": "NY", "size": 700}}')
    assert '"outcome": "assigned"' in run("route", "--dry-run", str(lead))
