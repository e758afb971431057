"""Issue #15: the report's "what moves the score" blocks as the digest and the console show them, and the
digest's lead sentence. Pure functions of a stored report's ``Why`` (no I/O); words from ``i18n``.

The lead sentence says only what the week's figures say (rules in docs/insights.md#the-lead-sentence):

1. The metric is the one with the most unhappy answers this week (ties: NPS, CSAT, CES).
2. No answers, no unhappy answer, or fewer unhappy answers than the report's minimum: a plain sentence
   with the count ("3 unhappy answers this week; too few to say why"), no key named.
3. The key: the first of the ranked effects with status ``ok``, a positive effect (it pulls the score
   down) and at least one unhappy answer naming it; else, when no effect can be shown, the key named by
   the most unhappy answers if at least ``MIN_NAMED`` did. Neither: "none named a reason or topic" when no
   unhappy answer named any, else "too few to say why".
4. The sentence gives the count ("named in 9 of 14 unhappy answers"), and the effect only when it is a
   figure (status ok).
5. When: the week's busiest span of unhappy answers (the busiest weekday-hour cell, widened by a
   neighbouring hour holding at least half as many, up to 3 hours) is added only when it holds at least
   ``MIN_SPAN_SHARE`` of the week's unhappy answers of every metric and at least ``MIN_NAMED`` of them;
   it is said of unhappy answers, not of the key (the grid does not know which key an answer named). Where:
   its touchpoint, only when one touchpoint holds at least ``MIN_PLACE_SHARE`` of that span's unhappy answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import reasons
from chalicelib.domain.effects import KeyEffect, MetricEffects
from chalicelib.domain.heatmap import DAYS, HOURS, Heatmap, Heatmaps
from chalicelib.domain.metrics import METRICS
from chalicelib.domain.why import Why, key_name
from chalicelib.web import heatmap as heat
from chalicelib.web import i18n
from chalicelib.web.templating import headline, number, signed

MIN_NAMED = 2
MIN_SPAN_SHARE = 0.3
MIN_PLACE_SHARE = 2 / 3
TOP_KEYS = 5
TOP_CHANGES = 5
METRIC_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


def key_label(key: str, locale: str, *, unhappy: bool = False) -> str:
    """``reason:wait`` -> "Waiting time" (with ``unhappy``, as the unhappy customer's chip says it: "Long
    wait"); ``topic:custom:wifi`` -> "wifi"; unknown keys as written."""
    _, name = key_name(key)
    said = reasons.default_label(name, "unhappy", locale) if unhappy else None
    if said is not None:
        return said
    names = i18n.TOPIC_NAMES[i18n.supported(locale)]
    if name in names:
        return names[name]
    return name.removeprefix("custom:")


def _lead_metric(why: Why) -> MetricEffects | None:
    found = [why.effects.metrics[m] for m in METRICS if m in why.effects.metrics]
    return max(found, key=lambda e: e.unhappy_n) if found else None  # max keeps the first of equals


def _lead_key(effects: MetricEffects) -> KeyEffect | None:
    for item in effects.keys:
        if item.status == "ok" and item.effect is not None and item.effect > 0 and item.unhappy_named > 0:
            return item
    named = sorted(effects.keys, key=lambda k: (-k.unhappy_named, k.key))
    if named and named[0].unhappy_named >= MIN_NAMED:
        return named[0]
    return None


@dataclass(frozen=True)
class Span:
    day: int
    start: int
    end: int  # exclusive hour
    unhappy: int
    touchpoint: str | None  # the touchpoint holding most of the span's unhappy answers, when it holds enough


def busiest_span(grids: Heatmaps) -> Span | None:
    """The busiest weekday-hour cell of unhappy answers widened to at most 3 hours (rule 5), or None."""
    grid = grids.overall
    if not grid.n_unhappy:
        return None
    day, hour = max(
        ((d, h) for d in range(DAYS) for h in range(HOURS)), key=lambda dh: (grid.unhappy[dh[0]][dh[1]], -dh[0], -dh[1])
    )
    row = grid.unhappy[day]
    start, end = hour, hour + 1
    for _ in range(2):
        left = row[start - 1] if start > 0 else -1
        right = row[end] if end < HOURS else -1
        best = max(left, right)
        if best * 2 < row[hour] or best <= 0:
            break
        if left >= right:
            start -= 1
        else:
            end += 1
    unhappy = sum(row[start:end])
    place = None
    per_tp = {tp: sum(g.unhappy[day][start:end]) for tp, g in grids.by_touchpoint.items()}
    if per_tp:
        tp, most = max(sorted(per_tp.items()), key=lambda kv: kv[1])
        if most >= MIN_PLACE_SHARE * unhappy and most > 0:
            place = tp
    return Span(day=day, start=start, end=end, unhappy=unhappy, touchpoint=place)


def lead_sentence(why: Why | None, locale: str, touchpoint_names: Mapping[str, str], min_n: int) -> str:
    """The digest's first sentence (rules in the module docstring)."""
    loc = i18n.supported(locale)
    w = i18n.WHY[loc]
    effects = _lead_metric(why) if why is not None else None
    if why is None or effects is None or effects.n == 0:
        return w["lead_none"]
    u = effects.unhappy_n
    if u == 0:
        return w["lead_no_unhappy"].format(n=effects.n)
    if u < max(min_n, 1):
        return w["lead_thin"].format(u=u)
    item = _lead_key(effects)
    if item is None:
        named = any(k.unhappy_named for k in effects.keys)
        return w["lead_thin" if named else "lead_unnamed"].format(u=u)
    kind, _ = key_name(item.key)
    text = w["lead_topic" if kind == "topic" else "lead_reason"].format(
        key=key_label(item.key, loc, unhappy=True), a=item.unhappy_named, u=u
    )
    if item.status == "ok" and item.effect is not None and item.effect > 0:
        effect = number(item.effect, loc)
        text += w["lead_effect_pct" if effects.metric == "csat" else "lead_effect"].format(
            metric=METRIC_NAMES[effects.metric], effect=effect
        )
    span = busiest_span(why.heatmaps)
    all_unhappy = why.heatmaps.overall.n_unhappy
    if span is not None and span.unhappy >= MIN_NAMED and span.unhappy >= MIN_SPAN_SHARE * all_unhappy:
        words = i18n.HEATMAP[loc]
        where = ""
        if span.touchpoint is not None and span.touchpoint != "other":
            where = w["lead_where"].format(touchpoint=touchpoint_names.get(span.touchpoint, span.touchpoint))
        text += w["lead_when"].format(
            day=words[f"day_{span.day}"], start=span.start, end=span.end, where=where, k=span.unhappy, u=all_unhappy
        )
    return text + "."


# ---- the blocks ---------------------------------------------------------------------------------------


def _pct(value: float | None, locale: str) -> str:
    return "—" if value is None else number(value, locale) + "%"


def _per_metric[T](blocks: Mapping[str, T]) -> Iterator[tuple[str, T]]:
    """(metric, block) in the reports' fixed metric order, for the metrics that have one."""
    return ((m, blocks[m]) for m in METRICS if m in blocks)


def key_rows(why: Why, locale: str) -> list[dict[str, Any]]:
    """Top keys per metric: label, kind, unhappy / happy shares, effect with n and margin, or too few."""
    loc = i18n.supported(locale)
    w = i18n.WHY[loc]
    rows = []
    for metric, effects in _per_metric(why.effects.metrics):
        for item in effects.keys[:TOP_KEYS]:
            kind, _ = key_name(item.key)
            ok = item.status == "ok" and item.effect is not None
            rows.append(
                {
                    "metric": METRIC_NAMES[metric],
                    "label": key_label(item.key, loc),
                    "kind": w["topic" if kind == "topic" else "reason"],
                    "unhappy": f"{_pct(item.share_unhappy_pct, loc)} ({item.unhappy_named}/{effects.unhappy_n})",
                    "happy": f"{_pct(item.share_happy_pct, loc)} ({item.happy_named}/{effects.happy_n})",
                    "effect": signed(metric, item.effect, loc) if ok else w["too_few"],
                    "without": _without(metric, item, loc) if ok else "",
                    "n": item.n,
                    "ok": ok,
                }
            )
    return rows


def _without(metric: str, item: KeyEffect, locale: str) -> str:
    # The margin belongs to the figure without the key, so it is shown with that figure.
    margin = item.without_margin_of_error
    value = headline(metric, item.without_headline, locale) + (
        f" ±{number(margin, locale)}" if margin is not None else ""
    )
    return i18n.WHY[i18n.supported(locale)]["without"].format(metric=METRIC_NAMES[metric], value=value)


def change_rows(why: Why, locale: str) -> list[dict[str, Any]]:
    """Week-over-week share changes that are figures (both weeks with enough answers), largest first."""
    loc = i18n.supported(locale)
    w = i18n.WHY[loc]
    rows = []
    for metric, changes in _per_metric(why.share_changes.metrics):
        for item in [c for c in changes.keys if c.status == "ok" and c.change_pp][:TOP_CHANGES]:
            kind, _ = key_name(item.key)
            rows.append(
                {
                    "metric": METRIC_NAMES[metric],
                    "label": key_label(item.key, loc),
                    # A reason and a topic of one key are two rows: the kind tells them apart.
                    "kind": w["topic" if kind == "topic" else "reason"],
                    "change": signed("csat", item.change_pp, loc) + " pp",
                    "detail": w["change_row"].format(
                        now=number(item.now.share_pct, loc), previous=number(item.previous.share_pct, loc)
                    ),
                    "n": f"{item.now.named}/{item.now.n} · {item.previous.named}/{item.previous.n}",
                }
            )
    return rows


def label_rows(why: Why, locale: str) -> list[dict[str, Any]]:
    """Per label name, per value, per metric: headline with its NPS margin and n, or n and too few."""
    w = i18n.WHY[i18n.supported(locale)]
    groups = []
    for group in why.labels:
        values = []
        for value in group.values:
            for metric, s in value.metrics.items():
                figure = headline(metric, s.headline, locale) if s.status == "ok" else w["too_few"]
                margin = f" ±{number(s.margin_of_error, locale)}" if s.status == "ok" and metric == "nps" else ""
                values.append(
                    {"value": value.value, "metric": METRIC_NAMES[metric], "figure": figure + margin, "n": s.n}
                )
        groups.append({"name": group.name, "values": values})
    return groups


def worst_touchpoint(why: Why) -> str | None:
    grids = why.heatmaps.by_touchpoint
    if not grids:
        return None
    tp = max(sorted(grids), key=lambda k: grids[k].n_unhappy)
    return tp if grids[tp].n_unhappy else None


def heatmap_grids(why: Why) -> list[tuple[str, Heatmap]]:
    """Touchpoints with answers this week, most unhappy answers first."""
    grids = why.heatmaps.by_touchpoint
    return sorted(((tp, g) for tp, g in grids.items() if g.n), key=lambda kv: (-kv[1].n_unhappy, -kv[1].n, kv[0]))


def digest_context(
    why: Why | None, locale: str, touchpoint_names: Mapping[str, str], min_n: int
) -> dict[str, Any] | None:
    """The digest's lead and blocks; None for a report stored before issue #15."""
    if why is None:
        return None
    loc = i18n.supported(locale)
    w = i18n.WHY[loc]
    worst = worst_touchpoint(why)
    name = touchpoint_names.get(worst, worst) if worst else None
    return {
        "w": w,
        "lead": lead_sentence(why, loc, touchpoint_names, min_n),
        "week": w["week"].format(first=why.first, last=why.last),
        "key_rows": key_rows(why, loc),
        "change_rows": change_rows(why, loc),
        "label_rows": label_rows(why, loc),
        "heatmap_title": w["heatmap"].format(touchpoint=name) if name else "",
        "heatmap_table": heat.table(why.heatmaps.by_touchpoint[worst], loc, name) if worst else "",
        "heatmap_summary": heat.summary(why.heatmaps.by_touchpoint[worst], loc, name) if worst else "",
        "partial": w["partial"].format(n=why.missing_days) if why.missing_days else "",
    }
