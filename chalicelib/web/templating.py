"""The one Jinja2 environment of the web layer (emails, the owner's digest and dashboard), and the figure
formatting its templates share, so an email and a page say the same number the same way.

The environment is made on first use and kept for the container's life: Jinja2 is imported only by the
routes and jobs that render, never on the path of a submission. HTML templates are autoescaped; the
plain-text parts of emails (``*.txt``, ``*.txt.j2``) are not, since plain text is never interpreted as HTML
and escaping would turn "Phở & cà phê" into "Phở &amp; cà phê" in the customer's mail.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render(name: str, **context: Any) -> str:
    """The template ``name`` (a path below ``templates/``) rendered with ``context``."""
    return environment().get_template(name).render(**context)


@lru_cache(maxsize=1)
def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(
            enabled_extensions=("html", "html.j2"), disabled_extensions=("txt", "txt.j2"), default=True
        ),
        undefined=StrictUndefined,  # a misspelt field fails the render, never sends a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number)
    env.globals.update(headline=headline, signed=signed, bars=bars, bar_colour=bar_colour, format_day=format_day)
    return env


# ---- figures as the owner reads them --------------------------------------------------------------------


def number(value: float | None, locale: str, places: int | None = None) -> str:
    """A figure as the owner reads it: Vietnamese writes a decimal comma (4,25), English a point."""
    if value is None:
        return "—"
    text = str(value) if places is None else f"{value:.{places}f}"
    return text.replace(".", ",") if locale == "vi" else text


def headline(metric: str, value: float | None, locale: str) -> str:
    if value is None:
        return "—"
    if metric == "nps":
        return f"{int(value):+d}" if value else "0"
    if metric == "csat":
        return number(value, locale, 1) + "%"
    return number(value, locale, 2)


def signed(metric: str, delta: float | None, locale: str) -> str:
    """A change with its sign (CSAT in percentage points, CES in score points, NPS in NPS points)."""
    if delta is None:
        return "—"
    places = {"nps": 0, "csat": 1, "ces": 2}[metric]
    magnitude = str(abs(int(delta))) if places == 0 else number(abs(delta), locale, places)
    return ("+" if delta > 0 else "−" if delta < 0 else "±") + magnitude


def bars(distribution: dict[Any, int]) -> list[dict[str, Any]]:
    """Rows of a bar chart: score, count, and a width in whole percent of the largest count."""
    items = sorted((int(k), int(v)) for k, v in distribution.items())
    top = max((v for _, v in items), default=0)
    return [{"score": s, "count": v, "width": round(100 * v / top) if top else 0} for s, v in items]


def bar_colour(metric: str, score: int) -> str:
    """Unhappy scores red, neutral grey, happy green (the same cut-offs as the metric definitions)."""
    low, mid = {"nps": (6, 8), "csat": (2, 3), "ces": (3, 4)}[metric]
    return "#c0392b" if score <= low else "#95a5a6" if score <= mid else "#1e8449"


def format_day(locale: str, iso_day: str) -> str:
    """A calendar day as the owner writes it: 28/11/2026 in Vietnamese, 2026-11-28 in English."""
    year, month, day = iso_day[:10].split("-")
    return f"{day}/{month}/{year}" if locale == "vi" else f"{year}-{month}-{day}"


def local_time(created_at: str, timezone: str) -> str:
    """HH:MM in the business's zone (comments are stored with UTC times)."""
    from chalicelib.domain.calendar import parse_iso_utc, zone

    try:
        return parse_iso_utc(created_at).astimezone(zone(timezone)).strftime("%H:%M")
    except (ValueError, KeyError):
        return ""
