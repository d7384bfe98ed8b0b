"""Scoring before routing (rules test `score`) and `leadflow score train`."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadflow.cli.main import app
from leadflow.errors import ValidationError
from leadflow.services import routing
from leadflow.services.context import Services
from leadflow.services.scoring_train import train
from tests.integration.lifecycle.conftest import activate, add_lead, make_org

HOT_RULES = {
    "rules": [
        {"name": "hot", "when": {"score": {"gte": 50}}, "queue": "hot"},
        {"name": "sales", "assign": {"team": "sales", "method": "round_robin"}},
    ]
}


def history(n: int = 600, seed: int = 3) -> bytes:
    """Past leads where demo requests and company size drive conversion; noise elsewhere."""
    rng = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["company_size", "company_industry", "demo_request", "pages_viewed", "converted"])
    for _ in range(n):
        size = rng.choice([5, 20, 80, 300, 1500])
        demo = rng.random() < 0.3
        industry = rng.choice(["software", "retail", "finance"])
        logit = -2.0 + 2.5 * demo + 0.0012 * size
        won = rng.random() < 1 / (1 + 2.718**-logit)
        w.writerow([size, industry, "true" if demo else "false", rng.randint(0, 9), int(won)])
    return out.getvalue().encode()


class TestScoringBeforeRouting:
    def test_rules_route_on_the_computed_score(self, svc: Services) -> None:
        make_org(svc)
        activate(svc, None, **HOT_RULES)
        hot = add_lead(svc, email="a@big.example",
                       company={"country": "FR", "size": 2000, "industry": "software"},
                       attributes={"demo_request": True})  # fmt: skip
        cold = add_lead(svc, email="b@small.example", company={"country": "FR", "size": 3})
        assert (hot["score"], hot["queue"]) == (70, "hot")
        assert cold["score"] == 0 and cold["status"] == "assigned"
        factors = {f["factor"]: f["points"] for f in hot["scoring"]["factors"]}
        assert factors == {"company size": 30, "industry": 15, "demo request": 25}
        trace = routing.get_decisions(svc, hot["id"])[0]["trace"]["before_routing"]
        assert any(n["step"] == "score" and n["score"] == 70 for n in trace)

    def test_dry_run_shows_enrichment_and_score(self, svc: Services) -> None:
        """A dry run scores and enriches like intake (reads only), so `score` rules work."""
        from leadflow.schemas import LeadIn

        make_org(svc)
        activate(svc, None, **HOT_RULES)
        lead = LeadIn.model_validate(
            {"phone": "+33142685300", "company": {"size": 2000}, "attributes": {"demo_request": 1}}
        )
        result = routing.dry_run(svc, lead)
        assert (result["rule"], result["queue"]) == ("hot", "hot")
        assert result["lead"]["score"] == 55 and result["lead"]["company"]["country"] == "FR"
        assert [n["step"] for n in result["trace"]["before_routing"]][-1] == "score"
        assert routing.list_leads(svc)["items"] == []

    def test_configured_factors_replace_the_defaults(self, svc: Services) -> None:
        make_org(svc)
        scoring = {"factors": [
            {"name": "germany", "field": "company.country", "values": {"DE": 60}},
            {"name": "webinar", "field": "source", "group": "behaviour", "values": {"webinar": 5}},
        ]}  # fmt: skip
        activate(svc, {"scoring": scoring}, **HOT_RULES)
        lead = add_lead(svc, company={"country": "DE"}, source="webinar")
        assert lead["score"] == 65 and lead["queue"] == "hot"

    def test_a_given_score_is_kept(self, svc: Services) -> None:
        make_org(svc)
        activate(svc)
        lead = add_lead(svc, score=42, company={"country": "FR", "size": 5000})
        assert lead["score"] == 42 and "scoring" not in lead

    def test_patch_rescores(self, svc: Services) -> None:
        from leadflow.services import lifecycle

        make_org(svc)
        activate(svc)
        lead = add_lead(svc, company={"country": "FR", "size": 10})
        view = lifecycle.patch_lead(svc, lead["id"], {"company": {"size": 1200}})
        assert (lead["score"], view["score"]) == (0, 30)


class TestTraining:
    def test_known_signal_gives_auc_well_above_half(self, svc: Services) -> None:
        report = train(svc, history(), activate=True)
        assert report.auc > 0.7, report
        names = [name for name, _ in report.top_features[:2]]
        assert set(names) == {"demo_request", "company_size"}

    def test_activated_model_scores_and_explains_new_leads(self, svc: Services) -> None:
        make_org(svc)
        activate(svc)
        train(svc, history(), activate=True)
        demo = add_lead(svc, email="x@a.example", company={"country": "FR", "size": 1500},
                        attributes={"demo_request": True})  # fmt: skip
        plain = add_lead(svc, email="y@b.example", company={"country": "FR", "size": 5})
        assert demo["score"] > plain["score"]
        assert demo["scoring"]["model"] == "trained"
        assert demo["scoring"]["factors"][0]["factor"] in {"demo_request", "company_size"}

    def test_bad_outcome_names_the_line(self, svc: Services) -> None:
        data = history(30).replace(b",1\r\n", b",maybe\r\n", 1)
        with pytest.raises(ValidationError, match=r"line \d+: converted: 'maybe'"):
            train(svc, data)

    def test_cli_train_reports_auc(
        self, svc: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LEADFLOW_DATABASE_URL", svc.db.url)
        path = tmp_path / "history.csv"
        path.write_bytes(history())
        result = CliRunner().invoke(app, ["score", "train", str(path), "--activate"])
        assert result.exit_code == 0, result.output
        assert "held-out AUC 0." in result.output and "active" in result.output
        result = CliRunner().invoke(app, ["score", "activate"])
        assert result.exit_code == 0 and "points model" in result.output
