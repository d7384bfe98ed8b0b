"""The web app in headless Chromium (Debian's, driven by Playwright) against a real
uvicorn server on 127.0.0.1 over a temporary SQLite database.

Without Chromium these tests skip, unless LEADFLOW_REQUIRE_BROWSER=1 (CI), where a
missing browser fails the run.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.demo.generator import leads
from leadflow.demo.run import seed
from leadflow.schemas import LeadIn
from leadflow.services import org, routing, users
from leadflow.services.auth import Role
from leadflow.services.context import Services
from leadflow.store.db import Database
from leadflow.store.models import DecisionRow
from leadflow.testing import FrozenClock
from leadflow.testing.server import running

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-password"
SHOTS = os.environ.get("LEADFLOW_SCREENSHOTS")  # a folder: also save the main pages there


def _require_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = sync_playwright is None or not (os.path.exists(CHROMIUM) or shutil.which("chromium"))
    if missing:
        message = "headless Chromium (/usr/bin/chromium) and playwright are needed"
        if os.environ.get("LEADFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (LEADFLOW_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    return sync_playwright


@dataclass
class Site:
    url: str
    svc: Services
    lead_id: int


def _history(svc: Services, clock: FrozenClock) -> int:
    """A day of demo leads, some contacted after a while, so every chart has data."""
    rng = random.Random(11)
    first = 0
    for raw in leads(seed=5, prefix="b", start=1):
        view, _ = routing.intake(svc, LeadIn.model_validate(raw))
        first = first or view["id"]
        if view["status"] == "assigned" and rng.random() < 0.7:
            with svc.db.write() as s:
                s.add(
                    DecisionRow(
                        lead_id=view["id"],
                        kind="status",  # a first contact, as the lifecycle records it
                        outcome="contacted",
                        rep_id=view["owner_rep_id"],
                        trace={},
                        actor="rep",
                        created_at=clock.now() + timedelta(seconds=rng.expovariate(1 / 600)),
                    )
                )
        clock.advance(minutes=6)
        if view["id"] - first >= 150:
            return first
    return first


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_browser()
    path = tmp_path_factory.mktemp("browser") / "leadflow.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    clock = FrozenClock()
    svc = Services(db, clock)
    seed(svc)
    for email, role in (
        ("admin@demo.leadflow.dev", Role.ADMIN),
        ("nina.patel@demo.leadflow.dev", Role.MANAGER),
    ):
        users.create_user(svc, email=email, password=PASSWORD, role=role)
    first = _history(svc, clock)
    hugo = org.list_reps(svc)[1]  # Hugo Bernard, France
    users.create_user(svc, email=hugo["email"], password=PASSWORD, role=Role.REP, rep_id=hugo["id"])
    with running(create_app(Settings(database_url=db.url), svc)) as url:
        yield Site(url, svc, first)
    db.dispose()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    """The site is built first: its seeding is slow and must not count against a page."""
    yield from launch_chromium()


def sign_in(page: Any, site: Site, email: str, password: str = PASSWORD) -> Any:
    page.goto(site.url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action='/login'] button[type=submit]")
    return page


def launch_chromium() -> Iterator[Any]:
    """One headless Chromium for a module's tests (Debian's, never a downloaded build)."""
    sync_playwright = _require_browser()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


class TestBrowser:
    def test_bad_password_is_refused(self, page: Any, site: Site) -> None:
        """The form says so and the user stays on the sign-in page."""
        sign_in(page, site, "nina.patel@demo.leadflow.dev", "wrong password!")
        assert page.locator("[role=alert]").inner_text() == "Wrong e-mail or password."
        assert page.url.startswith(site.url + "/login")
        shot(page, "login")

    def test_csrf_is_enforced_in_the_browser(self, page: Any, site: Site) -> None:
        """A sign-in form whose security token was tampered with is refused (403)."""
        page.goto(site.url + "/login")
        page.eval_on_selector("form[action='/login'] input[name=csrf]", "e => e.value = 'x'")
        page.fill("#email", "nina.patel@demo.leadflow.dev")
        page.fill("#password", PASSWORD)
        with page.expect_response(lambda r: r.url.endswith("/login")) as res:
            page.click("form[action='/login'] button[type=submit]")
        assert res.value.status == 403
        assert "security token" in page.locator("[role=alert]").inner_text()

    def test_manager_sees_the_dashboard_charts(self, page: Any, site: Site) -> None:
        """Charts render as SVG with one bar per rep, the Lorenz curve and the alerts;
        every request the page makes goes to leadflow itself (no CDN)."""
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        sign_in(page, site, "nina.patel@demo.leadflow.dev")
        page.wait_for_url(site.url + "/dashboard")
        chart = page.locator("#chart-leads-per-rep svg")
        assert chart.is_visible()
        assert page.locator("#chart-leads-per-rep svg rect.bar").count() == 19  # active reps
        assert page.locator("#chart-lorenz polygon.lorenz").count() == 2
        latency, contact = page.locator("#chart-latency svg").all()
        assert latency.locator("rect.bar").count() == 3  # p50, p95, p99
        assert contact.locator("rect.bar").count() == 3
        assert page.locator("#alerts [role=alert], #alerts .all-clear").count() >= 1
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200
        assert requested and all(u.startswith(site.url) for u in requested), requested
        assert any(u.endswith("/static/leadflow.css") for u in requested)
        page.select_option("select[name=period]", "30d")
        page.click("form.filters button")
        assert "period=30d" in page.url
        shot(page, "dashboard")

    def test_dashboard_fits_a_phone(self, browser: Any, site: Site) -> None:
        """On a 390 px wide screen nothing overflows sideways."""
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        sign_in(page, site, "nina.patel@demo.leadflow.dev")
        page.wait_for_url(site.url + "/dashboard")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        shot(page, "dashboard-phone")
        context.close()

    def test_rep_sees_only_their_leads_and_no_dashboard(self, page: Any, site: Site) -> None:
        """A rep lands on "my leads", every row theirs; the dashboard is refused."""
        sign_in(page, site, "hugo.bernard@demo.leadflow.dev")
        page.wait_for_url(site.url + "/my/leads")
        rows = page.locator("#leads tbody tr[data-lead]")
        hugo = org.list_reps(site.svc)[1]["id"]
        theirs = {x["id"] for x in routing.list_leads(site.svc, owner=hugo, limit=50)["items"]}
        shown = {int(r.get_attribute("data-lead")) for r in rows.all()}
        assert shown == theirs and shown
        assert page.locator("nav a[href='/dashboard']").count() == 0
        assert page.locator("#status-counts").inner_text().startswith(f"all {len(theirs)}")
        shot(page, "my-leads")
        page.select_option("select[name=status]", "won")
        page.click("form.filters button")
        assert page.locator("#leads tbody tr[data-lead]").count() == 0
        response = page.goto(site.url + "/dashboard")
        assert response is not None and response.status == 403

    def test_trace_timeline(self, page: Any, site: Site) -> None:
        """The lead page tells why its owner got it and why the others did not."""
        sign_in(page, site, "nina.patel@demo.leadflow.dev")
        assigned = routing.list_leads(site.svc, status="assigned", limit=200)["items"]
        lead = next(x for x in assigned if x["rule"] in ("france", "small business"))
        page.goto(f"{site.url}/leads/{lead['id']}")
        timeline = page.locator("#trace .timeline")
        assert timeline.first.is_visible()
        assert page.locator("#trace .candidates li.chosen").count() == 1
        assert page.locator("#trace .candidates li.chosen").inner_text().startswith("Why ")
        assert page.locator("#trace .candidates li.passed, #trace .candidates li.skipped").count()
        shot(page, "trace")

    def test_rulebook_editor_error_at_line_then_activate(self, page: Any, site: Site) -> None:
        """An error is shown at its line; fixed, dry-run and activated as a new version."""
        sign_in(page, site, "admin@demo.leadflow.dev")
        page.goto(site.url + "/admin/rulebook")
        source = page.input_value("#source")
        broken = source.replace("method: load_balanced", "method: lottery")
        line = next(i for i, t in enumerate(broken.splitlines(), 1) if "lottery" in t)
        page.fill("#source", broken)
        page.click("button[value=activate]")
        problem = page.locator("#problem")
        assert problem.inner_text().startswith(f"Line {line}:")
        assert page.locator("#error-source .ln.err").inner_text().strip().startswith("assign")
        selected = page.evaluate(
            "() => { const a = document.getElementById('source');"
            " return a.value.slice(a.selectionStart, a.selectionEnd); }"
        )
        assert "lottery" in selected  # the cursor is on the faulty line
        shot(page, "rulebook-error")
        page.fill("#source", source.replace("method: load_balanced", "method: round_robin"))
        page.click("button[value=dry_run]")
        assert page.locator("#dry-run-result").is_visible()
        assert (
            "+    assign: {team: dach, method: round_robin}" in page.locator("#diff").inner_text()
        )
        page.click("button[value=activate]")
        assert "is now active" in page.locator("#message").inner_text()
        assert "round_robin" in page.input_value("#source")
        assert page.locator("#versions .badge.ok").count() == 1
