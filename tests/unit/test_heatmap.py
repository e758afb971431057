"""The weekday x hour heatmap: answers land in the business's local day and hour, grids add up, and the
SVG and the email table show the same counts in Vietnamese and English, escaped."""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET

import pytest
from pydantic import ValidationError

from chalicelib.domain.heatmap import DAYS, HOURS, Heatmap, Heatmaps
from chalicelib.web import heatmap as render

SAIGON = "Asia/Ho_Chi_Minh"  # UTC+7 all year
BERLIN = "Europe/Berlin"  # UTC+1 in winter, UTC+2 in summer
SVG = "{http://www.w3.org/2000/svg}"


def at(utc: str) -> str:
    return utc + ".000000Z"


def test_an_evening_answer_in_saigon_counts_on_the_next_local_day_after_utc_midnight():
    # 2026-11-27 (Friday) 23:30 UTC is Saturday 06:30 in Saigon.
    grids = Heatmaps.of([(at("2026-11-27T23:30:00"), "counter", True)], SAIGON)
    assert grids.overall.unhappy[5][6] == 1 and grids.overall.answers[5][6] == 1
    assert grids.overall.n == 1 and grids.overall.n_unhappy == 1


def test_berlin_hours_follow_summer_and_winter_time():
    # 17:30 UTC is 19:30 in July (CEST) and 18:30 in November (CET): both on a Saturday.
    grids = Heatmaps.of([(at("2026-07-04T17:30:00"), "t", True), (at("2026-11-28T17:30:00"), "t", False)], BERLIN)
    assert grids.overall.answers[5][19] == 1 and grids.overall.unhappy[5][19] == 1
    assert grids.overall.answers[5][18] == 1 and grids.overall.unhappy[5][18] == 0


def test_overall_is_the_sum_of_touchpoints_and_each_touchpoint_keeps_its_own():
    rows = [
        (at("2026-11-28T11:00:00"), "counter", True),
        (at("2026-11-28T11:10:00"), "counter", False),
        (at("2026-11-28T11:20:00"), "table-4", True),
    ]
    grids = Heatmaps.of(rows, SAIGON)  # Saturday 18 h local
    assert grids.by_touchpoint["counter"].unhappy[5][18] == 1
    assert grids.by_touchpoint["counter"].answers[5][18] == 2
    assert grids.by_touchpoint["table-4"].answers[5][18] == 1
    assert grids.overall.unhappy[5][18] == 2 and grids.overall.answers[5][18] == 3


def test_days_merge_into_a_week_with_plus_and_merge():
    saturday = Heatmaps.of([(at("2026-11-28T11:00:00"), "counter", True)], SAIGON)
    sunday = Heatmaps.of([(at("2026-11-29T11:00:00"), "patio", False)], SAIGON)
    week = saturday + sunday
    assert week == saturday.merge(sunday)
    assert week.overall.n == 2 and week.overall.n_unhappy == 1
    assert set(week.by_touchpoint) == {"counter", "patio"}
    twice = week + week
    assert twice.by_touchpoint["counter"].unhappy[5][18] == 2


def test_a_stored_heatmap_reads_back_equal_and_rejects_a_malformed_grid():
    grids = Heatmaps.of([(at("2026-11-28T11:00:00"), "counter", True)], SAIGON)
    stored = grids.model_dump_json()
    assert Heatmaps.model_validate_json(stored) == grids
    assert len(grids.overall.model_dump()["unhappy"]) == DAYS
    assert all(len(row) == HOURS for row in grids.overall.model_dump()["answers"])
    with pytest.raises(ValidationError):
        Heatmap(unhappy=((0,) * 23,) * 7)


def _week() -> Heatmap:
    """Every hour of a week answered, unhappiness varying (a busy shop open round the clock)."""
    rows = [
        (at(f"2026-11-{16 + d:02d}T{h:02d}:10:00"), "t", (d + h) % 3 == 0)
        for d in range(7)
        for h in range(24)
        for _ in range(1 + (h % 4))
    ]
    return Heatmaps.of(rows, "UTC").overall


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own markup, parsed to prove it is well formed


