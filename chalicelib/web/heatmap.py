"""The weekday x hour heatmap of unhappy answers, drawn two ways from one ``Heatmap``:

- ``svg``: inline SVG for the console, at most 360 px wide (a phone held upright): rows Monday..Sunday,
  columns the hours from the first to the last that has answers (6–23 h when there are none yet), each
  cell shaded by its count of unhappy answers; a cell with unhappy answers is titled "T7 18h: 9/31" so the
  share is one hover away; ``role="img"`` and an ``aria-label`` summary for screen readers.
- ``table``: an HTML table with ``bgcolor`` cells and the count written in each, for the digest: email
  clients that block images (or strip <svg>) still show it, and it needs no CSS class.

Built with plain strings and ``html.escape`` (quote=True) on every text that comes from words or the
caller (a touchpoint's name is the owner's text): the output is small, fixed-shape markup, and this keeps
Jinja2 out of the import. Both forms use the same shades and the same counts.
"""

from __future__ import annotations

from html import escape

from chalicelib.domain.heatmap import DAYS, HOURS, Heatmap
from chalicelib.web.i18n import HEATMAP, supported

DEFAULT_HOURS = range(6, 24)  # 6–23 h: when a café or shop is open, shown before any answer exists
MAX_WIDTH = 360
LABEL_WIDTH = 26
HEADER_HEIGHT = 12
# No answers: light grey; answered with none unhappy: pale green (white would vanish on a white page);
# then light to dark red by unhappy count relative to the grid's largest.
EMPTY = "#eceef1"
SHADES = ("#dcefe0", "#fde2e2", "#f9a8a8", "#ef5b5b", "#c81e1e", "#7f1212")
LIGHT_TEXT_FROM = 4  # shades from this index carry white figures in the table


def shown_hours(grid: Heatmap) -> list[int]:
    """First to last hour with answers (gaps kept, so the axis reads as time), else the default window."""
    hours = grid.hours_with_answers()
    return list(range(hours[0], hours[-1] + 1)) if hours else list(DEFAULT_HOURS)


