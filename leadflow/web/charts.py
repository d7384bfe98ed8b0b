"""Charts as server-rendered SVG: no chart library, no script, readable without JS.

Each function returns markup ready for a template (labels are escaped here). The SVGs
have a viewBox and scale to their container, so they work on a phone as on a laptop.
Colours come from classes styled in leadflow.css (the CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from leadflow.domain.metrics import lorenz_curve

WIDTH = 640
ROW = 26
LABEL_W = 150
VALUE_W = 80


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str
    css: str = ""


def _empty(message: str) -> Markup:
    return Markup('<p class="chart-empty">{}</p>').format(message)


def hbars(
    bars: Sequence[Bar],
    *,
    title: str,
    threshold: float | None = None,
    threshold_label: str = "",
    empty: str = "No data for this period.",
    width: int = WIDTH,
) -> Markup:
    """Horizontal bars, one row each, with the value at the end and an optional
    dashed threshold line."""
    if not bars:
        return _empty(empty)
    biggest = max(b.value for b in bars)
    if threshold is not None and biggest and threshold > 3 * biggest:
        # A threshold far above every bar would squash them: say so instead of drawing it.
        threshold_label = f"all well below {threshold_label}"
        off_scale, threshold = True, None
    else:
        off_scale = False
    top = max(biggest, threshold or 0) or 1.0
    label_w = min(LABEL_W, width // 4)
    value_w = max(VALUE_W, int(7.5 * max(len(b.text) for b in bars)) + 10)
    plot_w = width - label_w - value_w
    height = ROW * len(bars) + (22 if threshold is not None or off_scale else 8)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line class="axis" x1="{label_w}" y1="0" x2="{label_w}" y2="{ROW * len(bars)}"/>',
    ]
    for i, bar in enumerate(bars):
        y = i * ROW
        w = max(plot_w * bar.value / top, 0 if bar.value == 0 else 2)
        room = label_w // 7
        label = bar.label if len(bar.label) <= room else bar.label[: room - 1] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar {escape(bar.css)}" x="{label_w}" y="{y + 5}" width="{w:.1f}" '
            f'height="{ROW - 9}" rx="3"><title>{escape(bar.label)}: {escape(bar.text)}</title>'
            f"</rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}">{escape(bar.text)}</text>'
        )
    if off_scale:
        parts.append(
            f'<text class="small" x="{label_w}" y="{ROW * len(bars) + 16}">'
            f"{escape(threshold_label)}</text>"
        )
    if threshold is not None:
        x = label_w + plot_w * threshold / top
        bottom = ROW * len(bars)
        parts.append(
            f'<line class="threshold" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{bottom + 4}"/>'
            f'<text class="small" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{escape(threshold_label)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def lorenz(values: Sequence[float], *, title: str, gini: float) -> Markup:
    """The Lorenz curve of a distribution against the line of perfect equality."""
    if not values or sum(values) == 0:
        return _empty("Nothing distributed yet.")
    size, pad = 240, 30
    inner = size - 2 * pad

    def xy(px: float, py: float) -> str:
        return f"{pad + px * inner:.1f},{pad + (1 - py) * inner:.1f}"

    # Closing the polygon runs along the diagonal: the shaded area is what Gini measures.
    curve = " ".join(xy(x, y) for x, y in lorenz_curve(values))
    return Markup(
        f'<svg viewBox="0 0 {size} {size}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<rect class="grid-line" x="{pad}" y="{pad}" width="{inner}" height="{inner}" '
        f'fill="none"/>'
        f'<line class="equality" x1="{pad}" y1="{pad + inner}" x2="{pad + inner}" y2="{pad}"/>'
        f'<polygon class="lorenz" points="{curve}"/>'
        f'<text class="small" x="{pad}" y="{size - 8}">share of reps →</text>'
        f'<text class="small" x="10" y="{pad - 10}">share of leads ↑</text>'
        f'<text x="{pad + 10}" y="{pad + 20}">Gini {gini:.2f}</text>'
        "</svg>"
    )
