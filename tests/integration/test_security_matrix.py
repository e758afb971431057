"""Every owner route x {no key, a forged key of this business, another business's key}: 401, 401, 404.

The routes come from the app's own routing table, so a route added later is in the matrix at once."""

from __future__ import annotations

import json
import re

from chalice.test import Client

from tests.integration.conftest import Biz, make_business, table_items

FILLERS = {"date": "2026-11-20", "code": "ABCD-EFGH-JKLM-NPQR", "key_id": "1"}


def _owner_routes() -> list[tuple[str, str]]:
    from app import app

    return sorted(
        (path, method)
        for path, methods in app.routes.items()
        for method in methods
        if path.startswith("/v1/businesses/{business_id}")
    )


def _concrete(path: str, business_id: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return business_id if name == "business_id" else FILLERS.get(name, "zzzzzzzz")

    return re.sub(r"\{(\w+)\}", fill, path)


def test_every_owner_route_refuses_no_key_a_forged_key_and_another_businesss_key(
    client: Client, biz: Biz, aws
) -> None:
    other = make_business(client, name="Quán Khác")
    forged = f"ok_{biz.business_id}_" + "0" * 32
    routes = _owner_routes()
    assert len(routes) >= 8, routes
    before = table_items(aws)
    failures = []
    for path, method in routes:
        url = _concrete(path, biz.business_id)
        for label, headers, expected in [
            ("no key", {}, 401),
            ("forged key", {"Authorization": f"Bearer {forged}"}, 401),
            ("malformed header", {"Authorization": "Token abc"}, 401),
            ("another business's key", other.auth, 404),
        ]:
            body = json.dumps({}) if method in ("POST", "PUT", "PATCH") else b""
            answer = client.http.request(
                method, url, headers={**headers, "Content-Type": "application/json"}, body=body
            )
            if answer.status_code != expected:
                failures.append(f"{method} {path} with {label}: {answer.status_code}, expected {expected}")
            elif answer.headers.get("Content-Type", "").startswith("application/json"):
                error = json.loads(answer.body)["error"]
                if biz.business_id in error["message"] or "Traceback" in error["message"]:
                    failures.append(f"{method} {path} with {label}: leaks in {error['message']!r}")
    assert failures == [], "\n".join(failures)
    assert table_items(aws) == before
