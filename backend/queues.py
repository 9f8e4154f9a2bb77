"""The RQ queues, named by purpose, and which queue delivers each outbox channel.

The web side and the workers both enqueue through here; the workers import it, the
backend never imports ``workers``.
"""

from __future__ import annotations

from flask import Flask
from rq import Queue

from backend.redis_conn import connect

MAIL = "mail"
WEBHOOKS = "webhooks"
ESCALATION = "escalation"
# Business-card reading: CPU-bound, so it has its own queue, served last by the default
# worker and by dedicated workers where cards are many.
OCR = "ocr"
QUEUE_NAMES = (MAIL, WEBHOOKS, ESCALATION, OCR)

# The queue whose workers deliver a message of each channel (``Message.channel``).
CHANNEL_QUEUES = {"email": MAIL, "webhook": WEBHOOKS, "telegram": WEBHOOKS}


def get_queue(app: Flask, name: str) -> Queue:
    """The app's queue ``name``, built once per app and process (a Queue holds only its
    name and the app's Redis client; building one per capture cost a tenth of a ms)."""
    client = connect(app)
    queues = app.extensions.setdefault("leadrelay_queues", {})
    queue = queues.get(name)
    if queue is None or queue.connection is not client:  # a new client: a new queue
        queue = queues[name] = Queue(name, connection=client)
    return queue


def queue_for(channel: str) -> str:
    """The name of the queue that delivers messages of ``channel`` (mail by default)."""
    return CHANNEL_QUEUES.get(channel, MAIL)
