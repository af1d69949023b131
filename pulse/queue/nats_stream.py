"""The NATS JetStream side of the ``nats`` queue backend: connecting, declaring the stream and
the writers' durable pull consumer, sampling their state, and translating client errors into
the project's error kinds (docs/architecture.md#deployment).

The stream has work-queue retention (an entry is deleted once a writer acks it), ``discard
new`` at ``max_bytes`` (a full stream refuses new entries instead of dropping old ones) and a
de-duplication window, so a publish retried after a lost acknowledgement is stored once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from pulse.errors import ConfigError, Overloaded, Retryable

log = logging.getLogger("pulse.queue.nats")

CONSUMER = "pulse-writers"  # the one durable pull consumer every writer shares
DUPLICATE_WINDOW_S = 120.0  # JetStream's default: a retried publish within it is stored once
RETRY_AFTER_S = 2  # NATS unreachable / no answer: clients retry soon (it reconnects by itself)
RETRY_AFTER_FULL_S = 5  # stream full: the writers need time to drain it


@dataclass(frozen=True, slots=True)
class NatsOptions:
    """The stream's settings (``PULSE_NATS_*``) and a few timings tests shorten."""

    url: str = "nats://127.0.0.1:4222"
    stream: str = "PULSE_INGEST"
    replicas: int = 1
    max_bytes: int = 1 << 30
    max_age_s: float = 0
    ack_wait_s: float = 30
    publish_timeout_s: float = 5.0  # one attempt; append tries at most publish_attempts
    publish_attempts: int = 3
    max_deliveries: int = 5  # an entry delivered this often without being stored is poison
    state_interval_s: float = 1.0
    pending_bytes: int = 8 * 1024 * 1024  # the client's buffer while reconnecting: bounded

    @property
    def subject(self) -> str:
        return f"{self.stream}.entries"

    @property
    def servers(self) -> list[str]:
        return [u.strip() for u in self.url.split(",") if u.strip()]


@dataclass(frozen=True, slots=True)
class StreamState:
    """One sample of the stream and its consumer for ``/health/ready`` and ``/metrics``."""

    connected: bool = False
    messages: int = 0  # entries not yet acked by a writer (work queue)
    bytes: int = 0
    consumer_pending: int = 0  # not yet delivered to any writer
    consumer_ack_pending: int = 0  # delivered, not yet acked (being written)
    redelivered: int = 0


async def connect(options: NatsOptions, name: str) -> Client:
    """A client that reconnects forever, with a bounded pending buffer while it does."""

    async def on_error(exc: Exception) -> None:
        log.warning("NATS: %s", exc)

    async def on_disconnect() -> None:
        log.warning("NATS: disconnected; ingest answers 503 until it reconnects")

    async def on_reconnect() -> None:
        log.warning("NATS: reconnected")

    try:
        return await nats.connect(
            servers=options.servers, name=name, connect_timeout=2,
            allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            pending_size=options.pending_bytes, ping_interval=5, max_outstanding_pings=2,
            error_cb=on_error, disconnected_cb=on_disconnect, reconnected_cb=on_reconnect,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        raise ConfigError(
            f"Cannot connect to NATS at {options.url} ({exc.__class__.__name__}: {exc}):"
            " start nats-server -js there, or set PULSE_NATS_URL"
        ) from exc


def stream_config(options: NatsOptions) -> StreamConfig:
    return StreamConfig(
        name=options.stream, subjects=[options.subject],
        retention=RetentionPolicy.WORK_QUEUE, discard=DiscardPolicy.NEW,
        max_bytes=options.max_bytes, max_age=options.max_age_s or None,
        storage=StorageType.FILE, num_replicas=options.replicas,
        duplicate_window=DUPLICATE_WINDOW_S,
    )


def consumer_config(options: NatsOptions) -> ConsumerConfig:
    # max_deliver stays unlimited: the queue itself dead-letters an entry delivered
    # max_deliveries times (with its reason) and terminates it; a server-side limit would
    # leave it in the stream, undelivered and unexplained.
    return ConsumerConfig(
        durable_name=CONSUMER, ack_policy=AckPolicy.EXPLICIT,
        ack_wait=options.ack_wait_s, max_ack_pending=-1,
    )


async def ensure_stream(js: JetStreamContext, options: NatsOptions) -> None:
    """Create the stream, or bring an existing one to the configured bounds."""
    config = stream_config(options)
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError as exc:  # exists with another config: update it
        try:
            await js.update_stream(config)
        except nats.js.errors.APIError as update_exc:
            raise ConfigError(
                f"NATS stream {options.stream} exists with settings that cannot be changed"
                f" ({update_exc.description or exc.description}); fix PULSE_NATS_* or the stream"
            ) from update_exc
    except (TimeoutError, nats.errors.Error) as exc:
        raise ConfigError(
            f"Cannot create the NATS stream {options.stream} at {options.url} ({exc!r}):"
            " is JetStream enabled (nats-server -js)?"
        ) from exc


async def sample(js: JetStreamContext, nc: Client, options: NatsOptions) -> StreamState:
    """The stream's and the consumer's state now (raises the client's errors)."""
    info = await js.stream_info(options.stream)
    pending = ack_pending = redelivered = 0
    try:
        consumer = await js.consumer_info(options.stream, CONSUMER)
        pending, ack_pending = consumer.num_pending or 0, consumer.num_ack_pending or 0
        redelivered = consumer.num_redelivered or 0
    except nats.js.errors.NotFoundError:  # no writer has started yet
        pending = info.state.messages
    return StreamState(nc.is_connected, info.state.messages, info.state.bytes,
                       pending, ack_pending, redelivered)


def publish_error(exc: Exception, options: NatsOptions) -> Exception:
    """What a failed publish means for the client: full (Overloaded) or try again (Retryable)."""
    if isinstance(exc, nats.js.errors.APIError):
        text = (exc.description or "").lower()
        if "maximum" in text or "resources" in text or "storage" in text:
            return Overloaded(
                f"the NATS stream {options.stream} is full ({exc.description})",
                retry_after=RETRY_AFTER_FULL_S,
            )
        return Retryable(f"NATS JetStream refused the entry ({exc.description})",
                         retry_after=RETRY_AFTER_S)
    return Retryable("Ingest stream unavailable (NATS unreachable or no acknowledgement), "
                     "retry later", retry_after=RETRY_AFTER_S)
