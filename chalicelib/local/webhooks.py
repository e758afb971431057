"""`make run` only: what AWS runs for the owners' webhooks (issue #16), in this process. A second reader
of the emulator's table stream feeds ``app.webhook_events`` (as the second event source mapping does),
and a thread drains the webhook queue into ``app.webhook_worker`` one message at a time, as Lambda's SQS
trigger with batch size 1 would; a message whose handler raises stays on the queue."""

from __future__ import annotations

import threading

from chalicelib.local.scheduler import sqs_event
from chalicelib.local.stream import StreamPoller, lambda_context
from chalicelib.observability import logger

POLL_SECONDS = 0.5


class WebhookDrain:
    def __init__(self, queue_name: str) -> None:
        import boto3

        self._sqs = boto3.client("sqs")
        self._name = queue_name
        self._url = str(self._sqs.create_queue(QueueName=queue_name)["QueueUrl"])
        self._stop = threading.Event()
        self.delivered = 0

    def start(self) -> WebhookDrain:
        threading.Thread(target=self._loop, name="webhook-drain", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def run_once(self) -> int:
        import app as application

        got = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        done = 0
        for message in got.get("Messages", []):
            event = sqs_event(message["Body"], self._name, message["ReceiptHandle"], message["MessageId"])
            try:
                application.webhook_worker(event, lambda_context("webhook_worker"))
            except Exception:  # stays on the queue, seen again after its visibility timeout, as in Lambda
                logger.exception("local webhook delivery failed; the message stays on the queue")
                continue
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
        self.delivered += done
        return done

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                while self.run_once():
                    pass
            except Exception:  # a failed pass must not stop the next one
                logger.exception("local webhook drain failed")


def start_local_webhooks(table_name: str, *, start: str = "LATEST") -> tuple[StreamPoller, WebhookDrain]:
    """Called by ``chalicelib/local/server.py`` after the follow-ups' poller."""
    from chalicelib.adapters.sqs import create_queues
    from chalicelib.settings import get_settings

    settings = get_settings()
    create_queues([settings.webhooks_queue_name, settings.webhooks_dlq_name])
    from app import webhook_events

    poller = StreamPoller(table_name, webhook_events, start=start)
    poller.start()
    return poller, WebhookDrain(settings.webhooks_queue_name).start()
