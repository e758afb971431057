"""The console's setup and print pages (issue #14): the business's settings, touchpoints (create, rename,
retire after a confirmation), the widget snippet, the till's POS keys and the owner key, each through the
same service as its owner API route; and one print page with the A6 card of every active table.

Secrets (a POS key, a new owner key) are shown once, in the answer to the POST that made or revealed
them (``no-store``, like every console page), never in a URL. Rotating the owner key ends every session,
this one included: the page then shows the new key and a link to sign in again.
"""

from __future__ import annotations

from typing import Any

from chalice import Response
from pydantic import ValidationError

from chalicelib.domain import reasons, topics
from chalicelib.domain.labels import MAX_LABELS
from chalicelib.domain.models import BusinessPatch, ReasonSets, TouchpointIn, TouchpointOut, TouchpointPatch
from chalicelib.errors import DomainError, InvalidInput, NotFound
from chalicelib.web import i18n
from chalicelib.web.console import Page, cookie_name, jar, signed_in
from chalicelib.web.errors import page_status

_CHANNELS = ("qr", "receipt", "email", "web")
_METRICS = ("nps", "csat", "ces")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]


def snippet(base_url: str, site_key: str, locale: str) -> str:
    """The widget's embed exactly as PRODUCT.md documents it (the site's own touchpoint id, target and
    metric are the owner's to choose: the documented placeholders stay)."""
    return (
        f'<script async src="{base_url}/widget.js" data-site-key="{site_key}" data-metric="nps"\n'
        f'        data-locale="{locale}" data-target="#feedback" data-touchpoint="TOUCHPOINT_ID"></script>'
    )


def _setup(page: Page, status: int = 200, **shown: Any) -> Response:
    assert page.session is not None
    services, caller = page.services, page.session.caller
    # After a change, the business as stored (the session's copy was read before it).
    business = shown.pop("business", None) or services.setup.business(caller)
    touchpoints = services.setup.touchpoints(caller).items
    # One touchpoint's labels and chips are open at a time (the one asked for, or just edited): all of them
    # at once made the page too heavy for a phone (45 KB with six touchpoints).
    editing = shown.pop("editing", None) or _editing(page)
    values = {"notice": None, "refusal": None, "secret": None, "confirm_retire": None, **shown}
    return page.render(
        "console/setup.html.j2", status, current="setup", title=page.t["setup"], business=business,
        touchpoints=touchpoints, action=page.url("/setup"), print_url=page.url("/print"), editing=editing,
        edit_url=lambda touchpoint_id: page.url("/setup", tp=touchpoint_id) + f"#t-{touchpoint_id}",
        snippet=snippet(services.settings.public_base_url, business.site_key, business.locale),
        channels=i18n.CHANNELS[page.locale], metrics=i18n.DIGEST[page.locale], channel_keys=_CHANNELS,
        metric_keys=_METRICS, label_rows=LABEL_ROWS, moods=reasons.MOODS, topic_keys=topics.TOPICS,
        custom_prefix=topics.CUSTOM_PREFIX, default_labels=_default_labels(page.locale),
        reach=i18n.REACH[page.locale], reach_url=page.url("/channels"), **values,
    )


def _editing(page: Page) -> str | None:
    """The touchpoint whose labels and chips are open: the one a form just changed, else ``?tp=``."""
    if page.form.get("action") in ("labels", "reasons", "reasons_reset"):
        return (page.form.get("touchpoint_id") or "")[:40] or None
    asked = (page.request.query_params or {}).get("tp")
    return asked[:40] if asked else None


def _default_labels(locale: str) -> dict[str, dict[str, str]]:
    """mood -> taxonomy key -> its default label in the console's language (the checkboxes' names)."""
    return {m: {k: reasons.default_label(k, m, locale) or k for k in topics.TOPICS} for m in reasons.MOODS}


