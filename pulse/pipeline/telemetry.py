"""Prometheus metrics of the ingest path (``GET /metrics``), on a registry per service instance.

Every accepted item (by signal: traces, spans, metric_points), every rejection (by reason), every
dead-lettered record, the queue's depth and bytes, write batch sizes and latencies and the
ingest-to-commit lag. (Named ``telemetry`` so that no two modules of the project are called
``metrics``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter(
            "pulse_ingest_accepted", "Items accepted (durable) by signal", ["signal"], registry=r
        )
        self.rejected = Counter(
            "pulse_ingest_rejected", "Items refused before acceptance, by reason", ["reason"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "pulse_dead_lettered", "Records the database refused, parked in pulse.dead_letters",
            ["kind"], registry=r,
        )
        self.written = Counter(
            "pulse_written_records",
            "Records and metric points written to the database (new or already present)",
            registry=r,
        )
        self.write_retries = Counter(
            "pulse_write_retries", "Batch writes retried after a retryable database error",
            registry=r,
        )
        self.batch_records = Histogram(
            "pulse_write_batch_records", "Records and metric points per database write batch",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000), registry=r,
        )
        self.write_seconds = Histogram(
            "pulse_write_seconds", "Duration of one database write batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r,
        )
        self.commit_lag = Histogram(
            "pulse_ingest_commit_lag_seconds", "From durable acceptance to database commit",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=r,
        )
        self.queue_depth = Gauge("pulse_queue_depth", "Entries not yet written", registry=r)
        self.queue_bytes = Gauge("pulse_queue_bytes", "Bytes not yet written", registry=r)
        self.queue_max_bytes = Gauge("pulse_queue_max_bytes", "Queue bound in bytes", registry=r)

    def track_queue(self, depth: Callable[[], float], used: Callable[[], float], bound: float):
        self.queue_depth.set_function(depth)
        self.queue_bytes.set_function(used)
        self.queue_max_bytes.set(bound)

    def track_stream(self, state: Callable[[], Any]) -> None:
        """The NATS stream's last sample (``queue.StreamState``), registered only with the
        ``nats`` backend: whether this node is connected, what no writer has received yet
        (consumer lag), what writers hold un-acked, and how often entries were redelivered."""
        for name, doc, attr in (
            ("pulse_nats_connected", "1 when connected to NATS", "connected"),
            ("pulse_nats_consumer_pending", "Stream entries not yet delivered to a writer",
             "consumer_pending"),
            ("pulse_nats_consumer_ack_pending", "Entries delivered to writers, not yet acked",
             "consumer_ack_pending"),
            ("pulse_nats_redelivered", "Entries delivered more than once (writer lost)",
             "redelivered"),
        ):
            gauge = Gauge(name, doc, registry=self.registry)
            gauge.set_function(lambda attr=attr: float(getattr(state(), attr)))

    def render(self) -> bytes:
        return generate_latest(self.registry)
