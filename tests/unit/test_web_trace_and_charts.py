"""Pure pieces of the web app: the trace timeline and the SVG charts."""

from __future__ import annotations

from datetime import UTC, datetime

from leadflow.web import charts
from leadflow.web.format import duration, number, percent
from leadflow.web.trace import timeline

DECISION = {
    "id": 7,
    "kind": "route",
    "outcome": "assigned",
    "rule": "france",
    "method": "round_robin",
    "rep_id": 2,
    "queue": None,
    "reason": "turn 2: longest since last turn in rotation",
    "actor": "api",
    "created_at": datetime(2026, 3, 2, 10, tzinfo=UTC),
    "trace": {
        "rulebook_version": 3,
        "decide_us": 2500,
        "steps": [
            {
                "rule": "accounts",
                "matched": False,
                "result": "conditions not met",
                "conditions": [
                    {
                        "field": "account.matched",
                        "op": "eq",
                        "value": True,
                        "actual": False,
                        "result": False,
                    }
                ],
            },
            {
                "rule": "france",
                "matched": True,
                "result": "assigned to Alice",
                "candidates": [
                    {"rep_id": 1, "name": "Bob", "eligible": False, "skipped": "out_of_office"},
                    {"rep_id": 3, "name": "Chloe", "eligible": True, "skipped": None},
                    {"rep_id": 2, "name": "Alice", "eligible": True, "skipped": None},
                ],
            },
        ],
    },
}


class TestTimeline:
    def test_why_alice_and_why_not_the_others(self) -> None:
        """The winner first with the method's reason, then who was passed over and why."""
        [event] = timeline([DECISION], {2: "Alice"})
        assert event.headline == "Assigned to Alice by rule “france” (round robin)"
        decisive = event.steps[-1]
        assert decisive.decisive and not event.steps[0].decisive
        assert [(c.name, c.verdict) for c in decisive.candidates] == [
            ("Alice", "chosen"),
            ("Chloe", "passed"),
            ("Bob", "skipped"),
        ]
        assert decisive.candidates[1].why.startswith("eligible, but Alice was chosen")
        assert decisive.candidates[2].why == "was out of office"

    def test_conditions_and_extras_in_words(self) -> None:
        """Conditions show the lead's value; timings and version are readable."""
        [event] = timeline([DECISION], {})
        [cond] = event.steps[0].conditions
        assert cond == {"text": "account.matched = true", "actual": "false", "ok": False}
        assert ("decided in", "2.5 ms") in event.extra
        assert ("rulebook version", "3") in event.extra

    def test_decision_without_steps(self) -> None:
        """A claim or manual step has a headline even without rule steps."""
        claim = {**DECISION, "kind": "claim", "outcome": "claimed", "rule": None, "trace": {}}
        [event] = timeline([claim], {})
        assert event.headline == "Claim: claimed" and event.steps == []


class TestCharts:
    def test_labels_are_escaped(self) -> None:
        """A rep named like markup cannot inject into the page."""
        svg = str(charts.hbars([charts.Bar("<script>x</script>", 3, "3")], title="t"))
        assert "<script>" not in svg and "&lt;script&gt;" in svg

    def test_bars_scale_to_the_largest(self) -> None:
        """The largest value gets the full plot width; half gets half."""
        svg = str(charts.hbars([charts.Bar("a", 10, "10"), charts.Bar("b", 5, "5")], title="t"))
        widths = [float(w) for w in __import__("re").findall(r'width="([\d.]+)" height', svg)]
        assert widths[0] == 2 * widths[1]

    def test_far_threshold_is_named_not_drawn(self) -> None:
        """A 60 s threshold over 20 ms bars would flatten them: it is written instead."""
        svg = str(
            charts.hbars(
                [charts.Bar("p50", 0.02, "20 ms")],
                title="t",
                threshold=60,
                threshold_label="alert 60 s",
            )
        )
        assert 'class="threshold"' not in svg and "all well below alert 60 s" in svg

    def test_empty_and_lorenz(self) -> None:
        """No data says so; a Lorenz curve is a polygon with the Gini figure."""
        assert "No data" in str(charts.hbars([], title="t", empty="No data"))
        svg = str(charts.lorenz([1, 3], title="t", gini=0.25))
        assert 'class="lorenz"' in svg and "Gini 0.25" in svg


class TestFormat:
    def test_durations_percent_numbers(self) -> None:
        """Human units: ms, s, min, h; thousands separated; missing is a dash."""
        assert [duration(0.012), duration(42), duration(600), duration(7200)] == [
            "12 ms",
            "42 s",
            "10 min",
            "2.0 h",
        ]
        assert percent(0.4286) == "42.9 %" and number(1234567) == "1 234 567"
        assert number(None) == "—" and duration(None) == "—"
