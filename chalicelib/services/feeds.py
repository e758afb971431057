"""Google Sheets without an integration (issue #16): signed, revocable CSV links of a business's answers
over a rolling window, for ``=IMPORTDATA("…")``. Rules here; the link format in ``domain/feeds.py``; the
CSV itself is the owner export's (``web/exports.py``), formula-injection escaping included."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.domain import feeds, keys
from chalicelib.domain.calendar import iso_utc
from chalicelib.domain.feeds import FeedCreated, FeedIn, FeedList, FeedOut, StoredFeed
from chalicelib.domain.models import ResponseItem
from chalicelib.errors import Conflict, NotFound, RateLimited
from chalicelib.ports import Clock, FeedStore
from chalicelib.services.access import Caller
from chalicelib.services.directory import Directory
from chalicelib.services.insights import Insights
from chalicelib.settings import Settings

_GONE = "This link was revoked or never existed. Ask the business for a new one."


@dataclass(frozen=True)
class FeedRead:
    business_id: str
    feed_id: str
    items: list[ResponseItem]
    truncated: bool  # the window held more than ``feeds.MAX_ROWS`` answers: the newest are given


class Feeds:
    def __init__(
        self, store: FeedStore, directory: Directory, insights: Insights, clock: Clock, settings: Settings
    ) -> None:
        self._store, self._directory, self._insights = store, directory, insights
        self._clock, self._settings = clock, settings

    def create(self, caller: Caller, body: FeedIn | None) -> FeedCreated:
        body = body or FeedIn()
        business_id = caller.business.business_id
        if len(self._store.feeds(business_id)) >= feeds.MAX_FEEDS:
            raise Conflict(
                f"A business has at most {feeds.MAX_FEEDS} feeds: revoke one you no longer use first.",
                code="too_many_feeds",
            )
        feed = StoredFeed(
            business_id=business_id,
            feed_id=keys.new_id(),
            name=body.name,
            days=body.days,
            created_at=iso_utc(self._clock.now()),
        )
        self._store.put_feed(feed)
        url = self.url(business_id, feed.feed_id)
        return FeedCreated(**feed.out().model_dump(), url=url, formula=feeds.formula(url))

    def list(self, caller: Caller) -> FeedList:
        found = sorted(self._store.feeds(caller.business.business_id), key=lambda f: f.created_at, reverse=True)
        return FeedList(feeds=[f.out() for f in found])

    def revoke(self, caller: Caller, feed_id: str) -> FeedOut:
        gone = self._store.delete_feed(caller.business.business_id, feed_id)
        if gone is None:
            raise NotFound("Unknown feed.", code="feed_not_found")
        return gone.out()

    def url(self, business_id: str, feed_id: str) -> str:
        base = self._settings.public_base_url.rstrip("/")
        return f"{base}/f/{feeds.token(self._settings.app_secret, business_id, feed_id)}"

    def read(self, token: str) -> FeedRead:
        """The answers behind a feed link: 404 for a forged, altered or revoked one (the same answer, so a
        guess learns nothing), 429 past the hour's allowance."""
        named = feeds.read_token(self._settings.app_secret, token)
        if named is None:
            raise NotFound(_GONE, code="feed_not_found")
        business_id, feed_id = named
        now = self._clock.now()
        outcome, feed = self._store.count_read(
            business_id, feed_id, now.strftime("%Y-%m-%dT%H"), iso_utc(now), feeds.READS_PER_HOUR
        )
        if outcome == "gone" or feed is None:
            raise NotFound(_GONE, code="feed_not_found")
        if outcome == "limited":
            next_hour = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
            raise RateLimited(
                f"This link was read {feeds.READS_PER_HOUR} times this hour; Google Sheets refreshes about hourly.",
                code="feed_rate_limited",
                retry_after=math.ceil((next_hour - now).total_seconds()),
            )
        business = self._directory.business(business_id)
        if business is None:
            raise NotFound(_GONE, code="feed_not_found")
        items, truncated = self._insights.window(business, feed.days, feeds.MAX_ROWS)
        return FeedRead(business_id, feed_id, items, truncated)
