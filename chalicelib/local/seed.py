"""A demo Vietnamese café for `make run`: created through the same services the API uses."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.domain.models import BusinessIn, LinkChannel, LinksIn, Metric, TouchpointIn, VoucherPolicy
from chalicelib.local.history import CAFE_TIMEZONE, SHOP_ORIGIN

if TYPE_CHECKING:
    from chalicelib.wiring import Services


@dataclass
class Demo:
    base_url: str
    admin_key: str
    business_id: str
    owner_key: str
    site_key: str
    touchpoints: dict[str, dict[str, str]] = field(default_factory=dict)
    receipt_url: str = ""
    history: str = ""  # what the seeded past holds, one line (empty without one)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def env_file(self) -> str:
        values = {
            "API": self.base_url,
            "ADMIN_KEY": self.admin_key,
            "BIZ": self.business_id,
            "OWNER_KEY": self.owner_key,
            "SITE_KEY": self.site_key,
            "TABLE_TOKEN": self.touchpoints["table"]["token"],
            "RECEIPT_TP": self.touchpoints["receipt"]["touchpoint_id"],
            "WEB_TP": self.touchpoints["website"]["touchpoint_id"],
        }
        return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())

    def banner(self) -> str:
        api, biz = self.base_url, self.business_id
        auth = f"-H 'Authorization: Bearer {self.owner_key}'"
        table = self.touchpoints["table"]
        lines = [
            "",
            f"Demo business: Cà Phê Sài Gòn ({CAFE_TIMEZONE}, vi)",
            f"  admin key : {self.admin_key}",
            f"  business  : {biz}",
            f"  owner key : {self.owner_key}   (shown once; stored hashed)",
            f"  site key  : {self.site_key}",
            "Touchpoints:",
        ]
        for name, tp in self.touchpoints.items():
            lines.append(f"  {name:<8} {tp['touchpoint_id']}  {tp['metric']:<4} {tp['url']}")
        lines += [
            f"A receipt link (one response): {self.receipt_url}",
            "",
            "Try (these work as printed; the same values are in .local/demo.env):",
            f"  curl -s {api}/healthz",
            # A table QR or widget answer carries the nonce of its page view (docs/customer.md).
            f"  NONCE=$(curl -s {api}/s/{table['token']} | grep -o 'name=\"nonce\" value=\"[^\"]*' | cut -d'\"' -f4)",
            f"  curl -s -X POST {api}/v1/responses -H 'Content-Type: application/json' "
            f'-d \'{{"token": "{table["token"]}", "score": 9, "nonce": "\'"$NONCE"\'"}}\'',
            f"  NONCE=$(curl -s -H 'Origin: http://localhost:8080' {api}/v1/sites/{self.site_key} "
            "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"nonce\"])')",
            f"  curl -s -X POST {api}/v1/responses -H 'Origin: http://localhost:8080' "
            f'-H \'Content-Type: text/plain\' -d \'{{"site_key": "{self.site_key}", "metric": "csat", '
            f'"score": 5, "nonce": "\'"$NONCE"\'"}}\'',
            f"  curl -s {api}/v1/businesses/{biz}/responses {auth}",
            f"  curl -s '{api}/v1/businesses/{biz}/metrics?group_by=touchpoint' {auth}",
            f"  curl -s -X POST {api}/v1/businesses/{biz}/links {auth} -H 'Content-Type: application/json' "
            f'-d \'{{"touchpoint_id": "{self.touchpoints["receipt"]["touchpoint_id"]}", '
            f'"receipt_id": "HD-2026-000123"}}\'',
            f"  open {table['url']} in a browser for the survey page",
            "",
            f"Owner console: {api}/console/{biz}",
            f"  sign in with the owner key above, or ask for a link for {OWNER_EMAIL}:",
            "  the email lands in .local/outbox/ (docs/console.md)",
            "",
        ]
        return "\n".join(lines)


OWNER_EMAIL = "chu.quan@caphesaigon.example"  # the café owner's: the console's sign-in link goes to it


def demo_cafe(allowed_origins: list[str]) -> BusinessIn:
    """The demo café of `make run` (its widget allowed on ``allowed_origins``); the browser tests use it too."""
    return BusinessIn(
        name="Cà Phê Sài Gòn",
        owner_emails=[OWNER_EMAIL],
        timezone=CAFE_TIMEZONE,
        locale="vi",
        sender_email="xin-chao@caphesaigon.example",
        allowed_origins=allowed_origins,
        voucher=VoucherPolicy(description="Giảm 10% cho lần ghé sau", valid_days=30, per_email_days=30, recovery=True),
        # Its own topic words: people come to work here, so the wifi and the sockets matter.
        topic_keywords=["wifi", "ổ cắm"],
    )


def seed_demo(env: dict[str, str], days: int = 0) -> Demo:
    """The demo café with ``days`` days of history before now (0: a café opened just now). The history is
    written through the services with a clock in the past (``chalicelib/local/history.py``); then the
    services `make run` serves with (installed by server.py) mint the printed receipt link, so its expiry
    counts from today."""
    from chalicelib import wiring

    if days:
        from chalicelib.local.history import write_history

        demo, written = write_history(env, days, _create)
        demo.history = written.summary()
    else:
        demo = _create(wiring.services(), env)
    live = wiring.services()  # the local services server.py installed
    caller = live.access.authenticate(f"Bearer {demo.owner_key}", demo.business_id)
    links = live.links.mint(
        caller, LinksIn(touchpoint_id=demo.touchpoints["receipt"]["touchpoint_id"], receipt_id="HD-2026-000001")
    )
    demo.receipt_url = links.links[0].url
    return demo


def _create(services: Services, env: dict[str, str]) -> Demo:
    """The café, its keys and its four touchpoints, through the owner API's services."""
    created = services.access.create_business(demo_cafe([SHOP_ORIGIN, "http://127.0.0.1:8080"]))
    caller = services.access.authenticate(f"Bearer {created.owner_key}", created.business_id)
    demo = Demo(
        base_url=env["PUBLIC_BASE_URL"],
        admin_key=env["ADMIN_KEY"],
        business_id=created.business_id,
        owner_key=created.owner_key,
        site_key=created.site_key,
    )
    # Issue #15: the labels the owner gave them (the receipts' shift and staff labels are signed into each
    # receipt's link by the till: chalicelib/local/history.py).
    touchpoints: list[tuple[str, str, LinkChannel, Metric, dict[str, str]]] = [
        ("receipt", "Hóa đơn tại quầy", "receipt", "csat", {"area": "Quầy"}),
        ("table", "Mã QR trên bàn", "qr", "nps", {"area": "Trong nhà"}),
        ("garden", "Mã QR bàn sân vườn", "qr", "nps", {"area": "Sân vườn"}),
        ("email", "Email sau đơn giao hàng", "email", "ces", {}),
        ("website", "Website đặt bàn", "web", "csat", {}),
    ]
    for key, name, channel, metric, labels in touchpoints:
        tp = services.links.create_touchpoint(
            caller, TouchpointIn(name=name, channel=channel, metric=metric, labels=labels)
        )
        demo.touchpoints[key] = {
            "touchpoint_id": tp.touchpoint_id,
            "url": tp.url,
            "token": tp.token,
            "metric": metric,
            "channel": channel,
        }
    return demo
