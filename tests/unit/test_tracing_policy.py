"""Who gets the X-Ray SDK: the jobs and the owners' keyed requests that X-Ray sampled, never a customer's."""

from __future__ import annotations

import pytest

from chalicelib import observability
from chalicelib.observability import uses_sdk

SAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
UNSAMPLED = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"


@pytest.fixture
def lambda_with_tracing(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A deployed function with active tracing, in an invocation X-Ray sampled."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "surveys-prod-api_handler")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    return monkeypatch


def test_a_sampled_job_and_a_sampled_owner_request_are_traced_with_the_sdk(
    lambda_with_tracing: pytest.MonkeyPatch,
) -> None:
    assert uses_sdk("job") and uses_sdk("owner")


def test_a_customers_request_never_loads_the_sdk_even_when_sampled(lambda_with_tracing: pytest.MonkeyPatch) -> None:
    assert observability.sampled() and observability.tracing_enabled()
    assert not uses_sdk("public")


@pytest.mark.parametrize("header", [UNSAMPLED, "", "Root=1-6745a1b2-0123456789abcdef01234567;Sampled=?"])
def test_an_invocation_xray_did_not_sample_does_not_load_the_sdk(
    lambda_with_tracing: pytest.MonkeyPatch, header: str
) -> None:
    # Loading the SDK for it would cost ~0.2 s and record nothing.
    lambda_with_tracing.setenv("_X_AMZN_TRACE_ID", header)
    assert not uses_sdk("job") and not uses_sdk("owner")


def test_tracing_off_for_the_function_or_outside_lambda_loads_nothing(lambda_with_tracing: pytest.MonkeyPatch) -> None:
    lambda_with_tracing.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not uses_sdk("job")
    lambda_with_tracing.delenv("POWERTOOLS_TRACE_DISABLED")
    lambda_with_tracing.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert not uses_sdk("job")


def test_a_public_invocation_runs_without_building_the_tracer(lambda_with_tracing: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    lambda_with_tracing.setattr(observability, "get_tracer", lambda: built.append("tracer"))
    with observability.traced("surveys-prod-api_handler", "public"):
        ran = True
    assert ran and built == []
