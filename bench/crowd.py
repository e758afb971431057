"""Trust in a crowd, measured under `make run` defaults (issue #11). Starts the local server (API + emulator
+ stream poller, every limit at its shipped default) on free loopback ports and prints three figures:

1. carrier NAT: 150 answers from ONE address (127.0.0.1) over three cafés' table QRs in under a minute,
   each a phone that opens the page (its own page-view nonce) and taps a score: stored / refused;
2. one café wifi: two customers with the same phone (same address, User-Agent, Accept-Language) open the
   same table QR and tap 10 and 0: how many answers are stored, and whether each thank-you page holds its
   own answer;
3. a suppressed address never stalls the stream: a customer unsubscribes (the one-click link of their
   voucher email), then answers unhappily; the next customer's voucher email is timed from their tap to its
   .eml in .local/outbox/ (goal <= 2 s).

Everything is sent the way a phone sends it: GET /s/{token} (the page), then its form POST with the page's
hidden `nonce`. Only 127.0.0.1; bounded in count and time.
Run: `.venv/bin/python bench/crowd.py` (server log: .local/bench_crowd.log).
"""

from __future__ import annotations

import email
import html
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email import policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _make_run import make_run

ROOT = Path(__file__).resolve().parents[1]
OUTBOX = ROOT / ".local" / "outbox"
LOG = ROOT / ".local" / "bench_crowd.log"
PHONE = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
    "Accept-Language": "vi-VN,vi;q=0.9",
}
_HIDDEN = re.compile(r'<input[^>]*name="(?P<name>nonce|response_id|edit_token)"[^>]*value="(?P<value>[^"]*)"')