def _business_patch(page: Page) -> BusinessPatch:
    assert page.session is not None
    form, current = page.form, page.session.business
    voucher: dict[str, Any] | None = None
    description = (form.get("voucher_description") or "").strip()
    if description:
        kept = current.voucher.model_dump() if current.voucher else {}
        voucher = {**kept, "description": description, "valid_days": _int(form.get("voucher_days"), 30)}
    return BusinessPatch.model_validate(
        {
            "name": form.get("name", "").strip(),
            "owner_emails": _lines(form.get("owner_emails", "")),
            "locale": form.get("locale"),
            "timezone": (form.get("timezone") or "").strip(),
            "sender_email": (form.get("sender_email") or "").strip() or None,
            "allowed_origins": _lines(form.get("allowed_origins", "")),
            "voucher": voucher,
            "topic_keywords": _lines(form.get("topic_keywords", "")),
        }
    )


def _reasons_patch(page: Page, touchpoint: TouchpointOut) -> TouchpointPatch:
    """One mood's chips from its form: the taxonomy keys ticked (labels kept as they are shown) then the
    owner's own chips, one per line ``code | vi | en``. The other mood stays as it is; a mood whose chips
    are its defaults is left out, so it keeps following the defaults."""
    form = page.form
    edited = form.get("mood")
    if edited not in reasons.MOODS:
        raise InvalidInput("Choose which reasons to change.")
    shown = touchpoint.reasons.model_dump()
    current = {chip["key"]: chip for chip in shown[edited]}
    chips: list[dict[str, Any]] = [current.get(key, {"key": key}) for key in topics.TOPICS if form.get("k_" + key)]
    for line in _lines(form.get("custom", "")):
        code, *labels = (part.strip() for part in line.split("|"))
        chip: dict[str, Any] = {"key": code if code.startswith(topics.CUSTOM_PREFIX) else topics.CUSTOM_PREFIX + code}
        chip.update(zip(("vi", "en"), labels, strict=False))
        chips.append(chip)
    sets = {**shown, edited: chips}
    kept = {m: sets[m] for m in reasons.MOODS if sets[m] != reasons.defaults(touchpoint.metric, m)}
    return TouchpointPatch.model_validate({"reasons": kept})


def _int(text: str | None, default: int) -> Any:
    value = (text or "").strip()
    return int(value) if value.isdigit() and len(value) < 6 else value or default


def _act(page: Page) -> Response:
    """POST /console/{biz}/setup: one form's action, then the page again with what it did or why not."""
    assert page.session is not None
    services, caller, form, t = page.services, page.session.caller, page.form, page.t
    action = form.get("action")
    touchpoint_id = (form.get("touchpoint_id") or "")[:40]
    try:
        if action == "business":
            updated = services.setup.update_business(caller, _business_patch(page))
            return _setup(page, notice=t["saved"], business=updated)
        if action == "create":
            made = TouchpointIn.model_validate(
                {"name": form.get("name", "").strip(), "channel": form.get("channel"), "metric": form.get("metric"),
                 "labels": labels_from_form(page)}
            )
            created = services.links.create_touchpoint(caller, made)
            return _setup(page, notice=t["saved"], editing=created.touchpoint_id)
        if action in ("reasons", "reasons_reset"):
            found = {tp.touchpoint_id: tp for tp in services.setup.touchpoints(caller).items}
            if touchpoint_id not in found:
                raise NotFound("Unknown touchpoint.", code="touchpoint_not_found")
            reset = TouchpointPatch(reasons=ReasonSets())
            patch = _reasons_patch(page, found[touchpoint_id]) if action == "reasons" else reset
            services.setup.update_touchpoint(caller, touchpoint_id, patch)
            return _setup(page, notice=t["saved"])
        if action == "rename":
            services.setup.update_touchpoint(caller, touchpoint_id, TouchpointPatch(name=form.get("name", "").strip()))
            return _setup(page, notice=t["saved"])
        if action in ("labels", "staff_views"):
            return _labels_action(page, action, touchpoint_id)
        if action == "retire" and form.get("confirm") != "yes":
            # The first press only asks: a printed QR code stops working for every customer.
            names = {tp.touchpoint_id: tp.name for tp in services.setup.touchpoints(caller).items}
            return _setup(page, confirm_retire={"id": touchpoint_id, "name": names.get(touchpoint_id, touchpoint_id)})
        if action == "retire":
            services.setup.retire_touchpoint(caller, touchpoint_id)
            return _setup(page, notice=t["saved"])
        if action in ("pos_reveal", "pos_rotate"):
            revealed = services.pos_keys.reveal(caller) if action == "pos_reveal" else services.pos_keys.rotate(caller)
            return _setup(page, secret={"title": t["pos_keys"], "value": revealed.secret, "key_id": revealed.key_id})
        if action == "owner_key" and form.get("confirm") == "yes":
            return _rotated(page)
        return _setup(page, 422, refusal=t["error"])
    except ValidationError as exc:
        return _setup(page, 422, refusal=_first_problem(exc))
    except DomainError as exc:
        return _setup(page, exc_status(exc), refusal=str(exc))


