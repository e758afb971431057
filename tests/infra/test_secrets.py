"""A deployed stage reads its secrets from Secrets Manager / SSM; a bad one stops the cold start, named."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib.errors import Unauthorized
from chalicelib.services.access import Access
from chalicelib.services.directory import Directory
from chalicelib.settings import ConfigurationError, load_settings
from tests.clock import FakeClock
from tests.fakes import InMemoryStore
from tests.infra.conftest import ROOT

ADMIN = "deployed-admin-key-0123456789abcdefghij"
SECRET = "deployed-app-secret-0123456789abcdefghij-0123456789abcdef"
BASE = {"STAGE": "prod", "TABLE_NAME": "surveys-prod-table", "PUBLIC_BASE_URL": "https://feedback.example.com"}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _secret(name: str, value: str) -> str:
    return str(boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"])


def test_a_deployed_stage_takes_its_keys_from_secrets_manager_and_ssm(aws: None) -> None:
    admin_arn = _secret("surveys/admin", ADMIN)
    boto3.client("ssm").put_parameter(Name="/surveys/prod/app-secret", Value=SECRET, Type="SecureString")
    settings = load_settings(
        {**BASE, "ADMIN_KEY_SOURCE": f"secretsmanager:{admin_arn}", "APP_SECRET_SOURCE": "ssm:/surveys/prod/app-secret"}
    )
    assert settings.admin_key == ADMIN
    assert settings.app_secret == SECRET


def test_a_missing_secret_fails_with_one_message_naming_the_variable(aws: None) -> None:
    admin_arn = _secret("surveys/admin", ADMIN)
    with pytest.raises(ConfigurationError) as caught:
        load_settings({**BASE, "ADMIN_KEY_SOURCE": f"secretsmanager:{admin_arn}", "APP_SECRET_SOURCE": "ssm:/nope"})
    assert str(caught.value).startswith("Invalid configuration: APP_SECRET_SOURCE: cannot read ssm:/nope")


def test_a_too_short_secret_is_refused_by_name(aws: None) -> None:
    admin_arn = _secret("surveys/admin", "short")
    secret_arn = _secret("surveys/app", SECRET)
    with pytest.raises(ConfigurationError, match="ADMIN_KEY must be at least 24 characters"):
        load_settings(
            {
                **BASE,
                "ADMIN_KEY_SOURCE": f"secretsmanager:{admin_arn}",
                "APP_SECRET_SOURCE": f"secretsmanager:{secret_arn}",
            }
        )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "ADMIN_KEY_SOURCE must be set for a deployed stage"),
        ({"ADMIN_KEY": ADMIN, "APP_SECRET": SECRET}, "ADMIN_KEY_SOURCE must be set for a deployed stage"),
        ({"ADMIN_KEY_SOURCE": "vault:admin", "APP_SECRET_SOURCE": "ssm:/x"}, "ADMIN_KEY_SOURCE must look like"),
        ({"ADMIN_KEY_SOURCE": "ssm:", "APP_SECRET_SOURCE": "ssm:/x"}, "ADMIN_KEY_SOURCE must look like"),
        ({"ADMIN_KEY_SOURCE": "none", "APP_SECRET_SOURCE": "none"}, "APP_SECRET_SOURCE may not be 'none'"),
        ({"ADMIN_KEY_SOURCE": "none", "ADMIN_KEY": ADMIN, "APP_SECRET_SOURCE": "ssm:/x"}, "set ADMIN_KEY or"),
    ],
)
def test_a_deployed_stage_refuses_plain_or_malformed_secret_settings(env: dict[str, str], named: str) -> None:
    # Refused before any AWS call: no emulator needed.
    with pytest.raises(ConfigurationError, match=named):
        load_settings({**BASE, **env})


def test_locally_the_plain_variables_still_apply() -> None:
    settings = load_settings({"STAGE": "local", "ADMIN_KEY": ADMIN, "APP_SECRET": SECRET})
    assert (settings.admin_key, settings.app_secret) == (ADMIN, SECRET)


def test_on_lambda_a_bad_configuration_fails_the_import_of_app_not_a_request() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_KEY", "APP_SECRET")}
    env.update(BASE, AWS_LAMBDA_FUNCTION_NAME="surveys-prod-api_handler", APP_SECRET_SOURCE="ssm:/surveys/app")
    done = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "ConfigurationError: Invalid configuration: ADMIN_KEY_SOURCE must be set for a deployed stage" in last


def test_a_function_not_given_the_admin_key_starts_and_no_admin_key_works_there(aws: None) -> None:
    # The stream consumer, the queue workers and the schedule are deployed with ADMIN_KEY_SOURCE=none
    # (infra/render.py) and roles that may not read the admin key's secret.
    secret_arn = _secret("surveys/app", SECRET)
    env = {**BASE, "ADMIN_KEY_SOURCE": "none", "APP_SECRET_SOURCE": f"secretsmanager:{secret_arn}"}
    first, second = load_settings(env), load_settings(env)
    assert first.app_secret == SECRET
    # A key made at cold start and known to nobody: the real one (or any guess) never matches it.
    assert len(first.admin_key) >= 24
    assert first.admin_key not in (ADMIN, "", "none")
    assert first.admin_key != second.admin_key
    access = Access(Directory(InMemoryStore(), ttl_seconds=60), InMemoryStore(), FakeClock(), first)
    for guess in (ADMIN, "none", ""):
        with pytest.raises(Unauthorized):
            access.require_admin(f"Bearer {guess}")