def call(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback only
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


def api_json(method: str, url: str, body: dict | None, key: str) -> dict:
    status, _, raw = call(
        method,
        url,
        json.dumps(body).encode() if body is not None else None,
        {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    if status >= 300:
        raise SystemExit(f"{method} {url} answered {status}: {raw[:300]!r}")
    return json.loads(raw)


def hidden(page: bytes) -> dict[str, str]:
    return {m["name"]: html.unescape(m["value"]) for m in _HIDDEN.finditer(page.decode("utf-8", "replace"))}


def tap(url: str, score: int, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    """One phone: open the survey page, tap a score. Returns the tap's status and the thank-you's hidden fields."""
    status, _, page = call("GET", url, headers=headers)
    if status != 200:
        return status, {}
    form = {"score": str(score)}
    if "nonce" in (fields := hidden(page)):
        form["nonce"] = fields["nonce"]
    status, _, answer = call(
        "POST",
        url,
        urllib.parse.urlencode(form).encode(),
        {**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    return status, hidden(answer)


def stored_today(api: str, business_id: str, owner_key: str) -> int:
    """How many answers the owner API lists for this business today (its own time zone)."""
    total, cursor = 0, ""
    while True:
        query = "?limit=200" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        page = api_json("GET", f"{api}/v1/businesses/{business_id}/responses{query}", None, owner_key)
        total += len(page["items"])
        cursor = page.get("next_cursor") or ""
        if not cursor:
            return total


SEEN: list[tuple[float, email.message.EmailMessage]] = []  # every letter read, when it was first seen


def outbox_letters(known: set[Path]) -> list[tuple[float, email.message.EmailMessage, Path]]:
    found = []
    for path in sorted(OUTBOX.glob("*.eml")) if OUTBOX.exists() else []:
        if path not in known:
            known.add(path)
            found.append((time.monotonic(), email.message_from_bytes(path.read_bytes(), policy=policy.default), path))
    SEEN.extend((at, letter) for at, letter, _ in found)
    return found


def wait_for_letter(known: set[Path], to: str, kind: str, seconds: float) -> tuple[float, email.message.EmailMessage]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for at, letter, _ in outbox_letters(known):
            if str(letter["To"]) == to and str(letter["X-Survey-Kind"]) == kind:
                return at, letter
        time.sleep(0.01)
    raise SystemExit(f"no {kind} email to {to} within {seconds:.0f} s (server log: {LOG})")


def carrier_nat(cafes: list[dict]) -> None:
    before = {c["business_id"]: stored_today(c["api"], c["business_id"], c["owner_key"]) for c in cafes}
    statuses: list[int] = []
    lock = threading.Lock()
    plan = [(cafes[i % len(cafes)], i) for i in range(150)]

    def worker(part: list[tuple[dict, int]]) -> None:
        for cafe, i in part:
            status, _ = tap(cafe["url"], i % 11, {**PHONE, "User-Agent": PHONE["User-Agent"] + f" #{i % 7}"})
            with lock:
                statuses.append(status)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(plan[n::6],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    after = {c["business_id"]: stored_today(c["api"], c["business_id"], c["owner_key"]) for c in cafes}
    stored = sum(after[b] - before[b] for b in after)
    refused = statuses.count(429)
    other = len(statuses) - statuses.count(200) - refused
    print("1. carrier NAT: 150 page views + taps from one address over three cafés' table QRs")
    print(f"   sent in {took:.1f} s; answered 200: {statuses.count(200)}, refused 429: {refused}, other: {other}")
    print(f"   stored (owner API, before/after): {stored} of 150   goal: 150 stored, 0 refused, in < 60 s")


def same_phone(cafe: dict) -> None:
    before = stored_today(cafe["api"], cafe["business_id"], cafe["owner_key"])
    first_status, first = tap(cafe["url"], 10, PHONE)
    second_status, second = tap(cafe["url"], 0, PHONE)
    stored = stored_today(cafe["api"], cafe["business_id"], cafe["owner_key"]) - before
    own = first.get("response_id") != second.get("response_id") and first.get("edit_token") != second.get("edit_token")
    print("2. one café wifi: two customers, same phone model and address, tap 10 and 0 on one table QR")
    print(f"   taps answered {first_status} and {second_status}; answers stored: {stored} (goal 2)")
    print(f"   each thank-you page holds its own answer (response id and edit token): {'yes' if own else 'NO'}")


def suppressed_then_next(api: str, demo: dict) -> None:
    stamp = int(time.time())
    known: set[Path] = set()
    outbox_letters(known)  # what earlier runs and the seeding left
    url = demo["touchpoints"]["table"]["url"]
    gone, nxt = f"gone{stamp}@example.com", f"next{stamp}@example.com"

    def answer(score: int, address: str, phone: int) -> float:
        """A tap, then the thank-you page's form with a consented address; returns when the form answered."""
        status, saved = tap(url, score, {**PHONE, "User-Agent": PHONE["User-Agent"] + f" crowd{phone}"})
        if status != 200 or "edit_token" not in saved:
            raise SystemExit(f"the tap answered {status} (server log: {LOG})")
        status, _, raw = call(
            "POST",
            f"{api}/v1/responses/{saved['response_id']}/comment",
            json.dumps({"edit_token": saved["edit_token"], "email": address, "consent": True}).encode(),
            {"Content-Type": "application/json"},
        )
        if status != 200:
            raise SystemExit(f"the comment API answered {status}: {raw[:200]!r}")
        return time.monotonic()

    answer(9, gone, 1)
    _, voucher = wait_for_letter(known, gone, "voucher", 20)
    one_click = re.findall(r"<(https?://[^>]+)>", str(voucher["List-Unsubscribe"]))[0]
    status, _, _ = call(
        "POST", one_click, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    if status != 200:
        raise SystemExit(f"one-click unsubscribe answered {status}")
    unsubscribed = time.monotonic()
    answer(2, gone, 2)  # unhappy, from the address that just unsubscribed: no email may go to it
    tapped = answer(9, nxt, 3)
    arrived, _ = wait_for_letter(known, nxt, "voucher", 120)
    time.sleep(1)  # anything still on its way to the unsubscribed address would come before the next one's
    outbox_letters(known)
    to_gone = [at for at, letter in SEEN if at > unsubscribed and str(letter["To"]) == gone]
    print("3. a suppressed address, then the next customer: the next customer's voucher email")
    print(f"   arrived {arrived - tapped:.2f} s after their answer (goal <= 2 s)")
    print(f"   emails to the unsubscribed address after it unsubscribed: {len(to_gone)} (goal 0)")


def main() -> None:
    with make_run(LOG) as api:
        demo = json.loads((ROOT / ".local" / "demo.json").read_text())
        cafes = [
            {
                "api": api,
                "business_id": demo["business_id"],
                "owner_key": demo["owner_key"],
                "url": demo["touchpoints"]["table"]["url"],
            }
        ]
        for n in (2, 3):
            created = api_json(
                "POST",
                f"{api}/v1/businesses",
                {
                    "name": f"Quán {n}",
                    "owner_emails": [f"owner{n}@example.com"],
                    "timezone": "Asia/Ho_Chi_Minh",
                    "locale": "vi",
                },
                demo["admin_key"],
            )
            touchpoint = api_json(
                "POST",
                f"{api}/v1/businesses/{created['business_id']}/touchpoints",
                {"name": "Bàn 1", "channel": "qr", "metric": "nps"},
                created["owner_key"],
            )
            cafes.append(
                {
                    "api": api,
                    "business_id": created["business_id"],
                    "owner_key": created["owner_key"],
                    "url": touchpoint["url"],
                }
            )
        print(f"make run defaults (stage local); server log {LOG.relative_to(ROOT)}")
        carrier_nat(cafes)
        same_phone(cafes[1])
        suppressed_then_next(api, demo)


if __name__ == "__main__":
    main()
