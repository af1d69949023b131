"""Record assembly with a real client (issue 12): ``opentelemetry-instrumentation-openai-v2``
2.4b0 in ``event_only`` content mode, whose traces and logs went out through separate exporters
(captured in tests/data/otlp/captures, see its README). The chat span carries the timing and the
usage, the ``gen_ai.client.inference.operation.details`` log event the messages; replayed over
OTLP/HTTP in the captured order and reversed, each export written on its own or together, the
rows are the same and each has the span's latency and the log's content."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.otlp import PROTO, comparable, drained, partial, rows, wait_rows

CAPTURES = Path(__file__).parents[1] / "data" / "otlp" / "captures"


def _exports(scenario: str) -> list[tuple[str, bytes]]:
    files = sorted((CAPTURES / scenario).glob("*.pb"))
    return [(f"/v1/{'logs' if 'logs' in f.name else 'traces'}", f.read_bytes()) for f in files]


async def _replay(http, pipeline, project, exports, one_by_one: bool) -> list[dict]:
    headers = {**project.headers, "Content-Type": PROTO}
    for route, body in exports:
        r = await http.post(route, content=body, headers=headers)
        assert r.status_code == 200, r.text
        assert not partial(r), partial(r)
        if one_by_one:  # each export in its own writer batch
            await drained(pipeline)
    await drained(pipeline)
    traces, _ = await wait_rows(http, project, 4, 0)
    return traces


@pytest.mark.parametrize("scenario", ["openai-v2-2.4b0-event-only-batch",
                                      "openai-v2-2.4b0-event-only-simple"])
async def test_details_events_merge_into_their_span_in_any_order(http, pool, pipeline, scenario):
    from tests.conftest import make_project

    exports = _exports(scenario)
    results = []
    for order, one_by_one in ((exports, True), (exports[::-1], True), (exports[::-1], False)):
        project = await make_project(pool, scenario)
        await _replay(http, pipeline, project, order, one_by_one)
        await _replay(http, pipeline, project, order, False)  # redelivery changes nothing
        results.append(comparable(await rows(http, project, "traces"), "traceId"))
    for other in results[1:]:
        assert [{k: v for k, v in r.items() if k != "ingestedAt"} for r in other] == \
               [{k: v for k, v in r.items() if k != "ingestedAt"} for r in results[0]]
    traces = results[0]
    assert len(traces) == 4
    for t in traces:
        assert t["latencyMs"] > 0, t  # the span's timing, not the log's 0
        assert t["requestBody"]["messages"], t  # the log's content
        assert t["finishReason"] in ("stop", "tool_calls"), t
        assert t["inputTokens"] and t["costCents"]
    texts = [t["outputText"] for t in traces if t["finishReason"] == "stop"]
    assert len(texts) == 3 and all(texts)
