"""Write report.json and a self-contained report.html (inline SVG charts, no scripts)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from leadflow.sim.runner import METRICS
from leadflow.sim.verdict import sentences

__all__ = ["render", "sentences", "write"]

COLOURS = ("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2")


def write(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    report = {**report, "verdict": sentences(report)}
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(render(report), encoding="utf-8")
    return json_path, html_path


def render(report: dict[str, Any]) -> str:
    books = report["rulebooks"]
    names = list(books)
    colour = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(names)}
    legend = " ".join(
        f'<span class="key" style="background:{colour[n]}"></span>{escape(n)}' for n in names
    )
    verdict = "".join(f"<li>{escape(s)}</li>" for s in report["verdict"])
    rows = "".join(_row(path, label, better, books) for path, label, better in METRICS)
    charts = "".join(
        _metric_chart(label, [(n, books[n]["metrics"][path]) for n in names], colour)
        for path, label, _ in METRICS
    )
    reps = "".join(_rep_chart(n, books[n]["runs"][0], colour[n]) for n in names)
    cal = report["calibration"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leadflow simulation report</title>
<style>
body{{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#111}}
table{{border-collapse:collapse;width:100%}}td,th{{padding:4px 8px;border-bottom:1px solid #ddd;
text-align:right}}td:first-child,th:first-child{{text-align:left}}.win{{font-weight:700;
color:#15803d}}.key{{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}}
.charts{{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}}
figure{{margin:0;border:1px solid #eee;padding:8px}}figcaption{{font-weight:600}}
small{{color:#555}}
</style></head><body>
<h1>Simulation report</h1>
<p>{report["leads"]:,} leads replayed, {report["runs"]} seeded run(s) per rulebook
(seed {report["seed"]}), SLA {report["config"]["sla_minutes"]:g} min,
reassignment after {report["config"]["reassign_after_hours"]} h.
Conversion model calibrated from {cal["from_leads"]:,} historical outcomes
(half-life {cal["half_life_hours"]:g} h). Values are means over runs with 95 % confidence
intervals in brackets.</p>
<p>{legend}</p>
<h2>Verdict</h2><ul>{verdict}</ul>
<h2>Side by side</h2>
<table><tr><th>Metric</th>{"".join(f"<th>{escape(n)}</th>" for n in names)}</tr>{rows}</table>
<h2>Charts</h2><div class="charts">{charts}</div>
<h2>Leads per rep (run 1)</h2><div class="charts">{reps}</div>
</body></html>
"""


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"


def _row(path: str, label: str, better: str, books: dict[str, Any]) -> str:
    cells = {n: b["metrics"][path] for n, b in books.items()}
    means = [c["mean"] for c in cells.values() if c]
    best = (min(means) if better == "lower" else max(means)) if means else None
    out = [f"<td>{escape(label)} <small>({better} is better)</small></td>"]
    for c in cells.values():
        if not c:
            out.append("<td>n/a</td>")
            continue
        ci = (
            f" <small>[{_fmt(c['low'])}, {_fmt(c['high'])}]</small>" if c["low"] is not None else ""
        )
        cls = ' class="win"' if c["mean"] == best and len(means) > 1 else ""
        out.append(f"<td{cls}>{_fmt(c['mean'])}{ci}</td>")
    return "<tr>" + "".join(out) + "</tr>"


def _metric_chart(
    label: str, values: list[tuple[str, dict[str, Any] | None]], colour: dict[str, str]
) -> str:
    present = [(n, v) for n, v in values if v]
    if not present:
        return ""
    top = max(max(v["high"] if v["high"] is not None else v["mean"], v["mean"]) for _, v in present)
    top = top if top > 0 else 1.0
    width, bar, gap, left = 320, 18, 8, 90
    height = len(present) * (bar + gap) + gap
    parts = []
    for i, (name, v) in enumerate(present):
        y = gap + i * (bar + gap)
        w = max(0.0, v["mean"]) / top * (width - left - 60)
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="11">{escape(name[:14])}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour[name]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 13}" font-size="11">{_fmt(v["mean"])}</text>'
        )
        if v["low"] is not None:
            lo = max(0.0, v["low"]) / top * (width - left - 60) + left
            hi = max(0.0, v["high"]) / top * (width - left - 60) + left
            mid = y + bar / 2
            parts.append(f'<line x1="{lo:.1f}" y1="{mid}" x2="{hi:.1f}" y2="{mid}" stroke="#111"/>')
    svg = (
        f'<svg width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}">{"".join(parts)}</svg>'
    )
    return f"<figure><figcaption>{escape(label)}</figcaption>{svg}</figure>"


def _rep_chart(name: str, run: dict[str, Any], colour: str) -> str:
    counts = sorted((v["count"] for v in run["per_rep"].values()), reverse=True)
    if not counts:
        return ""
    top = max(max(counts), 1)
    width, height = 320, 120
    step = width / len(counts)
    bars = "".join(
        f'<rect x="{i * step:.1f}" y="{height - c / top * height:.1f}" '
        f'width="{max(step - 1, 0.5):.1f}" height="{c / top * height:.1f}" fill="{colour}"/>'
        for i, c in enumerate(counts)
    )
    svg = (
        f'<svg width="{width}" height="{height}" '
        f'role="img" aria-label="leads per rep for {escape(name)}">{bars}</svg>'
    )
    return (
        f"<figure><figcaption>{escape(name)} <small>Gini {run['gini_count']:.3f}, "
        f"max {counts[0]}, min {counts[-1]}</small></figcaption>{svg}</figure>"
    )
