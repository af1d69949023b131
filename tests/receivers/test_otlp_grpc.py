"""OTLP/gRPC receiver (docs/otlp.md): a real ``grpc.aio`` channel against :class:`GrpcReceiver` -
Export of every signal, authentication, partial success, gzip, size limit, malformed requests,
status codes for throttling and failures, and rows identical to the HTTP transport's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import tests.conftest as shared
from pulse.api.deps import KeyAuthenticator
from pulse.errors import Retryable
from pulse.receivers.otlp_grpc import GrpcReceiver
from pulse.records import ApiKeyInfo
from pulse.storage.metric_points import list_metric_points
from tests.mapping.golden import decode, expected_path
from tests.support.otlp import (
    FIXTURES,
    PROTO,
    body_of,
    comparable,
    drained,
    fixture,
    full_ingestor,
    generic_span_request,
    post,
    rows,
    wait_rows,
)

STUBS = {
    "traces": trace_service_pb2_grpc.TraceServiceStub,
    "logs": logs_service_pb2_grpc.LogsServiceStub,
    "metrics": metrics_service_pb2_grpc.MetricsServiceStub,
}


@pytest_asyncio.fixture(loop_scope="session")
async def channel(grpc_target: str) -> AsyncIterator[grpc.aio.Channel]:
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    async with grpc.aio.insecure_channel(grpc_target, options=options) as ch:
        yield ch


def auth(project) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {project.key}"),)


async def export(channel, path, metadata, **kwargs) -> Any:
    signal, req = decode(path, "protobuf")
    return await STUBS[signal](channel).Export(req, metadata=metadata, timeout=20, **kwargs)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
async def test_every_fixture_exports(channel, http, pool, pipeline, project, path):
    expected = json.loads(expected_path(path).read_text())
    resp = await export(channel, path, auth(project))
    counts = expected["counts"]
    if expected["signal"] == "metrics":  # durable in the queue, then stored by the writer loop
        await drained(pipeline)
        assert len(await list_metric_points(pool, project.id)) == counts["metrics"]
        return
    bad = counts["rejected"] + counts["dropped"]
    assert resp.HasField("partial_success") == bool(bad) or resp.partial_success.error_message
    await wait_rows(http, project, counts["traces"], counts["spans"])


@pytest.mark.parametrize("prefix", ["01-", "06-", "13-"])
async def test_grpc_and_http_give_identical_rows(channel, http, pool, prefix):
    path = fixture(prefix)
    counts = json.loads(expected_path(path).read_text())["counts"]
    a, b = await shared.make_project(pool), await shared.make_project(pool)
    await export(channel, path, auth(a))
    route, body = body_of(path, PROTO)
    assert (await post(http, b, route, body)).status_code == 200
    got_a = await wait_rows(http, a, counts["traces"], counts["spans"])
    got_b = await wait_rows(http, b, counts["traces"], counts["spans"])
    assert comparable(got_a[0], "traceId") == comparable(got_b[0], "traceId")
    assert comparable(got_a[1], "spanId") == comparable(got_b[1], "spanId")


async def test_partial_success(channel, http, project):
    resp = await export(channel, fixture("13-"), auth(project))
    assert resp.partial_success.rejected_spans == 4
    assert "dropped" in resp.partial_success.error_message
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    resp = await stub.Export(generic_span_request(), metadata=auth(project), timeout=10)
    assert resp.partial_success.rejected_spans == 1


async def test_gzip_compression(channel, http, project):
    await export(channel, fixture("01-"), auth(project), compression=grpc.Compression.Gzip)
    await wait_rows(http, project, 2, 2)


async def test_empty_request_succeeds(channel, project):
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    resp = await stub.Export(ExportTraceServiceRequest(), metadata=auth(project), timeout=10)
    assert not resp.HasField("partial_success")


@pytest.mark.parametrize(("metadata", "message"), [
    ((), "Missing or invalid Authorization header"),
    ((("authorization", "Basic abc"),), "Missing or invalid Authorization header"),
    ((("authorization", "Bearer pulse_sk_unknown"),), "Invalid API key"),
])
async def test_unauthenticated(channel, metadata, message):
    for prefix in ("01-", "06-", "09-"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await export(channel, fixture(prefix), metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.value.details() == message


# --- receivers of our own: size limit and failure paths ------------------------------------------


def _receiver(ingestor, authenticate, max_bytes=1 << 20) -> GrpcReceiver:
    return GrpcReceiver(ingestor, authenticate, host="127.0.0.1", port=0,
                        max_message_bytes=max_bytes)


async def test_message_over_limit_is_resource_exhausted(pool, pipeline, project):
    receiver = _receiver(pipeline.ingestor, KeyAuthenticator(pool).check, max_bytes=64 * 1024)
    async with receiver, grpc.aio.insecure_channel(f"127.0.0.1:{receiver.port}") as ch:
        big = ExportTraceServiceRequest()
        span = big.resource_spans.add().scope_spans.add().spans.add()
        span.name = "x" * (100 * 1024)
        stub = trace_service_pb2_grpc.TraceServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Export(big, metadata=auth(project), timeout=10)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # the server is still fine afterwards
        resp = await stub.Export(ExportTraceServiceRequest(), metadata=auth(project), timeout=10)
        assert not resp.HasField("partial_success")


async def _anyone(token: str) -> ApiKeyInfo:
    return ApiKeyInfo(key_id=UUID(int=1), project_id=UUID(int=2))


async def _db_down(token: str) -> ApiKeyInfo:
    raise Retryable("Database unavailable, retry later", retry_after=2)


async def _bug(token: str) -> ApiKeyInfo:
    raise RuntimeError("boom")


def retry_delay(err: grpc.aio.AioRpcError) -> int | None:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status()
            st.ParseFromString(value)
            assert st.code == err.code().value[0]
            for detail in st.details:
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    return info.retry_delay.seconds
    return None


async def _call(receiver: GrpcReceiver, prefix: str) -> grpc.aio.AioRpcError:
    async with receiver, grpc.aio.insecure_channel(f"127.0.0.1:{receiver.port}") as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await export(ch, fixture(prefix), (("authorization", "Bearer pulse_sk_x"),))
        return err.value


@pytest.mark.parametrize("prefix", ["01-", "06-", "09-"])  # traces, logs, metrics
async def test_queue_full_is_unavailable_with_retry_info(prefix: str):
    ingestor = await full_ingestor()
    err = await _call(_receiver(ingestor, _anyone), prefix)
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert retry_delay(err) >= 1
    assert ingestor.metrics.rejected.labels("queue_full")._value.get() > 0


async def test_auth_database_down_is_unavailable():
    err = await _call(_receiver(await full_ingestor(), _db_down), "06-")
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert retry_delay(err) == 2


async def test_unexpected_failure_is_internal_not_unknown():
    err = await _call(_receiver(await full_ingestor(), _bug), "01-")
    assert err.code() == grpc.StatusCode.INTERNAL
    assert retry_delay(err) is None


async def test_logs_sent_to_trace_service_are_rejected_not_stored(channel, http, project):
    _, logs = decode(fixture("06-"), "protobuf")
    as_traces = ExportTraceServiceRequest()
    as_traces.ParseFromString(logs.SerializeToString())  # same field numbers, id-less "spans"
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    resp = await stub.Export(as_traces, metadata=auth(project), timeout=10)
    assert resp.partial_success.rejected_spans > 0
    assert await rows(http, project, "traces") == []


# --- the request bytes are parsed once, by the mapping worker ------------------------------------


def _raw_export(channel, service: str):
    """Export with the request as raw bytes (no client-side serialization)."""
    return channel.unary_unary(
        f"/{service}/Export",
        request_serializer=lambda body: body,
        response_deserializer=ExportTraceServiceResponse.FromString,
    )


@pytest.mark.parametrize("service", [
    "opentelemetry.proto.collector.trace.v1.TraceService",
    "opentelemetry.proto.collector.logs.v1.LogsService",
    "opentelemetry.proto.collector.metrics.v1.MetricsService",
])
async def test_malformed_request_is_invalid_argument(channel, pipeline, project, service):
    before = pipeline.metrics.rejected.labels("otlp_malformed")._value.get()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _raw_export(channel, service)(b"\x0a\xff\xff garbage", metadata=auth(project),
                                            timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid" in err.value.details().lower()
    assert pipeline.metrics.rejected.labels("otlp_malformed")._value.get() == before + 1


async def test_raw_bytes_and_stub_exports_store_the_same_rows(channel, http, pool):
    path = fixture("01-")
    counts = json.loads(expected_path(path).read_text())["counts"]
    a, b = await shared.make_project(pool), await shared.make_project(pool)
    _, body = body_of(path, PROTO)
    resp = await _raw_export(channel, "opentelemetry.proto.collector.trace.v1.TraceService")(
        body, metadata=auth(a), timeout=10)
    assert isinstance(resp, ExportTraceServiceResponse)
    await export(channel, path, auth(b))
    got_a = await wait_rows(http, a, counts["traces"], counts["spans"])
    got_b = await wait_rows(http, b, counts["traces"], counts["spans"])
    assert comparable(got_a[0], "traceId") == comparable(got_b[0], "traceId")
    assert comparable(got_a[1], "spanId") == comparable(got_b[1], "spanId")
