"""Pages over real HTTP: roles, what a rep may see, the editor, the org forms, the trace."""

from __future__ import annotations

import pytest

from leadflow.services import routing, rulebooks
from tests.web.conftest import World, form_csrf

STAFF_PAGES = ["/dashboard", "/alerts", "/leads", "/leads/1"]
ADMIN_PAGES = ["/admin/rulebook", "/admin/org", "/admin/users"]


class TestRoles:
    def test_signed_out_is_sent_to_login(self, world: World) -> None:
        """Every page redirects to /login with the page to come back to."""
        c = world.client()
        for path in ["/", "/my/leads", *STAFF_PAGES, *ADMIN_PAGES]:
            res = c.get(path)
            assert res.status_code == 303 and res.headers["location"].startswith("/login"), path

    @pytest.mark.parametrize("path", STAFF_PAGES[:3] + ADMIN_PAGES)
    def test_rep_may_not_open_staff_or_admin_pages(self, world: World, path: str) -> None:
        """A rep gets 403 on the dashboard, alerts, all leads and admin pages."""
        assert world.sign_in("alice@x.example").get(path).status_code == 403

    @pytest.mark.parametrize("path", ADMIN_PAGES)
    def test_manager_may_not_open_admin_pages(self, world: World, path: str) -> None:
        """Managers see the dashboard but not the rulebook editor, org admin or users."""
        c = world.sign_in("manager@x.example")
        assert c.get("/dashboard").status_code == 200
        assert c.get(path).status_code == 403

    def test_rep_form_posts_refused_on_admin_actions(self, world: World) -> None:
        """A rep posting to the editor or the org forms gets 403 even with a valid token."""
        c = world.sign_in("alice@x.example")
        csrf = form_csrf(c.get("/my/leads").text)
        for path in (
            "/admin/rulebook",
            "/admin/org/teams",
            "/admin/users",
            "/alerts/thresholds",
            "/admin/rulebook/versions/1/activate",
        ):
            assert c.post(path, data={"csrf": csrf, "name": "x"}).status_code == 403, path

    def test_nav_shows_only_allowed_pages(self, world: World) -> None:
        """A rep's top bar has My leads but no Dashboard; an admin's has the editor."""
        rep = world.sign_in("alice@x.example").get("/my/leads").text
        assert 'href="/my/leads"' in rep and 'href="/dashboard"' not in rep
        admin = world.sign_in("admin@x.example").get("/dashboard").text
        assert 'href="/admin/rulebook"' in admin and 'href="/my/leads"' not in admin


class TestRepView:
    def test_rep_sees_only_their_own_leads(self, world: World) -> None:
        """Alice's list holds her leads only; Bob's lead page is a 404 for her."""
        leads = routing.list_leads(world.svc, limit=50)["items"]
        mine = {lead["id"] for lead in leads if lead["owner_rep_id"] == world.alice}
        bobs = [lead["id"] for lead in leads if lead["owner_rep_id"] == world.bob]
        c = world.sign_in("alice@x.example")
        html = c.get("/my/leads").text
        for lead_id in mine:
            assert f'data-lead="{lead_id}"' in html
        for lead_id in bobs:
            assert f'data-lead="{lead_id}"' not in html
            assert c.get(f"/leads/{lead_id}").status_code == 404
        assert c.get(f"/leads/{next(iter(mine))}").status_code == 200

    def test_rep_never_sees_unowned_queue_leads(self, world: World) -> None:
        """The unassigned US lead is not on Alice's page, nor reachable by id."""
        queued = routing.list_leads(world.svc, status="queued")["items"][0]
        c = world.sign_in("alice@x.example")
        assert c.get(f"/leads/{queued['id']}").status_code == 404
        assert c.get("/api/v1/leads").json()["items"] == [
            lead
            for lead in c.get("/api/v1/leads").json()["items"]
            if lead["owner_rep_id"] == world.alice
        ]


class TestDashboardAndTrace:
    def test_dashboard_has_charts_and_numbers(self, world: World) -> None:
        """Leads-per-rep chart with both reps, a Lorenz curve, and the Gini figure."""
        html = world.sign_in("manager@x.example").get("/dashboard?period=24h&team=france").text
        assert "<svg viewBox" in html and 'aria-label="Leads per rep"' in html
        assert ">Alice<" in html and ">Bob<" in html
        assert 'class="lorenz"' in html and 'id="kpi-gini">0.00<' in html

    def test_bad_period_falls_back_with_a_message(self, world: World) -> None:
        """An unknown period shows the default one and says why."""
        html = world.sign_in("manager@x.example").get("/dashboard?period=forever").text
        assert "unknown period" in html

    def test_date_range_and_csv_links_follow_it(self, world: World) -> None:
        """From/to dates (to included) drive the figures and the CSV links."""
        c = world.sign_in("manager@x.example")
        html = c.get("/dashboard?from=2026-03-02&to=2026-03-02").text
        assert "2026-03-02 00:00:00 UTC → 2026-03-03 00:00:00 UTC" in html
        assert 'id="kpi-leads">5<' in html
        assert "since=2026-03-02T00%3A00%3A00%2B00%3A00" in html
        html = c.get("/dashboard?from=2026-03-03&to=2026-03-03").text
        assert 'id="kpi-leads">0<' in html
        assert "is not a date" in c.get("/dashboard?from=yesterday").text

    def test_trace_explains_why_and_why_not(self, world: World) -> None:
        """The lead's page names the winner and why the other rep was not chosen."""
        lead = routing.list_leads(world.svc, status="assigned")["items"][-1]
        html = world.sign_in("manager@x.example").get(f"/leads/{lead['id']}").text
        winner = "Alice" if lead["owner_rep_id"] == world.alice else "Bob"
        other = "Bob" if winner == "Alice" else "Alice"
        assert f"Assigned to {winner} by rule “france” (round robin)" in html
        assert f"Why {winner}:" in html and f"Why not {other}:" in html
        assert f"eligible, but {winner} was chosen" in html


