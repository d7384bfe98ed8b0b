"""Numbers for people: durations, percentages, money-ish values (Jinja filters)."""

from __future__ import annotations

from datetime import datetime


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def number(value: float | None, digits: int = 0) -> str:
    if not isinstance(value, int | float):  # None, or a field the lead does not have
        return "—"
    return f"{value:,.{digits}f}".replace(",", " ")


def when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


FILTERS = {"duration": duration, "percent": percent, "number": number, "when": when}
