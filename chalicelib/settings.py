"""Configuration, read from the environment once per container and validated.

A missing or malformed value fails at cold start with one message naming it, never at the first
customer's request.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Only for `make run` and the tests: a deployed stage must set its own (checked below).
LOCAL_DEV_SECRET = "local-development-secret-do-not-deploy-0000"  # noqa: S105 - refused when deployed

MAX_BODY_BYTES = 16 * 1024


class ConfigurationError(RuntimeError):
    pass


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: Literal["local", "test", "dev", "prod"] = "local"
    table_name: str = Field(default="surveys-local", min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")
    admin_key: str = Field(default="", max_length=200)
    app_secret: str = Field(default=LOCAL_DEV_SECRET, min_length=32, max_length=512)
    public_base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    edit_window_hours: int = Field(default=24, ge=1, le=24 * 30)
    min_responses: int = Field(default=5, ge=1, le=1000)
    business_cache_seconds: int = Field(default=60, ge=0, le=3600)
    default_link_days: int = Field(default=90, ge=1, le=365)  # #11 item 7: minted links default to 90 days
    # #11 item 2: submissions a minute, counted in DynamoDB so they hold across containers: per client
    # address PER BUSINESS (carrier NAT puts thousands of phones behind one address: 150 answers a minute
    # over three cafés must pass) and per link or site key (a table QR is one link for everyone). The link
    # limit counts only answers that passed the address cap and is never taken below twice it, so one
    # address can never spend a link's whole minute (docs/scaling.md).
    rate_limit_per_ip: int = Field(default=120, ge=1, le=100_000)
    rate_limit_per_link: int = Field(default=600, ge=1, le=1_000_000)
    # #11 item 1: how long a survey page's or widget config's nonce may be answered with.
    nonce_ttl_minutes: int = Field(default=120, ge=5, le=24 * 60)
    reports_queue_name: str = Field(default="surveys-reports", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")

    # Email (docs/email.md). The deployment's verified sender; a business's own sender_email overrides it.
    mail_from: str = Field(default="no-reply@surveys.example", max_length=254, pattern=r"^[^\s@<>\"]+@[^\s@<>\"]+$")
    ses_max_send_rate: float = Field(default=14.0, gt=0, le=10_000)
    ses_configuration_set: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    mail_dlq_name: str = Field(default="surveys-mail-dlq", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    alert_queue_name: str = Field(default="surveys-alerts", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    alert_batch_after: int = Field(default=5, ge=1, le=1000)
    unsubscribe_mailto: str = Field(default="", max_length=254, pattern=r"^([^\s@<>\"]+@[^\s@<>\"]+)?$")

    # issue #11 item 4: daily caps on automatic customer emails (vouchers, apologies; docs/email.md). An
    # address counts as one person across its variants (case, +tag, Gmail dots).
    mail_cap_per_address_business: int = Field(default=1, ge=1, le=100)
    mail_cap_per_address: int = Field(default=3, ge=1, le=1000)
    mail_cap_per_business: int = Field(default=500, ge=1, le=1_000_000)

    # ---- issue #16: ratings through Zalo
    # Rating requests a business may send a day (each ZNS message costs the owner); one per phone a day.
    zalo_rating_cap_per_business: int = Field(default=500, ge=1, le=1_000_000)
    # ---- issue #16: owners' webhooks (docs/webhooks.md)
    webhooks_queue_name: str = Field(
        default="surveys-webhooks", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$"
    )
    webhooks_dlq_name: str = Field(
        default="surveys-webhooks-dlq", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$"
    )

    # ---- issue #16: Zalo (docs/zalo.md); `make run` and the tests point both at the local fake
    zalo_api_url: str = Field(default="https://business.openapi.zalo.me", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    zalo_oauth_url: str = Field(default="https://oauth.zaloapp.com", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @property
    def is_deployed(self) -> bool:
        return self.stage in ("dev", "prod")


_ENV = {
    "stage": "STAGE",
    "table_name": "TABLE_NAME",
    "admin_key": "ADMIN_KEY",
    "app_secret": "APP_SECRET",
    "public_base_url": "PUBLIC_BASE_URL",
    "edit_window_hours": "EDIT_WINDOW_HOURS",
    "min_responses": "MIN_RESPONSES",
    "business_cache_seconds": "BUSINESS_CACHE_SECONDS",
    "default_link_days": "DEFAULT_LINK_DAYS",
    "rate_limit_per_ip": "RATE_LIMIT_PER_IP",
    "rate_limit_per_link": "RATE_LIMIT_PER_LINK",
    "nonce_ttl_minutes": "NONCE_TTL_MINUTES",
    "mail_from": "MAIL_FROM",
    "ses_max_send_rate": "SES_MAX_SEND_RATE",
    "ses_configuration_set": "SES_CONFIGURATION_SET",
    "mail_dlq_name": "MAIL_DLQ_NAME",
    "alert_queue_name": "ALERT_QUEUE_NAME",
    "alert_batch_after": "ALERT_BATCH_AFTER",
    "unsubscribe_mailto": "UNSUBSCRIBE_MAILTO",
    "reports_queue_name": "REPORTS_QUEUE_NAME",
    # issue #11 item 4
    "mail_cap_per_address_business": "MAIL_CAP_PER_ADDRESS_BUSINESS",
    "mail_cap_per_address": "MAIL_CAP_PER_ADDRESS",
    "mail_cap_per_business": "MAIL_CAP_PER_BUSINESS",
    # issue #16: ratings through Zalo
    "zalo_rating_cap_per_business": "ZALO_RATING_CAP_PER_BUSINESS",
    # issue #16
    "webhooks_queue_name": "WEBHOOKS_QUEUE_NAME",
    "webhooks_dlq_name": "WEBHOOKS_DLQ_NAME",
    "zalo_api_url": "ZALO_API_URL",
    "zalo_oauth_url": "ZALO_OAUTH_URL",
}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    # A deployed stage reads its secrets from Secrets Manager / SSM (chalicelib/secrets.py).
    from chalicelib import secrets

    try:
        env = {**env, **secrets.resolve(env)}
    except secrets.SecretError as exc:
        raise ConfigurationError(str(exc)) from None
    raw = {field: env[var] for field, var in _ENV.items() if env.get(var, "") != ""}
    try:
        settings = Settings.model_validate(raw)  # each value is checked and converted by its field
    except ValidationError as exc:
        problems = "; ".join(f"{_ENV[str(err['loc'][0])]}: {err['msg']}" for err in exc.errors() if err["loc"])
        raise ConfigurationError(f"Invalid configuration: {problems}") from None
    if settings.is_deployed:
        # A deployed stage with the public development secret would let anyone forge edit tokens.
        if settings.app_secret == LOCAL_DEV_SECRET:
            raise ConfigurationError("Invalid configuration: APP_SECRET must be set for a deployed stage")
        if len(settings.admin_key) < 24:
            raise ConfigurationError("Invalid configuration: ADMIN_KEY must be at least 24 characters")
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