def shade(grid: Heatmap, day: int, hour: int) -> int:
    """-1 for a cell without answers, else 0..5 by unhappy count (0 = none unhappy, 5 = the most)."""
    if not grid.answers[day][hour]:
        return -1
    count = grid.unhappy[day][hour]
    top = max(map(max, grid.unhappy))
    return 0 if not count else max(1, -(-5 * count // top))  # ceil, so any unhappy answer shows


def _colour(level: int) -> str:
    return EMPTY if level < 0 else SHADES[level]


def cell_title(grid: Heatmap, day: int, hour: int, locale: str) -> str:
    words = HEATMAP[supported(locale)]
    return words["cell"].format(
        day=words[f"day_{day}"],
        start=hour,
        end=hour + 1,
        unhappy=grid.unhappy[day][hour],
        answers=grid.answers[day][hour],
    )


def summary(grid: Heatmap, locale: str, title: str | None = None) -> str:
    words = HEATMAP[supported(locale)]
    heading = title if title is not None else words["title"]
    if not grid.n:
        return words["summary_empty"].format(title=heading)
    # The worst cell: most unhappy answers, ties to the earlier day and hour (a stable sentence).
    day, hour = max(
        ((d, h) for d in range(DAYS) for h in range(HOURS)), key=lambda dh: (grid.unhappy[dh[0]][dh[1]], -dh[0], -dh[1])
    )
    return words["summary"].format(
        title=heading, unhappy=grid.n_unhappy, answers=grid.n, day=words[f"day_{day}"], start=hour, end=hour + 1
    )


def short_title(grid: Heatmap, day: int, hour: int, locale: str) -> str:
    """A cell's hover title in the SVG, short ("T7 18h: 9/31"): the SVG's label says what the figures are."""
    words = HEATMAP[supported(locale)]
    return f"{words[f'short_{day}']} {hour}h: {grid.unhappy[day][hour]}/{grid.answers[day][hour]}"


def svg(grid: Heatmap, locale: str, title: str | None = None, key: str = "h") -> str:
    """Inline SVG, small enough to inline a week per touchpoint (issue #15: at most 8 KB raw for a full week):
    cells without answers are one grey pattern behind the grid, answered cells with none unhappy one
    pale-green path, and each cell with unhappy answers a ``<use>`` of one square, titled "T7 18h: 9/31".
    ``key`` prefixes the SVG's ids, so several on one page never share one."""
    words = HEATMAP[supported(locale)]
    hours = shown_hours(grid)
    cell = min(18, (MAX_WIDTH - LABEL_WIDTH) // len(hours))
    width, height = LABEL_WIDTH + cell * len(hours), HEADER_HEIGHT + cell * DAYS
    side = cell - 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(summary(grid, locale, title))}" font-family="sans-serif" font-size="9">'
        f'<defs><pattern id="{key}e" width="{cell}" height="{cell}" patternUnits="userSpaceOnUse" '
        f'x="{LABEL_WIDTH}" y="{HEADER_HEIGHT}"><rect width="{side}" height="{side}" fill="{EMPTY}"/></pattern>'
        f'<rect id="{key}c" width="{side}" height="{side}"/></defs>'
        f'<rect x="{LABEL_WIDTH}" y="{HEADER_HEIGHT}" width="{width - LABEL_WIDTH}" height="{cell * DAYS}" '
        f'fill="url(#{key}e)"/>'
    ]
    # Hour labels every third column keep the axis readable at 13 px cells.
    for i, hour in enumerate(hours):
        if hour % 3 == 0:
            parts.append(f'<text x="{LABEL_WIDTH + i * cell}" y="9">{hour}</text>')
    calm: list[str] = []
    for day in range(DAYS):
        y = HEADER_HEIGHT + day * cell
        parts.append(f'<text x="0" y="{y + cell - 4}">{escape(words[f"short_{day}"])}</text>')
        for i, hour in enumerate(hours):
            level, x = shade(grid, day, hour), LABEL_WIDTH + i * cell
            if level == 0:
                calm.append(f"M{x} {y}h{side}v{side}h-{side}z")
            elif level > 0:
                parts.append(
                    f'<use href="#{key}c" x="{x}" y="{y}" fill="{SHADES[level]}">'
                    f"<title>{escape(short_title(grid, day, hour, locale))}</title></use>"
                )
    if calm:
        parts.append(f'<path fill="{SHADES[0]}" d="{"".join(calm)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def table(grid: Heatmap, locale: str, title: str | None = None) -> str:
    """An HTML table for email: bgcolor shades, the unhappy count written in each cell with answers.

    Attributes rather than per-cell styles (cellpadding, align, bgcolor) keep a digest with several
    touchpoints well below the size at which Gmail clips a message; the title gives the share on hover.
    """
    words = HEATMAP[supported(locale)]
    hours = shown_hours(grid)
    rows = [
        '<table cellpadding="2" cellspacing="1" border="0" style="font:11px sans-serif" '
        f'summary="{escape(summary(grid, locale, title))}">',
        f"<tr><th>{escape(words['hour'])}</th>" + "".join(f"<th>{hour}</th>" for hour in hours) + "</tr>",
    ]
    for day in range(DAYS):
        cells = []
        for hour in hours:
            level = shade(grid, day, hour)
            light = ' style="color:#ffffff"' if level >= LIGHT_TEXT_FROM else ""
            text = str(grid.unhappy[day][hour]) if level >= 0 else ""
            cells.append(
                f'<td bgcolor="{_colour(level)}" align="center"{light} '
                f'title="{escape(cell_title(grid, day, hour, locale))}">{text}</td>'
            )
        rows.append(f"<tr><th>{escape(words[f'short_{day}'])}</th>{''.join(cells)}</tr>")
    rows.append("</table>")
    return "\n".join(rows)
