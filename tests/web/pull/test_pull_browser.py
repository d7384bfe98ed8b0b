"""Pull pages in headless Chromium (Debian's, driven by Playwright) against a real
uvicorn server on 127.0.0.1 over a temporary SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadflow.schemas import LeadIn
from leadflow.services import routing, sla
from tests.web.conftest import PASSWORD
from tests.web.pull.conftest import BLIND_COMPANY, POOL_COMPANIES, PullWorld
from tests.web.test_browser import launch_chromium, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def sign_in(page: Any, world: PullWorld, email: str) -> None:
    page.goto(world.url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("nav.nav")


def test_rep_claims_from_a_pool_with_a_filter_and_sees_it_in_my_leads(
    page: Any, pull_sqlite: PullWorld
) -> None:
    sign_in(page, pull_sqlite, "alice@x.example")
    page.click("nav >> text=Queues")
    page.click("a[href='/queues/inbound'] >> nth=0")
    page.fill("input[name=q]", "globex")
    page.click("form.filters button[type=submit]")
    rows = page.locator("#queue-leads tbody tr")
    assert rows.count() == 1 and POOL_COMPANIES[1] in rows.first.inner_text()
    shot(page, "queue")
    rows.first.locator("button.claim").click()
    page.wait_for_selector("#lead-actions")
    assert POOL_COMPANIES[1] in page.inner_text("main")
    assert "Claimed:" in page.inner_text("#lead-actions")
    page.click("nav >> text=My leads")
    mine = page.locator("#leads tbody tr", has_text=POOL_COMPANIES[1])
    assert mine.count() == 1
    assert mine.locator("button.release").count() == 1
    assert "left" in mine.locator(".sla").inner_text()  # the live SLA countdown


def test_blind_queue_shows_nothing_before_claim(page: Any, pull_sqlite: PullWorld) -> None:
    sign_in(page, pull_sqlite, "bob@x.example")
    page.goto(pull_sqlite.url + "/queues/vault")
    page.wait_for_selector("#queue-leads")
    html = page.content()
    assert BLIND_COMPANY not in html and "vault.example" not in html
    assert page.locator("#queue-leads tbody tr").count() == 1
    assert page.locator("form.filters").count() == 0
    page.click("#queue-leads button.claim")
    page.wait_for_selector("#lead-actions")
    assert BLIND_COMPANY in page.inner_text("main")  # after the claim, the rep sees it


def test_log_an_activity_in_two_clicks(page: Any, pull_sqlite: PullWorld) -> None:
    lead = LeadIn(email="fresh@fr.example", company={"name": "Fresh SA", "country": "FR"})
    view = routing.intake(pull_sqlite.svc, lead)[0]
    owner = "alice" if view["owner_rep_id"] == pull_sqlite.alice else "bob"
    sign_in(page, pull_sqlite, f"{owner}@x.example")
    page.goto(pull_sqlite.url + "/my/leads")
    row = page.locator(f"#leads tr[data-lead='{view['id']}']")
    assert "left" in row.locator(".sla").inner_text()
    row.locator("summary").click()  # one
    row.locator("button[value=called]").click()  # two
    page.wait_for_selector("text=Activity logged.")
    assert routing.get_lead(pull_sqlite.svc, view["id"])["status"] == "contacted"
    assert [t["state"] for t in sla.timers(pull_sqlite.svc, view["id"])] == ["met"]
    row = page.locator(f"#leads tr[data-lead='{view['id']}']")
    assert "contacted" in row.inner_text()
    assert row.locator(".sla").count() == 0  # no countdown once contacted


def test_manager_assigns_from_triage_with_a_reason(page: Any, pull_sqlite: PullWorld) -> None:
    sign_in(page, pull_sqlite, "manager@x.example")
    page.click("nav >> text=Triage")
    row = page.locator(f"tr[data-lead='{pull_sqlite.triage}']")
    assert "Nowhere Ltd" in row.inner_text()
    row.locator("select[name=rep_id]").select_option(label="Bob")
    row.locator("input[name=reason]").fill("covers North America")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("text=Assigned; the reason is in the lead's trace.")
    assert page.locator(f"tr[data-lead='{pull_sqlite.triage}']").count() == 0
    lead = routing.get_lead(pull_sqlite.svc, pull_sqlite.triage)
    assert (lead["status"], lead["owner_rep_id"]) == ("assigned", pull_sqlite.bob)
    page.goto(f"{pull_sqlite.url}/leads/{pull_sqlite.triage}")
    assert "covers North America" in page.inner_text("#trace")
