"""`bench/load`: the action mix against a real server (SQLite), per-action counting, and
the rate arithmetic. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bench import load
from bench.load import EMPTY, ERROR, LOST, OK, Rates, parse_rates, schedule


def test_rates_split_the_intake_between_pool_offers_and_plain_leads() -> None:
    [one, two] = parse_rates("20,40", "5", "25%")
    assert one.streams() == {"intake": 10.0, "intake_pool": 5.0, "intake_offer": 5.0,
                             "claim": 5.0, "accept": 5.0}
    assert two.streams()["accept"] == 10.0 and two.streams()["intake"] == 25.0
    with pytest.raises(ValueError, match="must not exceed"):
        parse_rates("10", "6", "6")


def test_schedule_is_open_loop_per_action() -> None:
    due = schedule({"intake": 4.0, "accept": 2.0, "claim": 0.0}, 1.0)
    assert [(round(at, 2), name) for at, name, _ in due] == [
        (0.0, "accept"), (0.0, "intake"), (0.25, "intake"), (0.5, "accept"), (0.5, "intake"),
        (0.75, "intake")]


@pytest.mark.slow
def test_mix_against_a_running_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leads, claims and offer accepts through the public API: every lead is taken in,
    accepts find the offers made to their rep and win them, and the report counts each
    action apart; afterwards every accepted offer's lead is owned by its accepter."""
    monkeypatch.setattr(load, "RESULTS", tmp_path / "results")
    with load.spawn("sqlite", tmp_path) as (urls, token, described):
        report = load.run(urls, token, [Rates(8, 2, 2)], 4.0, "test", described)
        [summary] = report["runs"]
        acts = summary["actions"]
        assert set(acts) == {"intake", "intake_pool", "intake_offer", "claim", "accept"}
        for name in ("intake", "intake_pool", "intake_offer"):
            assert acts[name]["ok"] == acts[name]["requests"] > 0, acts[name]
        accept = acts["accept"]
        assert accept["requests"] == 8 and accept["error_count"] == 0, accept
        assert accept["ok"] >= 1 and accept["ok"] + accept["lost_race"] + accept["empty"] == 8
        assert acts["claim"]["error_count"] == 0 and acts["claim"]["ok"] >= 1
        assert summary["error_count"] == 0 and summary["latency_ms"]["p99"] > 0
        h = {"Authorization": f"Bearer {token}"}
        leads = httpx.get(f"{urls[0]}/api/v1/leads", params={"limit": 200}, headers=h).json()
        items = leads["items"] if isinstance(leads, dict) else leads
        offered = [lead for lead in items if lead.get("source") == load.OFFERED]
        assert len(offered) == acts["intake_offer"]["ok"]
        won = 0
        for lead in offered:
            for campaign in httpx.get(f"{urls[0]}/api/v1/leads/{lead['id']}/offers",
                                      headers=h).json():
                winners = [o for o in campaign["offers"] if o["status"] == "accepted"]
                assert len(winners) <= 1
                if winners:
                    won += 1
                    assert lead["owner_rep_id"] == winners[0]["rep_id"]
        assert won == accept["ok"]
    saved = json.loads(next((tmp_path / "results").glob("load-test-*.json")).read_text())
    assert saved["runs"][0]["actions"]["accept"]["ok"] == accept["ok"]


def test_a_lost_race_is_not_an_error() -> None:
    """Two reps accept the same broadcast: one `ok`, one `lost_race` (the 409), no error."""
    def answer(status: int) -> httpx.Response:
        return httpx.Response(status, json={})

    assert load._answer(answer(200)) == (OK, "")
    assert load._answer(answer(409), lost=(409, 410)) == (LOST, "")
    assert load._answer(answer(409), empty=(409,)) == (EMPTY, "")
    assert load._answer(answer(503), lost=(409, 410)) == (ERROR, "HTTP 503")
