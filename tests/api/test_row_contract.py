"""Every route that returns rows answers exactly what ``/openapi.json`` declares for it.

One project is seeded through the real server with rows of every shape: native traces and spans
(every optional field set, and none set) through ``/v1/{traces,spans}/batch``, OTel-derived ones
from every golden OTLP fixture (``tests/data/otlp``) posted as OTLP/JSON, and a GenAI agent run
exported by the real OpenTelemetry SDK. Each answer of each row-returning route (``/v1`` with an
API key, ``/dashboard/api`` with a session) is validated against the document's schema for that
route and status, with the row schemas closed (``additionalProperties: false``): the published
document leaves them open because the API contract lets later versions add keys, but this
version must return exactly the declared keys.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import pytest_asyncio
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.accounts_fixtures import new_key, sign_up
from tests.factories import span_item, trace_item
from tests.helpers import eventually

DATA = Path(__file__).resolve().parents[1] / "data" / "otlp"
ROW_SCHEMAS = ("TraceRow", "SpanRow")
PREFIXES = ("/v1", "/dashboard/api")

MINIMAL_TRACE = ("trace_id", "timestamp", "provider", "model_requested", "request_body", "status",
                 "latency_ms")
MINIMAL_SPAN = ("span_id", "session_id", "timestamp", "source", "kind", "event_type")


def native_items() -> tuple[list[dict], list[dict]]:
    full = trace_item(cost_cents=0.75, error=None)
    failed = trace_item(status="error", error={"type": "rate_limit", "message": "slow down"},
                        response_body=None, output_text=None, session_id="native-err")
    minimal = {k: v for k, v in trace_item().items() if k in MINIMAL_TRACE}
    spans = [
        span_item(parent_span_id=str(uuid.uuid4()), is_interrupt=False,
                  error={"code": 1}, session_id="native-spans"),
        span_item(tool_input="a string", tool_response=[1, "two", None], error="failed",
                  status="error", is_interrupt=True, session_id="native-spans"),
        {k: v for k, v in span_item().items() if k in MINIMAL_SPAN},
    ]
    return [full, failed, minimal], spans


def otlp_fixtures() -> list[tuple[str, bytes, dict]]:
    """(route, OTLP/JSON body, expected file) for every golden trace and log fixture."""
    out = []
    for path in sorted(DATA.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        body = path.read_bytes()
        signal = "traces" if b'"resourceSpans"' in body else (
            "logs" if b'"resourceLogs"' in body else "metrics")
        if signal != "metrics":
            expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
            out.append((f"/v1/{signal}", body, expected))
    return out


def export_with_the_sdk(endpoint: str, key: str) -> None:
    """A GenAI chat call inside an agent run, through the SDK's OTLP/HTTP exporter."""
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces",
                                headers={"Authorization": f"Bearer {key}"})
    provider = TracerProvider(resource=Resource.create({"service.name": "row-contract"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.api.row_contract")
    with tracer.start_as_current_span("invoke_agent helper") as agent:
        agent.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "h",
                              "gen_ai.conversation.id": "sdk-conv"})
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 3, "gen_ai.conversation.id": "sdk-conv",
            })
    assert provider.force_flush(10_000)
    provider.shutdown()


class Seeded:
    def __init__(self, account, key: str) -> None:
        self.account, self.key = account, key
        self.batches: dict[str, Any] = {}  # POST /v1/{traces,spans}/batch answers
        self.trace_ids: set[str] = set()
        self.span_ids: set[str] = set()

    def headers(self, prefix: str) -> dict[str, str]:
        if prefix == "/v1":
            return {"Authorization": f"Bearer {self.key}"}
        return self.account.scoped


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(server: str, http) -> Seeded:
    account = await sign_up(server, project="rows")
    s = Seeded(account, await new_key(account))
    auth = s.headers("/v1")
    traces, spans = native_items()
    for kind, items in (("traces", traces), ("spans", spans)):
        r = await http.post(f"/v1/{kind}/batch", json=items, headers=auth)
        assert r.status_code == 202, r.text
        s.batches[kind] = r
    s.trace_ids = {t["trace_id"] for t in traces}
    s.span_ids = {t["span_id"] for t in spans}
    for route, body, expected in otlp_fixtures():
        r = await http.post(route, content=body,
                            headers={**auth, "Content-Type": "application/json"})
        assert r.status_code == 200, (route, r.text)
        s.trace_ids |= {t["trace_id"] for t in expected.get("traces", [])}
        s.span_ids |= {t["span_id"] for t in expected.get("spans", [])}
    await asyncio.to_thread(export_with_the_sdk, server, s.key)

    async def stored(kind: str) -> list[dict]:
        return (await http.get(f"/v1/{kind}?limit=1000", headers=auth)).json()[kind]

    sdk = await eventually(lambda: stored("traces"),
                           lambda rows: any(r["serviceName"] == "row-contract" for r in rows))
    assert any(r["serviceName"] == "row-contract" for r in sdk)
    for kind, ids, key in (("traces", s.trace_ids, "traceId"), ("spans", s.span_ids, "spanId")):
        rows = await eventually(lambda k=kind: stored(k),
                                lambda rows, ids=ids, key=key: ids <= {r[key] for r in rows})
        assert ids <= {r[key] for r in rows}, f"{kind} missing from the store"
    yield s
    await account.client.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def document(http) -> dict:
    return (await http.get("/openapi.json")).json()


