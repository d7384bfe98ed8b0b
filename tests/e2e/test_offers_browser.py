"""A rep's live offers in the web page, in headless Chromium: the offer appears with a
countdown as soon as it is made, and Accept makes the rep the owner."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest

from leadflow.services import auth, routing
from leadflow.services.context import Services
from leadflow.testing import FrozenClock
from leadflow.testing.live_server import live_server
from tests.integration.offer_helpers import make_team, new_lead, offer_rulebook

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium_path() -> str:
    if not shutil.which(CHROMIUM):
        if os.environ.get("LEADFLOW_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (LEADFLOW_REQUIRE_BROWSER) but not installed")
        pytest.skip("Chromium not installed")
    return CHROMIUM


def test_offer_appears_live_with_countdown_and_accept_assigns(
    svc: Services, clock: FrozenClock, chromium_path: str
) -> None:
    """Logged in as a rep: a new lead's offer shows up without reload; Accept wins it."""
    from playwright.sync_api import sync_playwright

    clock.at = datetime.now(UTC)  # the page counts down against the browser's real clock
    a, _ = make_team(svc, 2)
    token = auth.create_token(svc, auth.Role.REP, rep_id=a)[0]
    offer_rulebook(svc, "{team: sales, mode: cascade, timeout: 2m}")
    with live_server(svc) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path)
        try:
            page = browser.new_page()
            page.goto(f"{base}/login")
            page.click("details.token-login summary")
            page.fill("input[name=token]", token)
            page.click("form[action='/login/token'] button[type=submit]")
            page.wait_for_selector("#offers .offer-note:has-text('No offers right now.')")
            clock.at = datetime.now(UTC)
            lead = new_lead(svc)
            offer = page.wait_for_selector("#offers .offer", timeout=10_000)
            assert "Co 1" in offer.inner_text()
            countdown = page.inner_text("#offers .countdown")
            minutes, _, seconds = countdown.partition(":")
            assert 60 < int(minutes) * 60 + int(seconds) <= 120, countdown
            page.click("#offers .offer .accept")
            page.wait_for_selector("#offers .offer-note:has-text('You own this lead now.')")
            assert page.query_selector("#offers .offer") is None
        finally:
            browser.close()
    view = routing.get_lead(svc, lead["id"])
    assert view["status"] == "assigned" and view["owner_rep_id"] == a
