"""Issue 15 acceptance 4 (search): ``q=`` on ``GET /v1/traces`` finds a trace by a word of its
prompt or output, on ``GET /v1/spans`` a span by a word of its tool input or output, with exact
totals, never another project's rows; a huge document stays storable and searchable."""

from __future__ import annotations

from tests.factories import span_item, trace_item


async def _seed(http, project, word: str) -> tuple[dict, dict]:
    trace = trace_item(output_text=f"The invoice {word} was refunded.",
                       request_body={"messages": [{"role": "user", "parts": [
                           {"type": "text", "content": "Why was I charged twice?"}]}]})
    other = trace_item(output_text="Nothing to see here.")
    span = span_item(tool_input={"command": f"grep -rn {word}-marker src/"},
                     tool_response={"stdout": "src/a.py:1: match\nsrc/b.py:2: other",
                                    "stderr": "grep: warning"})
    assert (await http.post("/v1/traces/batch", json=[trace, other],
                            headers=project.headers)).is_success
    assert (await http.post("/v1/spans/batch", json=[span, span_item()],
                            headers=project.headers)).is_success
    return trace, span


async def test_search_traces_and_spans(http, project, other_project):
    trace, span = await _seed(http, project, "zebracorn")
    await _seed(http, other_project, "zebracorn")  # the same words in another project
    get = lambda kind, **p: http.get(f"/v1/{kind}", params=p,  # noqa: E731
                                     headers=project.headers)
    r = (await get("traces", q="zebracorn")).json()
    assert [t["traceId"] for t in r["traces"]] == [trace["trace_id"]] and r["total"] == 1
    r = (await get("traces", q="charged twice")).json()  # a prompt in the GenAI parts format
    assert [t["traceId"] for t in r["traces"]] == [trace["trace_id"]]
    r = (await get("traces", q="Refunded", limit=1, offset=0)).json()  # case-insensitive
    assert r["total"] == 1
    r = (await get("spans", q="zebracorn-marker")).json()  # a word of the tool input
    assert [s["spanId"] for s in r["spans"]] == [span["span_id"]] and r["total"] == 1
    r = (await get("spans", q="warning")).json()  # a word of the tool output (stderr)
    assert [s["spanId"] for s in r["spans"]] == [span["span_id"]]
    assert (await get("traces", q="nothing-like-this")).json()["total"] == 0
    r = (await get("traces", q="zebracorn", provider="openai", limit=1, offset=1)).json()
    assert (r["traces"], r["total"]) == ([], 1)  # total counted over the search too
    for bad in ('"', "-", "a | | b", "!!!", "(", "x" * 256):
        assert (await get("traces", q=bad)).status_code == 200, bad
    assert (await get("traces", q="x" * 257)).status_code == 400
    assert (await get("spans", q="a\x00b")).status_code == 400


async def test_huge_documents_stay_storable(http, project):
    words = " ".join(f"w{i}" for i in range(60_000))  # ~400 KB of distinct words
    big = trace_item(output_text=words + " needleword",
                     request_body={"messages": [{"role": "user", "content": "first"}]})
    r = await http.post("/v1/traces/batch", json=[big], headers=project.headers)
    assert r.is_success, r.text
    r = await http.get("/v1/traces", params={"q": "w5"}, headers=project.headers)
    assert r.json()["total"] == 1  # early words are indexed; the document is cut, not refused


async def test_common_words_take_the_time_ordered_path(http, project, other_project,
                                                        monkeypatch):
    """Above ``SEARCH_BITMAP_MAX`` matches the page comes from the newest-first walk: same
    answers (the server runs in this process, so the bound can be lowered here)."""
    from pulse.storage import queries
    trace, span = await _seed(http, project, "quagga")
    await _seed(http, other_project, "quagga")
    answers = []
    for bound in (5000, 0):
        monkeypatch.setattr(queries, "SEARCH_BITMAP_MAX", bound)
        t = (await http.get("/v1/traces", params={"q": "quagga"},
                            headers=project.headers)).json()
        s = (await http.get("/v1/spans", params={"q": "quagga-marker", "limit": 1},
                            headers=project.headers)).json()
        answers.append(([x["traceId"] for x in t["traces"]], t["total"],
                        [x["spanId"] for x in s["spans"]], s["total"]))
    assert answers[0] == answers[1] == ([trace["trace_id"]], 1, [span["span_id"]], 1)
