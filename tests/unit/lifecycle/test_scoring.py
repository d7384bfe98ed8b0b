"""Points scoring with explanations, the trained model's maths, AUC."""

from __future__ import annotations

import random

from leadflow.domain.scoring import (
    DEFAULT_FACTORS,
    Factor,
    Feature,
    LogisticModel,
    auc,
    score_points,
)


class TestPointsModel:
    def test_each_factor_explains_its_points(self) -> None:
        """Size band, industry, pages viewed (capped) and a demo request add up, each named."""
        lead = {
            "company": {"size": 250, "industry": "Software"},
            "attributes": {"pages_viewed": 30, "demo_request": "yes"},
        }
        score = score_points(DEFAULT_FACTORS, lead)
        assert score.value == 20 + 15 + 20 + 25
        by_name = {c.factor: c for c in score.contributions}
        assert by_name["company size"].why == "company.size 250 ≥ 200"
        assert by_name["pages viewed"].points == 20  # 30 x 2 capped at 20
        assert "pricing page" not in by_name  # absent factors are not listed

    def test_score_is_clamped_to_0_100(self) -> None:
        factors = (
            Factor("big", "attributes.x", points=80),
            Factor("more", "attributes.y", points=80),
        )
        assert score_points(factors, {"attributes": {"x": True, "y": True}}).value == 100
        neg = (Factor("free mail", "enrichment.free_mail", points=-10),)
        assert score_points(neg, {"enrichment": {"free_mail": True}}).value == 0

    def test_false_flags_score_nothing(self) -> None:
        score = score_points(DEFAULT_FACTORS, {"attributes": {"pricing_page": "false"}})
        assert score.value == 0 and score.contributions == ()


class TestTrainedModel:
    def test_explanation_lists_top_contributors_first(self) -> None:
        model = LogisticModel(
            (Feature("demo", "attributes.demo"), Feature("size", "company.size", mean=100, std=50)),
            (2.0, 0.1),
            -1.0,
        )
        score = model.score({"attributes": {"demo": 1}, "company": {"size": 200}})
        assert [c.factor for c in score.contributions] == ["demo", "size"]
        assert 0 < score.value < 100
        assert LogisticModel.from_dict(model.to_dict()) == model

    def test_auc_of_perfect_random_and_inverted_rankings(self) -> None:
        assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
        assert auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
        rng = random.Random(1)
        labels = [rng.randint(0, 1) for _ in range(2000)]
        assert 0.45 < auc(labels, [rng.random() for _ in labels]) < 0.55
        assert auc([0, 1], [0.5, 0.5]) == 0.5  # ties count half
