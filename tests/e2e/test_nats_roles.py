"""Roles on the ``nats`` queue backend (issue 14): ``--role writer`` serves only health and
metrics and refuses to start on the ``file`` queue; an ``--role ingest`` node publishes what the
writer stores, and when NATS is gone its readiness names NATS and ingest answers 503 with
``Retry-After`` (OTLP gRPC: ``UNAVAILABLE``)."""

from __future__ import annotations

import subprocess
import uuid

import grpc
import httpx
import psycopg
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.factories import span_item
from tests.support.cli import CLI, clean_env, free_port
from tests.support.nats_nodes import Node, create_database, drop_database, wait_until
from tests.support.nats_server import NatsServer
from tests.support.otlp import decode, fixture


@pytest.fixture
def database():
    url = create_database("pulse_nats_roles")
    yield url
    drop_database(url)


def test_writer_role_needs_nats(database, tmp_path):
    env = clean_env(free_port())
    env["DATABASE_URL"] = database
    done = subprocess.run([CLI, "--data-dir", str(tmp_path / "d"), "serve", "--role", "writer"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode != 0
    assert "writer needs PULSE_QUEUE_BACKEND=nats" in done.stdout + done.stderr


def test_writer_serves_health_and_metrics_only_and_ingest_only_publishes(database, tmp_path):
    nats = NatsServer(tmp_path / "nats")
    stream = f"S{uuid.uuid4().hex[:10]}"
    writer = Node("writer", database, nats.url, stream, tmp_path / "w")
    grpc_port = free_port()
    ingest = Node("ingest", database, nats.url, stream, tmp_path / "i", extra_env={
        "PULSE_GRPC_ENABLED": "true", "PULSE_GRPC_ENDPOINT": f"127.0.0.1:{grpc_port}"})
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    export = trace_service_pb2_grpc.TraceServiceStub(channel).Export
    otlp = decode(fixture("01-"), "protobuf")[1]
    try:
        headers = {"Authorization": f"Bearer {writer.key}"}
        assert httpx.get(writer.url + "/health").status_code == 200
        # the default 1 MiB max_payload is below the default 20 MiB body limit: said at start-up
        assert "larger ingest requests get 413" in "".join(ingest.lines)
        assert "max_payload" not in "".join(writer.lines)  # a writer receives nothing
        ready = httpx.get(writer.url + "/health/ready")
        assert ready.status_code == 200
        # readiness shows the stream's state, not only failures
        state = ready.json()["queue"]
        assert state["backend"] == "nats" and state["connected"] is True
        assert {"entries", "bytes", "maxBytes", "consumerPending", "ackPending",
                "redelivered"} <= state.keys()
        assert "pulse_nats_consumer_pending" in httpx.get(writer.url + "/metrics").text
        for path in ("/v1/spans/async", "/v1/traces/async"):
            r = httpx.post(writer.url + path, json=[span_item()], headers=headers)
            assert r.status_code in (404, 405)
        assert httpx.get(writer.url + "/v1/spans", headers=headers).status_code in (404, 405)

        spans = [span_item() for _ in range(5)]
        r = httpx.post(ingest.url + "/v1/spans/async", json=spans, headers=headers)
        assert r.status_code == 202, r.text

        def stored() -> int:
            with psycopg.connect(database) as conn:
                return conn.execute("SELECT count(*) FROM pulse.spans").fetchone()[0]

        assert wait_until(lambda: stored() == 5, 30), "the writer did not store the entry"
        grpc_auth = (("authorization", f"Bearer {writer.key}"),)
        export(otlp, metadata=grpc_auth, timeout=10)  # OTLP gRPC through the stream: accepted
        nats.stop()
        assert wait_until(
            lambda: httpx.get(ingest.url + "/health/ready").status_code == 503, 15)
        body = httpx.get(ingest.url + "/health/ready").json()
        assert any("NATS" in reason for reason in body["reasons"])
        assert body["queue"]["backend"] == "nats" and body["queue"]["connected"] is False
        r = httpx.post(ingest.url + "/v1/spans/async", json=[span_item()], headers=headers)
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert "NATS unreachable" in r.json()["error"]
        metrics = httpx.get(ingest.url + "/metrics").text
        assert 'pulse_ingest_rejected_total{reason="unavailable"} 1.0' in metrics
        with pytest.raises(grpc.RpcError) as failed:
            export(otlp, metadata=grpc_auth, timeout=10)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE  # retryable, not a hang
    finally:
        channel.close()
        ingest.stop()
        writer.stop()
        nats.stop()
