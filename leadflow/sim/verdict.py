"""A plain-language verdict: which rulebook wins on which metric, and how clearly."""

from __future__ import annotations

from typing import Any

from leadflow.sim.runner import METRICS


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def compare(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per metric: the winner, or None when the best two are within each other's noise."""
    books = report["rulebooks"]
    out = []
    for path, label, better in METRICS:
        scored = [(name, b["metrics"][path]) for name, b in books.items() if b["metrics"][path]]
        if len(scored) < 2:
            continue
        scored.sort(key=lambda x: x[1]["mean"], reverse=better == "higher")
        (best, b1), (_, b2) = scored[0], scored[1]
        clear = b1["mean"] != b2["mean"] and not _overlap(b1, b2)
        out.append(
            {
                "metric": path,
                "label": label,
                "better": better,
                "winner": best if clear else None,
                "values": {name: ci["mean"] for name, ci in scored},
            }
        )
    return out


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["low"] is None or b["low"] is None:
        return False  # one run: no interval, the difference is all we have
    return bool(a["low"] <= b["high"] and b["low"] <= a["high"])


def sentences(report: dict[str, Any]) -> list[str]:
    rows = compare(report)
    lines = []
    wins: dict[str, list[str]] = {}
    for row in rows:
        values = ", ".join(f"{n} {_fmt(v)}" for n, v in row["values"].items())
        distinct = set(row["values"].values())
        if len(distinct) == 1:
            lines.append(f"{row['label']}: no difference ({values}).")
        elif row["winner"] is None:
            tied = " and ".join(list(row["values"])[:2])
            lines.append(f"{row['label']}: too close to call between {tied} ({values}).")
        else:
            wins.setdefault(row["winner"], []).append(row["label"])
            lines.append(f"{row['label']}: {row['winner']} wins ({values}).")
    summary = []
    for name, labels in sorted(wins.items(), key=lambda kv: -len(kv[1])):
        summary.append(f"{name} wins on {len(labels)} of {len(rows)} metrics.")
    revenue = next((r for r in rows if r["metric"] == "expected_revenue"), None)
    if revenue is not None and revenue["winner"]:
        summary.append(
            f"For expected revenue, the deciding metric for most teams, choose {revenue['winner']}."
        )
    elif revenue is not None:
        summary.append(
            "Expected revenue does not separate the rulebooks: choose on speed and fairness."
        )
    return summary + lines
