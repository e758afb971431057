"""Secrets of a deployed stage: read from Secrets Manager or SSM Parameter Store, never from the repo.

A deployed function does not get ``ADMIN_KEY`` / ``APP_SECRET`` as plain environment values (they would
show in the console and in the CloudFormation template). It gets where to read them instead:

    ADMIN_KEY_SOURCE=secretsmanager:<secret ARN or name>
    APP_SECRET_SOURCE=ssm:/surveys/prod/app-secret      (a SecureString; decrypted on read)

``infra/render.py`` wires both to secrets that CloudFormation generates in the stack. Locally and in
the tests nothing is set here and the plain variables (or the settings' local defaults) apply.

Each function reads only the secrets it uses. A function that never checks the admin key (the stream
consumer, the queue workers, the schedule) is deployed with ``ADMIN_KEY_SOURCE=none`` and a role that
may not read that secret: it gets a random admin key made at cold start and known to nobody, so nothing
it runs can accept an admin request, and the settings' deployed-stage checks hold unchanged. Only a
secret in ``MAY_BE_WITHHELD`` may be ``none``: a random app secret would break every signature silently.

Values are fetched through powertools' Parameters, which caches them per container for
``CACHE_SECONDS``; the settings are built once per container, so a cold start reads each secret once.
A source that is malformed, missing or unreadable stops the cold start with one message naming the
variable: the function never answers a customer with half a configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

# Settings variable -> the variable naming where to read it in a deployed stage.
SOURCES = {"ADMIN_KEY": "ADMIN_KEY_SOURCE", "APP_SECRET": "APP_SECRET_SOURCE"}
SCHEMES = ("secretsmanager", "ssm")
CACHE_SECONDS = 300
DEPLOYED_STAGES = ("dev", "prod")
# Issue 11, item 7: a function is told where only the secrets it uses are; "none" marks the others.
WITHHELD = "none"
MAY_BE_WITHHELD = frozenset({"ADMIN_KEY"})


class SecretError(RuntimeError):
    """One configuration problem, its message naming the variable (settings re-raises it)."""


def resolve(env: Mapping[str, str]) -> dict[str, str]:
    """The secret values named by ``*_SOURCE`` variables, keyed by the plain variable they stand for.

    In a deployed stage each secret must come from its source: a plain value would mean it sits in the
    template or the console, so it is refused."""
    deployed = env.get("STAGE", "") in DEPLOYED_STAGES
    resolved: dict[str, str] = {}
    for var, source_var in SOURCES.items():
        source = env.get(source_var, "").strip()
        if not source:
            if deployed:
                raise SecretError(
                    f"Invalid configuration: {source_var} must be set for a deployed stage "
                    f"(secretsmanager:<arn> or ssm:<name>); {var} may not be a plain environment value"
                )
            continue
        if env.get(var, ""):
            raise SecretError(f"Invalid configuration: set {var} or {source_var}, not both")
        if source == WITHHELD:
            resolved[var] = _withheld(var, source_var)
            continue
        resolved[var] = _fetch(source_var, source)
    return resolved


def _withheld(var: str, source_var: str) -> str:
    if var not in MAY_BE_WITHHELD:
        raise SecretError(f"Invalid configuration: {source_var} may not be {WITHHELD!r}: every function needs {var}")
    # Unguessable and never stored or logged: a key nobody holds, so every admin check here fails.
    return os.urandom(32).hex()


def _fetch(source_var: str, source: str) -> str:
    scheme, _, name = source.partition(":")
    if scheme not in SCHEMES or not name or any(c.isspace() for c in name):
        raise SecretError(
            f"Invalid configuration: {source_var} must look like secretsmanager:<arn or name> or ssm:<name>, "
            f"got {source[:60]!r}"
        )
    # Imported here: only a deployed cold start pays for powertools' parameters and boto3.
    from aws_lambda_powertools.utilities import parameters

    try:
        if scheme == "ssm":
            value = _provider(scheme).get(name, decrypt=True, max_age=CACHE_SECONDS)
        else:
            value = _provider(scheme).get(name, max_age=CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as exc:
        raise SecretError(f"Invalid configuration: {source_var}: cannot read {source}: {_reason(exc)}") from None
    text = _text(value)
    if not text:
        raise SecretError(f"Invalid configuration: {source_var}: {source} is empty")
    return text


@cache
def _provider(scheme: str) -> Any:
    """powertools' provider of a scheme, its client made from boto3's default session rather than a session
    of its own: the DynamoDB client of the first request then reuses the service data this one loaded
    (endpoints, partitions, retry rules), ~60 ms less on a cold start (bench/cold_start.py)."""
    import boto3
    from aws_lambda_powertools.utilities import parameters

    if scheme == "ssm":
        return parameters.SSMProvider(boto3_client=boto3.client("ssm"))
    return parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))


def _text(value: object) -> str:
    # A binary secret (SecretBinary) arrives as bytes, whatever powertools' annotation says.
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.strip() if isinstance(value, str) else ""


def _reason(exc: Exception) -> str:
    # powertools wraps botocore's error; its text names the code (ResourceNotFound, AccessDenied...).
    return str(exc).splitlines()[0][:200] or type(exc).__name__
