"""Random ingest bodies (Hypothesis, and deterministic mutations of valid items) never yield a
500: every answer is 202 or a 4xx with the JSON error shape."""

from __future__ import annotations

import asyncio
import json
import random
import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import span_item, trace_item
from tests.support.native import (
    INGEST_ROUTES,
    JSON_CT,
    body_for,
    call,
    raw,
)

# ---- random JSON (hypothesis) --------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
FIELD_NAMES = sorted(set(trace_item()) | set(span_item()))
items_with_random_fields = st.lists(
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=12), max_size=5
)
bodies = json_values | items_with_random_fields | st.lists(
    st.builds(lambda base, extra: {**base, **extra},
              st.sampled_from([trace_item(), span_item()]),
              st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=3)),
    min_size=1, max_size=3,
)


def run_hypothesis_check(server: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:

        @settings(max_examples=50, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(route=st.sampled_from(INGEST_ROUTES), body=bodies)
        def check(route: str, body) -> None:
            data = json.dumps(body, ensure_ascii=True).encode()
            r = client.post(route, content=data, headers={**headers, **JSON_CT})
            assert r.status_code in (202, 400, 413, 415), (r.status_code, r.text, data[:500])
            if r.status_code != 202:
                assert isinstance(r.json().get("error"), str)

        check()


async def test_random_json_never_500(server, project):
    await asyncio.to_thread(run_hypothesis_check, server, project.headers)


async def test_random_valid_items_with_mutations(http, project):
    """Deterministic fuzz: valid items with one field replaced by a random odd value."""
    rng = random.Random(1234)
    odd = [None, True, False, 0, -1, 1.5, -0.0, 2**63, 2**64, "", " ", "\u0000", "\ud800",
           "x" * 300, [], {}, [None], {"": None}, "2026-01-25T12:00:00Z", str(uuid.uuid4())]
    for _ in range(60):
        route = rng.choice(INGEST_ROUTES)
        item = body_for(route)[0]
        field = rng.choice(sorted(item) + ["extra", "trace_id", "span_id"])
        item[field] = rng.choice(odd)
        r = await call(http, route, project.headers, content=raw([item]))
        assert r.status_code in (202, 400), (route, field, item[field], r.text)
        if r.status_code == 400:
            assert r.json()["error"] == "Validation failed"
            assert r.json()["details"][0]["field"] == field