def _cells(svg: str) -> list[str]:
    """The fill of every weekday-hour cell shown, row by row, as a viewer sees it: the grey pattern behind
    the grid, the pale-green path's squares over it, the squares of unhappy cells over both."""
    root = parse(svg)
    pattern = root.find(f"{SVG}defs/{SVG}pattern")
    assert pattern is not None
    left, top, cell = int(pattern.get("x", "0")), int(pattern.get("y", "0")), int(pattern.get("width", "0"))
    columns = (int(root.get("width", "0")) - left) // cell
    fills = [render.EMPTY] * (DAYS * columns)

    def put(x: int, y: int, fill: str) -> None:
        fills[(y - top) // cell * columns + (x - left) // cell] = fill

    for path in root.findall(f"{SVG}path"):
        for x, y in re.findall(r"M(\d+) (\d+)", path.get("d", "")):
            put(int(x), int(y), path.get("fill", ""))
    for use in root.findall(f"{SVG}use"):
        put(int(use.get("x", "0")), int(use.get("y", "0")), use.get("fill", ""))
    return fills


def _titles(svg: str) -> dict[tuple[int, int], str]:
    root = parse(svg)
    pattern = root.find(f"{SVG}defs/{SVG}pattern")
    assert pattern is not None
    left, top, cell = int(pattern.get("x", "0")), int(pattern.get("y", "0")), int(pattern.get("width", "0"))
    return {
        ((int(u.get("y", "0")) - top) // cell, (int(u.get("x", "0")) - left) // cell): u.findtext(f"{SVG}title") or ""
        for u in root.findall(f"{SVG}use")
    }


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_svg_parses_and_titles_every_cell_with_unhappy_answers(locale):
    grid = _week()
    svg = render.svg(grid, locale)
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-label")
    assert int(root.get("width", "0")) <= 360
    assert len(_cells(svg)) == DAYS * HOURS
    titles = _titles(svg)
    assert set(titles) == {(d, h) for d in range(DAYS) for h in range(HOURS) if grid.unhappy[d][h]}
    assert titles[(5, 19)] == render.short_title(grid, 5, 19, locale)
    assert titles[(5, 19)] == ("T7" if locale == "vi" else "Sat") + f" 19h: {grid.unhappy[5][19]}/{grid.answers[5][19]}"


def test_a_grid_without_answers_shows_the_default_6_to_23_window():
    cells = _cells(render.svg(Heatmap(), "vi"))
    assert len(cells) == DAYS * 18
    assert "chưa có câu trả lời" in parse(render.svg(Heatmap(), "vi")).get("aria-label", "")


def test_only_the_hours_with_answers_are_shown():
    grids = Heatmaps.of(
        [(at("2026-11-28T01:00:00"), "t", True), (at("2026-11-28T03:00:00"), "t", False)], SAIGON
    )  # 8 h and 10 h local
    assert render.shown_hours(grids.overall) == [8, 9, 10]
    assert len(_cells(render.svg(grids.overall, "en"))) == DAYS * 3


def test_cell_titles_read_as_the_owner_expects_in_both_languages():
    grid = Heatmaps.of(
        [(at("2026-11-28T11:05:00"), "t", i < 9) for i in range(31)], SAIGON
    ).overall  # Saturday 18 h local
    assert render.cell_title(grid, 5, 18, "vi") == "Thứ Bảy 18–19 h: 9 trên 31 không hài lòng"
    assert render.cell_title(grid, 5, 18, "en") == "Saturday 18–19 h: 9 of 31 unhappy"
    assert "Thứ Bảy 18–19 h" in render.summary(grid, "vi")
    assert "Saturday 18–19 h" in render.summary(grid, "en")


def test_the_email_table_shows_the_same_counts_as_the_svg():
    grid = _week()
    table = render.table(grid, "en")
    root = parse(table)  # the markup is well formed, so a strict parser reads it
    rows = root.findall("tr")
    assert len(rows) == 1 + DAYS
    assert "class=" not in table and "<img" not in table
    for day, row in enumerate(rows[1:]):
        cells = row.findall("td")
        assert [int(td.text or 0) for td in cells] == list(grid.unhappy[day])
        assert all(td.get("bgcolor", "").startswith("#") for td in cells)
    # The SVG shades the same cells the same colour.
    svg_fills = _cells(render.svg(grid, "en"))
    table_fills = [td.get("bgcolor") for row in rows[1:] for td in row.findall("td")]
    assert svg_fills == table_fills


def test_the_worst_cell_is_the_darkest_and_cells_without_answers_are_grey():
    grids = Heatmaps.of(
        [(at("2026-11-28T11:00:00"), "t", True)] * 5 + [(at("2026-11-28T12:00:00"), "t", False)], SAIGON
    )
    grid = grids.overall
    assert render.shade(grid, 5, 18) == len(render.SHADES) - 1
    assert render.shade(grid, 5, 19) == 0
    assert render.shade(grid, 0, 18) == -1


def test_an_owners_touchpoint_name_is_escaped_in_both_forms():
    name = '<script>alert(1)</script> "Phở & cà phê"'
    grid = _week()
    svg = render.svg(grid, "vi", title=name)
    table = render.table(grid, "vi", title=name)
    for markup in (svg, table):
        assert "<script>" not in markup
        assert "&lt;script&gt;" in markup and "&amp; cà phê" in markup
    assert parse(svg).get("aria-label", "").startswith(name)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_full_week_svg_stays_small_for_an_inline_console_page(locale):
    svg = render.svg(_week(), locale).encode()
    # Issue #15: the Why page inlines one week per touchpoint. Round the clock, every hour answered and a
    # third of them unhappy: at most 8 KB raw (compressed on the wire, far less).
    assert len(svg) <= 8 * 1024
    assert len(gzip.compress(svg)) <= 3 * 1024
    assert len(re.findall(rb"<title>", svg)) == sum(1 for row in _week().unhappy for n in row if n)


def test_two_heatmaps_on_one_page_never_share_an_id():
    first, second = render.svg(_week(), "en", key="h0"), render.svg(Heatmap(), "en", key="h1")
    ids = re.findall(r'id="([^"]+)"', first + second)
    assert len(ids) == len(set(ids)) == 4
    assert 'href="#h0c"' in first and "url(#h1e)" in second


def test_answers_either_side_of_berlins_spring_forward_keep_their_wall_clock_hour():
    # 2026-03-29: clocks jump from 02:00 to 03:00 local. 00:30 UTC is 01:30 CET, 01:30 UTC is 03:30 CEST.
    grids = Heatmaps.of([(at("2026-03-29T00:30:00"), "t", True), (at("2026-03-29T01:30:00"), "t", True)], BERLIN)
    sunday = grids.overall.unhappy[6]
    assert (sunday[1], sunday[2], sunday[3]) == (1, 0, 1)
