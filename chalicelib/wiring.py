"""Composition root: settings → adapters → services, built once per container on first use.

It knows nothing of `make run`: the local server (``chalicelib/local/``, not in the deployment zip) builds
the same services with its own mailer and alert flusher passed to :func:`build`, then :func:`install`s them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.adapters.reports_store import DynamoReports
from chalicelib.ports import Clock, SystemClock
from chalicelib.services.directory import Directory
from chalicelib.services.sites import Sites
from chalicelib.services.submissions import Submissions
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.ports import AlertFlusher, HttpSender, Mailer, WebhookQueue
    from chalicelib.services.access import Access
    from chalicelib.services.cases import Cases
    from chalicelib.services.feeds import Feeds
    from chalicelib.services.followups import Followups
    from chalicelib.services.insights import Insights
    from chalicelib.services.links import Links
    from chalicelib.services.mail import MailService
    from chalicelib.services.pos_keys import PosKeys
    from chalicelib.services.privacy import Privacy
    from chalicelib.services.reports import Reports
    from chalicelib.services.setup import Setup
    from chalicelib.services.signin import Signin
    from chalicelib.services.webhooks import Webhooks
    from chalicelib.services.zalo import Zalo
    from chalicelib.services.zalo_ratings import ZaloRatings


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    # The public path: a score, a comment, and the site-key policy of the widget.
    submissions: Submissions
    sites: Sites
    directory: Directory  # one per container: a key rotation seen by one service is seen by all
    store: DynamoStore
    clock: Clock
    mailer: Mailer | None = None  # else SESv2; tests inject a flaky one, `make run` its .eml outbox around SES
    alert_flusher: AlertFlusher | None = None  # else SQS delayed messages; `make run` a timer thread
    # Issue #16: else SQS and the SSRF-checked sender; tests and benches may hand in their own.
    webhook_queue: WebhookQueue | None = None
    http_sender: HttpSender | None = None

    # ---- the owner API, by what it does (docs/architecture.md, "Services") ----------------------------
    # Built on first use, like the mail and report layers below: a submission's cold start imports none.

    @cached_property
    def access(self) -> Access:
        from chalicelib.services.access import Access

        return Access(self.directory, self.store, self.clock, self.settings, registry=DynamoReports(self.store))

    @cached_property
    def pos_keys(self) -> PosKeys:
        from chalicelib.services.pos_keys import PosKeys

        return PosKeys(self.directory, self.store, self.settings)

    @cached_property
    def setup(self) -> Setup:
        from chalicelib.services.setup import Setup

        # Business and touchpoint settings (issue #14); a new time zone moves the report job's index entry.
        return Setup(self.directory, self.store, self.links, self.clock, registry=DynamoReports(self.store))

    @cached_property
    def links(self) -> Links:
        from chalicelib.services.links import Links

        return Links(self.directory, self.store, self.store, self.clock, self.settings)

    @cached_property
    def insights(self) -> Insights:
        from chalicelib.services.insights import Insights

        return Insights(self.store, self.clock, self.settings)

    @cached_property
    def feeds(self) -> Feeds:
        # Issue #16: the Google Sheets feeds, read through the owner listing's own code.
        from chalicelib.adapters.feeds_store import DynamoFeeds
        from chalicelib.services.feeds import Feeds

        feeds = DynamoFeeds(self.settings.table_name, getattr(self.store, "_client", None))
        return Feeds(feeds, self.directory, self.insights, self.clock, self.settings)

    @cached_property
    def webhooks(self) -> Webhooks:
        # Issue #16: owners' endpoints; deliveries leave through the SSRF-checked sender only.
        from chalicelib.adapters.http_out import PinnedHttpSender
        from chalicelib.adapters.sqs import SqsDeadLetters, SqsWebhookQueue
        from chalicelib.adapters.webhooks_store import DynamoWebhooks
        from chalicelib.services.webhooks import Webhooks
        from chalicelib.web.reach import render_paused_email, slack_message

        return Webhooks(
            DynamoWebhooks(self.settings.table_name, getattr(self.store, "_client", None)),
            self.webhook_queue or SqsWebhookQueue(self.settings.webhooks_queue_name),
            self.http_sender or PinnedHttpSender(allow_loopback=not self.settings.is_deployed),
            self.directory,
            self.clock,
            self.settings,
            dead_letters=SqsDeadLetters(self.settings.webhooks_dlq_name),
            render_slack=slack_message,
            render_paused=render_paused_email,
            mail=lambda: self.mail,
        )

    @cached_property
    def zalo(self) -> Zalo:
        # Issue #16: the business's Zalo OA; its tokens in Secrets Manager, its record in the table.
        from chalicelib.adapters.zalo import DynamoZaloConnections, HttpZaloApi, SecretsManagerZaloSecrets
        from chalicelib.services.zalo import Zalo

        client = getattr(self.store, "_client", None)
        return Zalo(
            HttpZaloApi(self.settings.zalo_api_url, self.settings.zalo_oauth_url),
            SecretsManagerZaloSecrets(self.settings.table_name),
            DynamoZaloConnections(self.settings.table_name, client),
            self.store,
            self.directory,
            self.clock,
        )

    @cached_property
    def privacy(self) -> Privacy:
        from chalicelib.services.privacy import Privacy

        # #11 item 7 (erasure): the stored reports' copies of comments, and the mail layer's dead letters
        # (looked up when an erasure runs, so building this never builds the mail layer).
        def forget_mail(business_id: str, email_hash: str) -> int:
            # Issue #16: an erased phone (its hash comes here too) is asked for no more Zalo ratings.
            self.zalo_ratings.forget(business_id, email_hash)
            return self.mail.forget(business_id, email_hash)

        from chalicelib.adapters.cases_store import DynamoCaseStore

        reports = DynamoReports(self.store)
        # issue #14: the owner's reply texts in a case's history go with the person's address.
        cases = DynamoCaseStore(self.settings.table_name, getattr(self.store, "_client", None))
        return Privacy(
            self.store, self.clock, self.settings, reports=reports, forget_mail=forget_mail, cases=cases
        )

    @cached_property
    def cases(self) -> Cases:
        # issue #14: the complaint inbox; the mail layer and the email templates only when it is built.
        from chalicelib.adapters.cases_store import DynamoCaseStore
        from chalicelib.adapters.followups_store import DynamoFollowupStore
        from chalicelib.services.cases import Cases
        from chalicelib.web import emails

        client = getattr(self.store, "_client", None)
        return Cases(
            DynamoCaseStore(self.settings.table_name, client),
            DynamoFollowupStore(self.settings.table_name, client),
            self.mail,
            emails,
            self.clock,
            self.settings,
        )

    @cached_property
    def mail(self) -> MailService:
        # Built on first use: the email path stays out of a submission's cold start.
        from chalicelib.adapters.followups_store import DynamoFollowupStore
        from chalicelib.adapters.sqs import SqsDeadLetters
        from chalicelib.services.mail import MailService

        ledger = DynamoFollowupStore(self.settings.table_name, getattr(self.store, "_client", None))
        return MailService(
            self.mailer or default_mailer(self.settings),
            ledger,
            ledger,
            SqsDeadLetters(self.settings.mail_dlq_name),
            self.clock,
            self.settings,
        )

    @cached_property
    def followups(self) -> Followups:
        from chalicelib.adapters.cases_store import DynamoCaseStore
        from chalicelib.adapters.followups_store import DynamoFollowupStore
        from chalicelib.adapters.sqs import SqsAlertFlusher
        from chalicelib.services.followups import Followups
        from chalicelib.web import emails

        store = self.store
        return Followups(
            Directory(store, self.settings.business_cache_seconds),
            DynamoFollowupStore(self.settings.table_name, getattr(self.store, "_client", None)),
            self.mail,
            self.alert_flusher or SqsAlertFlusher(self.settings.alert_queue_name),
            self.clock,
            self.settings,
            templates=emails,
            cases=DynamoCaseStore(self.settings.table_name, getattr(self.store, "_client", None)),
            zalo=lambda: self.zalo,
        )

    @cached_property
    def reports(self) -> Reports:
        # Built on first use: the report code stays out of a submission's cold start.
        from chalicelib.adapters.sqs import SqsReportQueue
        from chalicelib.services.reports import Reports
        from chalicelib.web.digest import render_digest

        store = self.store
        reports_store = DynamoReports(store)
        return Reports(
            store,
            reports_store,
            reports_store,
            self.clock,
            self.settings,
            queue=SqsReportQueue(self.settings.reports_queue_name),
            mail=lambda: getattr(self, "mail", None),
            render_digest=render_digest,
            cases=lambda: getattr(self, "cases", None),
        )

    @cached_property
    def signin(self) -> Signin:
        # The owner console's sign-in and sessions (issue #14, docs/console.md).
        from chalicelib.adapters.signin_store import DynamoSignins
        from chalicelib.services.signin import Signin
        from chalicelib.web.console_mail import render_signin_email

        return Signin(
            self.directory, DynamoSignins(self.store), self.access, self.clock, self.settings,
            mail=lambda: self.mail, render=render_signin_email,
        )

    @cached_property
    def zalo_ratings(self) -> ZaloRatings:
        # Issue #16: ratings through Zalo; the Zalo service (i16-zns) is looked up when a rating is asked
        # or polled, so building this builds no Zalo client.
        from chalicelib.adapters.followups_store import DynamoFollowupStore
        from chalicelib.adapters.ratings_store import DynamoRatings
        from chalicelib.services.zalo_ratings import ZaloRatings

        client = getattr(self.store, "_client", None)
        return ZaloRatings(
            DynamoRatings(self.settings.table_name, client), self.store, self.store, self.directory,
            DynamoFollowupStore(self.settings.table_name, client), lambda: self.zalo, self.clock,
            self.settings,
        )


def default_mailer(settings: Settings) -> Mailer:
    """SESv2, what every deployed stage sends with (`make run` wraps it in its .eml outbox)."""
    from chalicelib.adapters.ses import SesMailer

    return SesMailer(max_send_rate=settings.ses_max_send_rate, configuration_set=settings.ses_configuration_set)


def build(
    settings: Settings,
    store: DynamoStore | None = None,
    clock: Clock | None = None,
    *,
    mailer: Mailer | None = None,
    alert_flusher: AlertFlusher | None = None,
) -> Services:
    store = store or DynamoStore(settings.table_name)
    clock = clock or SystemClock()
    directory = Directory(store, settings.business_cache_seconds)
    sites = Sites(directory, clock, settings)
    submissions = Submissions(directory, store, clock, settings, sites)
    return Services(
        settings=settings, submissions=submissions, sites=sites, directory=directory, store=store, clock=clock,
        mailer=mailer, alert_flusher=alert_flusher,
    )


_current: Services | None = None


def services() -> Services:
    global _current
    if _current is None:
        _current = build(get_settings())
    return _current


def install(built: Services | None) -> None:
    """Use these services from now on (tests install ones with a controllable clock)."""
    global _current
    _current = built


def reset() -> None:
    """Forget the built services and settings (tests, and the local server after it sets the env)."""
    install(None)
    get_settings.cache_clear()
