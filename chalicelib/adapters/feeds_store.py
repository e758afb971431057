"""DynamoDB implementation of the ``FeedStore`` port (issue #16): the Google Sheets feeds of a business,
one item each under the business's partition (``tables.feed_sk``). Keys in ``chalicelib/tables.py``."""

from __future__ import annotations

from typing import Any, Literal

from chalicelib import tables
from chalicelib.adapters.dynamodb import DynamoTable, _translated
from chalicelib.domain.feeds import StoredFeed

_FIELDS = tuple(StoredFeed.model_fields)


class DynamoFeeds(DynamoTable):
    def put_feed(self, feed: StoredFeed) -> None:
        keys = {"PK": tables.business_pk(feed.business_id), "SK": tables.feed_sk(feed.feed_id), "type": "feed"}
        self._put_new({**keys, **feed.model_dump()})

    def feeds(self, business_id: str) -> list[StoredFeed]:
        return [self._feed(item) for item in self._business_items(business_id, tables.feed_sk)]

    def delete_feed(self, business_id: str, feed_id: str) -> StoredFeed | None:
        """Remove the feed (its link answers 404 from then on); the feed as it was, None when there was none."""
        gone = self._delete_existing(tables.business_pk(business_id), tables.feed_sk(feed_id))
        return self._feed(gone) if gone else None

    def count_read(
        self, business_id: str, feed_id: str, hour: str, now: str, per_hour: int
    ) -> tuple[Literal["ok", "limited", "gone"], StoredFeed | None]:
        """One read of the feed: counted against this hour's allowance and recorded as its last read, in
        one conditional update that also says whether the feed still exists (revoked: "gone")."""
        from botocore.exceptions import ClientError

        key = self._key(tables.business_pk(business_id), tables.feed_sk(feed_id))
        # The same hour, under the allowance; or a new hour, which starts the count again.
        attempts = [
            ("SET read_count = read_count + :one", "attribute_exists(PK) AND read_hour = :h AND read_count < :max"),
            (
                "SET read_count = :one, read_hour = :h",
                "attribute_exists(PK) AND (attribute_not_exists(read_hour) OR read_hour <> :h)",
            ),
        ]
        old: dict[str, Any] | None = None
        for update, condition in attempts:
            try:
                with _translated():
                    got = self.client.update_item(
                        TableName=self.table,
                        Key=key,
                        UpdateExpression=update + ", last_read_at = :t ADD #reads :one",
                        ExpressionAttributeNames={"#reads": "reads"},  # a reserved word
                        ConditionExpression=condition,
                        ExpressionAttributeValues={
                            ":one": {"N": "1"}, ":h": {"S": hour}, ":t": {"S": now},
                            **({":max": {"N": str(per_hour)}} if ":max" in condition else {}),
                        },
                        ReturnValues="ALL_NEW",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                failed: Any = exc.response
                old = failed.get("Item")
                if not old:
                    return "gone", None
                continue
            return "ok", self._feed(self._plain(got["Attributes"]))
        return "limited", self._feed(self._plain(old)) if old else None

    @staticmethod
    def _feed(plain: dict[str, Any]) -> StoredFeed:
        return StoredFeed.model_validate({k: plain[k] for k in _FIELDS if k in plain})