# ---- issue #15: labels of where and when, staff views ----------------------------------------------------------

LABEL_ROWS = MAX_LABELS  # one row per label a touchpoint may carry


def labels_from_form(page: Page) -> dict[str, str]:
    """The labels of the rows ``label_name_N`` / ``label_value_N``; a row left blank is no label. What is
    left is validated by the model (a name without a value is refused there, with its reason)."""
    found: dict[str, str] = {}
    for row in range(LABEL_ROWS):
        name = (page.form.get(f"label_name_{row}") or "").strip()
        value = page.form.get(f"label_value_{row}") or ""
        if not name and not value.strip():
            continue
        if name in found:
            raise InvalidInput(page.t["label_twice"].format(name=name), code="label_twice")
        found[name] = value
    return found


def _labels_action(page: Page, action: str, touchpoint_id: str) -> Response:
    """A touchpoint's labels replaced by the form's rows (all blank: cleared), or staff views turned on or
    off; both through the owner API's services (PATCH of the touchpoint, PATCH of the business)."""
    assert page.session is not None
    services, caller = page.services, page.session.caller
    if action == "labels":
        services.setup.update_touchpoint(caller, touchpoint_id, TouchpointPatch(labels=labels_from_form(page)))
        return _setup(page, notice=page.t["saved"])
    updated = services.setup.update_business(caller, BusinessPatch(staff_views=page.form.get("staff_views") == "on"))
    return _setup(page, notice=page.t["saved"], business=updated)


def _rotated(page: Page) -> Response:
    """The new owner key, once; every session (this one too) has ended, so the cookie goes as well."""
    assert page.session is not None
    rotated = page.services.access.rotate_owner_key(page.session.caller)
    page.session = None  # no nav: the session this page was opened with no longer works
    cleared = jar(page.services, page.business_id).header(cookie_name(page.business_id), "", 0)
    return page.render(
        "console/rotated.html.j2", title=page.t["new_key"], key=rotated.owner_key, signin=page.url("/signin"),
        cookies=(cleared,),
    )


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(p) for p in error["loc"])
    return f"{field}: {error['msg']}" if field else str(error["msg"])


def exc_status(exc: DomainError) -> int:
    return page_status(exc)[0]


def _print(page: Page) -> Response:
    """Every active table (QR channel) touchpoint's A6 card, one per printed page. The cards are images
    on this host behind the same session (``_card``), so the page stays small however many tables."""
    assert page.session is not None
    cards = [
        {"name": tp.name, "src": page.url(f"/print/{tp.touchpoint_id}", lang=page.locale)}
        for tp in page.services.setup.touchpoints(page.session.caller).items
        if tp.channel == "qr" and not tp.retired_at
    ]
    return page.render("console/print.html.j2", current="setup", title=page.t["print"], cards=cards)


def _card(page: Page) -> Response:
    """GET /console/{biz}/print/{touchpoint_id}: one A6 card (SVG) in the page's language."""
    from chalicelib.web.qr import card_svg, svg_response

    assert page.session is not None
    touchpoint_id = str((page.request.uri_params or {}).get("touchpoint_id", ""))[:40]
    link = page.services.links.touchpoint_link(page.session.caller, touchpoint_id)
    drawn: Response = svg_response(card_svg(link, page.locale), f"card-{touchpoint_id}.svg")
    return drawn


setup = signed_in(_setup)
setup_action = signed_in(_act, post=True)
print_cards = signed_in(_print)
print_card = signed_in(_card)
