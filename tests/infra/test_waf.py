"""AWS WAF in front of the API stage: a flood from one address is stopped before it costs anything,
while a carrier's address (thousands of phones behind it) keeps working with the shipped limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import render
from tests.infra.conftest import ROOT

FIVE_MINUTES = 300


def _waf_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"].startswith("AWS::WAFv2::")}


def _acl(template: dict[str, Any]) -> dict[str, Any]:
    (acl,) = [v for v in _waf_resources(template).values() if v["Type"] == "AWS::WAFv2::WebACL"]
    return acl["Properties"]


def _rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in _acl(template)["Rules"]}


def _rate_rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in _acl(template)["Rules"] if "RateBasedStatement" in r["Statement"]]


def _default(template: dict[str, Any], ref: dict[str, str]) -> Any:
    return template["Parameters"][ref["Ref"]]["Default"]


def _condition(template: dict[str, Any], name: str, parameters: dict[str, str]) -> bool:
    """Evaluates the one shape our WAF condition has (Fn::Equals of a parameter and a literal)."""
    left, right = template["Conditions"][name]["Fn::Equals"]
    value = parameters.get(left["Ref"], template["Parameters"][left["Ref"]]["Default"])
    return bool(value == right)


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        if "Ref" in node:
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            found.add(node["Fn::GetAtt"][0])
        for value in node.values():
            found |= _references(value)
        return found
    if isinstance(node, list):
        return set().union(*(_references(v) for v in node)) if node else set()
    return set()


def test_the_prod_api_stage_sits_behind_a_regional_web_acl(template: dict[str, Any]) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config["stages"]["prod"]["api_gateway_stage"]
    assert _acl(template)["Scope"] == "REGIONAL"
    assert _acl(template)["DefaultAction"] == {"Allow": {}}
    (association,) = [v for v in _waf_resources(template).values() if v["Type"] == "AWS::WAFv2::WebACLAssociation"]
    assert association["Properties"]["ResourceArn"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{RestAPI}}/stages/{stage}"
    }
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [render.WEB_ACL, "Arn"]}
    # The stage resource chalice's SAM output makes must exist before the association names it.
    assert association["DependsOn"] == [f"RestAPI{stage}Stage"]
    assert template["Parameters"]["WafEnabled"]["Default"] == "true"
    assert _condition(template, "UseWaf", {}) is True


def test_the_waf_can_be_turned_off_by_a_parameter_and_nothing_else_needs_it(template: dict[str, Any]) -> None:
    waf = _waf_resources(template)
    assert waf and all(resource["Condition"] == "UseWaf" for resource in waf.values())
    assert _condition(template, "UseWaf", {"WafEnabled": "false"}) is False
    # With the condition false the WAF resources are not made: nothing outside them may point at them.
    for name, resource in template["Resources"].items():
        if name not in waf:
            assert not _references(resource) & set(waf), name
    assert not _references(template.get("Outputs", {})) & set(waf)


def test_a_renamed_api_stage_stops_the_render_instead_of_protecting_nothing() -> None:
    config = {"stages": {"prod": {"api_gateway_stage": "v2"}}}
    with pytest.raises(render.RenderError, match="API Gateway stage 'v2'"):
        render.check_api_stage("prod", config)
    render.check_api_stage("prod", json.loads((ROOT / ".chalice" / "config.json").read_text()))


def test_dev_ships_without_the_waf_unless_asked() -> None:
    dev = render.render("dev", functions=[render.Function("api_handler", "api")])
    assert dev["Parameters"]["WafEnabled"]["Default"] == "false"
    assert dev["Resources"][render.WEB_ACL]["Condition"] == "UseWaf"


def test_waf_counts_each_address_over_five_minutes_against_limits_set_by_parameters(template: dict[str, Any]) -> None:
    rules = _rate_rules(template)
    assert [r["Name"] for r in rules] == ["per-address-writes", "per-address-requests"]
    for rule in rules:
        statement = rule["Statement"]["RateBasedStatement"]
        assert statement["AggregateKeyType"] == "IP"
        assert statement["EvaluationWindowSec"] == FIVE_MINUTES
        parameter = template["Parameters"][statement["Limit"]["Ref"]]
        assert parameter["Type"] == "Number" and parameter["MinValue"] >= 100
    writes = rules[0]["Statement"]["RateBasedStatement"]
    assert writes["Limit"] == {"Ref": "WafWriteLimit"}
    # The writes rule counts every method but the three that read: an unknown method counts too.
    excluded = {
        s["NotStatement"]["Statement"]["ByteMatchStatement"]["SearchString"]
        for s in writes["ScopeDownStatement"]["AndStatement"]["Statements"]
    }
    assert excluded == {"GET", "HEAD", "OPTIONS"}
    assert "ScopeDownStatement" not in rules[1]["Statement"]["RateBasedStatement"]


def test_the_shipped_waf_limits_let_a_carrier_address_full_of_customers_through(template: dict[str, Any]) -> None:
    # Issue 11's crowd: 150 answers a minute from one carrier address, kept up for the whole 5-minute
    # window; each customer opens the page, taps a score and adds a comment (two writes, three requests).
    answers_per_minute = 150
    writes = answers_per_minute * 2 * FIVE_MINUTES // 60
    requests = answers_per_minute * 3 * FIVE_MINUTES // 60
    limits = {
        r["Name"]: _default(template, r["Statement"]["RateBasedStatement"]["Limit"]) for r in _rate_rules(template)
    }
    assert writes <= limits["per-address-writes"]
    assert requests <= limits["per-address-requests"]


def test_a_script_writing_ten_times_a_second_from_one_address_is_over_the_limit(template: dict[str, Any]) -> None:
    limit = _default(template, _rules(template)["per-address-writes"]["Statement"]["RateBasedStatement"]["Limit"])
    assert limit < 10 * FIVE_MINUTES


def _block(rule: dict[str, Any]) -> dict[str, Any]:
    return rule["Action"]["Block"]["CustomResponse"]


def _headers(response: dict[str, Any]) -> dict[str, str]:
    return {h["Name"]: h["Value"] for h in response["ResponseHeaders"]}


def test_a_client_over_the_limit_reads_our_json_error_with_retry_after(template: dict[str, Any]) -> None:
    rules = _rules(template)
    label = {"LabelMatchStatement": {"Scope": "LABEL", "Key": render.WAF_LABEL}}
    for rule in _rate_rules(template):
        # Over the limit a rate rule only labels; the block rules below answer, from one count.
        assert rule["Action"] == {"Count": {}} and rule["RuleLabels"] == [{"Name": render.WAF_LABEL}]
    api = rules["rate-limited"]
    assert api["Statement"] == label
    assert api["Priority"] > max(r["Priority"] for r in _rate_rules(template))
    response = _block(api)
    assert response["ResponseCode"] == 429
    body = _acl(template)["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    error = json.loads(body["Content"])
    assert set(error) == {"error"} and error["error"]["code"] == "rate_limited"
    assert error["error"]["message"].strip()
    headers = _headers(response)
    assert int(headers["Retry-After"]) > 0
    # The widget calls without credentials from the business's site: it must be able to read the 429
    # and its Retry-After, or it would take the refusal for a network failure.
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "retry-after" in headers["Access-Control-Expose-Headers"].lower()


def test_a_person_at_a_browser_over_the_limit_sees_a_page_in_vietnamese_and_english(template: dict[str, Any]) -> None:
    rules = _rules(template)
    page = rules["rate-limited-page"]
    statements = page["Statement"]["AndStatement"]["Statements"]
    assert {"LabelMatchStatement": {"Scope": "LABEL", "Key": render.WAF_LABEL}} in statements
    accept = next(s["ByteMatchStatement"] for s in statements if "ByteMatchStatement" in s)
    assert accept["FieldToMatch"] == {"SingleHeader": {"Name": "accept"}} and accept["SearchString"] == "text/html"
    assert page["Priority"] < rules["rate-limited"]["Priority"]
    response = _block(page)
    assert response["ResponseCode"] == 429 and int(_headers(response)["Retry-After"]) > 0
    body = _acl(template)["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "TEXT_HTML"
    assert '<meta charset="utf-8">' in body["Content"]
    assert "Vui lòng thử lại" in body["Content"] and "try again" in body["Content"]


def test_every_waf_rule_and_the_acl_publish_metrics(template: dict[str, Any]) -> None:
    acl = _acl(template)
    names = [acl["VisibilityConfig"]["MetricName"]] + [r["VisibilityConfig"]["MetricName"] for r in acl["Rules"]]
    assert len(set(map(json.dumps, names))) == len(names)
    for config in [acl["VisibilityConfig"], *(r["VisibilityConfig"] for r in acl["Rules"])]:
        assert config["CloudWatchMetricsEnabled"] is True and config["SampledRequestsEnabled"] is True
