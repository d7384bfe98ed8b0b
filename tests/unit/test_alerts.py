"""Alert thresholds (defaults from the push article) and their evaluation."""

from __future__ import annotations

import pytest

from leadflow.domain.alerts import Observed, Severity, Thresholds, evaluate


def observed(**overrides: object) -> Observed:
    base: dict[str, object] = {
        "leads": 100,
        "routing_errors": 0,
        "latency_p95_seconds": 1.0,
        "slow_high_priority": 0,
    }
    base.update(overrides)
    return Observed(**base)  # type: ignore[arg-type]


class TestAlerts:
    def test_defaults_are_the_articles(self) -> None:
        """5 % errors, 60 s latency, 1 h first response."""
        t = Thresholds()
        assert (t.error_rate, t.latency_p95_seconds, t.first_response_seconds) == (0.05, 60, 3600)

    def test_quiet_when_all_is_well(self) -> None:
        """No alert under the thresholds."""
        assert evaluate(observed(routing_errors=5), Thresholds()) == []

    def test_routing_errors_above_five_percent(self) -> None:
        """6 of 100 leads fell to the fallback → warning; 11 → critical."""
        [alert] = evaluate(observed(routing_errors=6), Thresholds())
        assert alert.key == "routing_errors" and alert.severity is Severity.WARNING
        [alert] = evaluate(observed(routing_errors=11), Thresholds())
        assert alert.severity is Severity.CRITICAL

    def test_latency_and_first_response(self) -> None:
        """p95 61 s and one slow hot lead raise two alerts."""
        keys = [
            a.key
            for a in evaluate(observed(latency_p95_seconds=61, slow_high_priority=1), Thresholds())
        ]
        assert keys == ["assignment_latency", "first_response"]

    def test_configurable(self) -> None:
        """A manager may loosen the error threshold to 10 %."""
        t = Thresholds().with_changes({"error_rate": "0.1"})
        assert evaluate(observed(routing_errors=6), t) == []

    @pytest.mark.parametrize(
        ("changes", "message"),
        [({"nope": 1}, "unknown"), ({"error_rate": 2}, "share"), ({"min_leads": -1}, ">= 0")],
    )
    def test_bad_thresholds_refused(self, changes: dict[str, object], message: str) -> None:
        """Unknown names and out-of-range values name the threshold at fault."""
        with pytest.raises(ValueError, match=message):
            Thresholds().with_changes(changes)