def validator(document: dict, path: str, method: str, status: str):
    """The document's schema for one answer, with the row schemas closed."""
    components = copy.deepcopy(document["components"])
    for name in ROW_SCHEMAS:
        components["schemas"][name]["additionalProperties"] = False
    schema = document["paths"][path][method]["responses"][status]["content"]["application/json"]
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema["schema"],
            "components": components}
    return jsonschema_rs.validator_for(root, validate_formats=True)


def check(document: dict, path: str, method: str, response) -> Any:
    body = response.json()
    errors = [f"{e.instance_path}: {e.message}" for e in
              validator(document, path, method, str(response.status_code)).iter_errors(body)]
    assert errors == [], f"{method.upper()} {path} ({response.request.url}):\n" + "\n".join(
        errors[:20])
    return body


async def get(seeded: Seeded, prefix: str, url: str):
    client = seeded.account.client
    r = await client.get(prefix + url, headers=seeded.headers(prefix))
    assert r.status_code == 200, (url, r.text)
    return r


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("kind", ["traces", "spans"])
async def test_lists_and_single_rows_match_the_document(seeded, document, prefix, kind):
    listed = check(document, f"{prefix}/{kind}", "get",
                   await get(seeded, prefix, f"/{kind}?limit=1000"))[kind]
    ids = seeded.trace_ids if kind == "traces" else seeded.span_ids
    key, param = ("traceId", "trace_id") if kind == "traces" else ("spanId", "span_id")
    assert ids <= {row[key] for row in listed}
    for row_id in sorted(ids):
        one = check(document, f"{prefix}/{kind}/{{{param}}}", "get",
                    await get(seeded, prefix, f"/{kind}/{row_id}"))
        assert one == next(row for row in listed if row[key] == row_id)


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_session_rows_match_the_document(seeded, document, prefix):
    listed = {kind: (await get(seeded, "/v1", f"/{kind}?limit=1000")).json()[kind]
              for kind in ("traces", "spans")}
    for kind, suffix in (("traces", ""), ("spans", "/spans")):
        sessions = sorted({row["sessionId"] for row in listed[kind] if row["sessionId"]})
        assert len(sessions) >= 3, sessions
        for session in sessions:
            r = await get(seeded, prefix, f"/sessions/{session}{suffix}")
            body = check(document, f"{prefix}/sessions/{{session_id}}{suffix}", "get", r)
            assert body[kind] and all(row["sessionId"] == session for row in body[kind])


@pytest.mark.parametrize("kind", ["traces", "spans"])
async def test_batch_answers_match_the_document(seeded, document, kind):
    body = check(document, f"/v1/{kind}/batch", "post", seeded.batches[kind])
    assert body["count"] == len(body[kind]) == 3


def nullable(prop: dict) -> bool:
    if "enum" in prop:
        return None in prop["enum"]
    return "type" not in prop or "null" in prop["type"]  # no type: any JSON value


@pytest.mark.parametrize("kind", ["traces", "spans"])
async def test_the_seed_covers_every_key_with_and_without_a_value(seeded, document, kind):
    """The checks above are only as good as the rows: every nullable key is seen both null and
    set, so a wrong type on either side of any column would have been caught."""
    rows = (await get(seeded, "/v1", f"/{kind}?limit=1000")).json()[kind]
    schema = document["components"]["schemas"]["TraceRow" if kind == "traces" else "SpanRow"]
    for key, prop in schema["properties"].items():
        values = [row[key] for row in rows]
        assert any(v is not None for v in values), f"{key} never has a value"
        if nullable(prop):
            assert any(v is None for v in values), f"{key} is never null"


async def test_closed_row_schemas_refuse_an_undeclared_key(document):
    """The validator used above really rejects a key the document does not declare."""
    row = {"traceId": str(uuid.uuid4()), "unexpected": 1}
    errors = [e.message for e in
              validator(document, "/v1/traces/{trace_id}", "get", "200").iter_errors(row)]
    assert any("unexpected" in e for e in errors), errors