class TestRulebookEditor:
    def _post(self, world: World, action: str, source: str, **extra: str) -> tuple[int, str]:
        c = world.sign_in("admin@x.example")
        csrf = form_csrf(c.get("/admin/rulebook").text)
        res = c.post(
            "/admin/rulebook", data={"csrf": csrf, "action": action, "source": source, **extra}
        )
        return res.status_code, res.text

    def test_error_shown_at_its_line_and_nothing_activated(self, world: World) -> None:
        """An unknown team on line 4 → 422 'Line 4', the active version is unchanged."""
        before = rulebooks.get_active(world.svc)["version"]
        bad = (
            "rules:\n"
            "  - name: x\n"
            "    when: {score: {gte: 1}}\n"
            "    assign: {team: nope, method: round_robin}\n"
            "fallback: {queue: q}\n"
        )
        status, html = self._post(world, "activate", bad)
        assert status == 422 and "Line 4:" in html and "unknown team" in html
        assert 'data-error-line="4"' in html
        assert rulebooks.get_active(world.svc)["version"] == before

    def test_diff_dry_run_activate_and_roll_back(self, world: World) -> None:
        """A draft shows its diff, routes a sample without storing, activates, rolls back."""
        active = rulebooks.get_active(world.svc)
        draft = active["source"].replace("method: round_robin", "method: load_balanced")
        status, html = self._post(world, "check", draft)
        assert status == 200 and "Valid: france, fallback" in html
        assert "+    assign: {team: france, method: load_balanced}" in html
        sample = '{"company": {"country": "FR"}}'
        leads_before = len(routing.list_leads(world.svc, limit=500)["items"])
        status, html = self._post(world, "dry_run", draft, sample=sample)
        assert status == 200 and 'id="dry-run-result"' in html and "load balanced" in html
        assert len(routing.list_leads(world.svc, limit=500)["items"]) == leads_before
        status, html = self._post(world, "dry_run", draft, lead_id="1")
        assert status == 200 and 'id="dry-run-result"' in html
        c = world.sign_in("admin@x.example")
        csrf = form_csrf(c.get("/admin/rulebook").text)
        res = c.post("/admin/rulebook", data={"csrf": csrf, "action": "activate", "source": draft})
        assert res.status_code == 303
        new = rulebooks.get_active(world.svc)
        assert new["version"] == active["version"] + 1 and "load_balanced" in new["source"]
        res = c.post(f"/admin/rulebook/versions/{active['version']}/activate", data={"csrf": csrf})
        assert res.status_code == 303
        assert rulebooks.get_active(world.svc)["version"] == active["version"]

    def test_bad_sample_lead_is_explained(self, world: World) -> None:
        """A sample with a bad country names the field."""
        active = rulebooks.get_active(world.svc)["source"]
        status, html = self._post(world, "dry_run", active, sample='{"company": {"country": "XX"}}')
        assert status == 422 and "company.country" in html


class TestOrgAdmin:
    def test_add_team_by_form(self, world: World) -> None:
        """The team form creates the team."""
        c = world.sign_in("admin@x.example")
        csrf = form_csrf(c.get("/admin/org").text)
        res = c.post("/admin/org/teams", data={"csrf": csrf, "name": "dach"})
        assert res.status_code == 303
        assert "<td>dach</td>" in c.get("/admin/org").text

    def test_csv_import_reports_lines_and_imports_nothing(self, world: World) -> None:
        """A bad e-mail on line 3 and an unknown team: nothing imported, lines named."""
        c = world.sign_in("admin@x.example")
        csrf = form_csrf(c.get("/admin/org").text)
        bad = b"name,email,teams\nCleo,cleo@x.example,france\nDan,not-an-email,france\n"
        res = c.post(
            "/admin/org-import",
            data={"csrf": csrf, "kind": "reps"},
            files={"file": ("reps.csv", bad, "text/csv")},
        )
        assert res.status_code == 422 and "reps.csv: line 3: email" in res.text
        unknown = b"name,email,teams\nCleo,cleo@x.example,nope\n"
        res = c.post(
            "/admin/org-import",
            data={"csrf": csrf, "kind": "reps"},
            files={"file": ("reps.csv", unknown, "text/csv")},
        )
        assert res.status_code == 422 and "line 2: teams" in res.text
        assert "cleo@x.example" not in c.get("/admin/org").text
        good = b"name,email,teams,languages\nCleo,cleo@x.example,france,fr;en\n"
        res = c.post(
            "/admin/org-import",
            data={"csrf": csrf, "kind": "reps"},
            files={"file": ("reps.csv", good, "text/csv")},
        )
        assert res.status_code == 303
        assert "cleo@x.example" in c.get("/admin/org").text
