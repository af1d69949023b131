"""Native ingest cost (docs/api.md §Native cost): computed, client-supplied and provider costs,
cache tokens priced at their own rates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import Usage, calc_price

from tests.factories import trace_item

AT = datetime(2026, 1, 25, 12, tzinfo=UTC)



async def test_cost_computed_for_known_model(http, project):
    item = trace_item(metadata={"env": "x"})
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    assert row["costCents"] == 0.75
    assert row["metadata"] == {"env": "x", "cost_source": "computed"}


async def test_client_cost_wins(http, project):
    item = trace_item(cost_cents=12.5)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    assert row["costCents"] == 12.5
    assert row["metadata"]["cost_source"] == "client"


async def test_provider_cost_source_kept(http, project):
    item = trace_item(cost_cents=3, metadata={"cost_source": "provider"})
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    assert row["costCents"] == 3
    assert row["metadata"]["cost_source"] == "provider"


async def test_unknown_model_has_no_cost(http, project):
    item = trace_item(model_requested="totally-unknown-model-xyz", model_used=None)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    assert row["costCents"] is None
    assert "cost_source" not in row["metadata"]


async def test_no_tokens_no_cost(http, project):
    item = trace_item(input_tokens=None, output_tokens=None)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.json()["traces"][0]["costCents"] is None


def cents(usage: Usage, model: str, provider: str) -> Decimal:
    price = calc_price(usage, model, provider_id=provider, genai_request_timestamp=AT)
    return (Decimal(price.total_price) * 100).quantize(Decimal("0.000001"))


async def test_anthropic_cache_tokens_priced_at_cache_rates(http, project):
    usage = {"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 2000,
             "cache_creation_input_tokens": 300}
    item = trace_item(
        provider="anthropic", model_requested="claude-sonnet-4-5", model_used=None,
        input_tokens=100, output_tokens=50, response_body={"usage": usage},
    )
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    row = r.json()["traces"][0]
    expected = cents(Usage(input_tokens=2400, output_tokens=50, cache_read_tokens=2000,
                           cache_write_tokens=300), "claude-sonnet-4-5", "anthropic")
    naive = cents(Usage(input_tokens=100, output_tokens=50), "claude-sonnet-4-5", "anthropic")
    assert expected != naive
    assert Decimal(str(row["costCents"])) == expected
    assert row["metadata"]["cost_source"] == "computed"


async def test_openai_cached_tokens_priced_at_cache_rate(http, project):
    item = trace_item(
        input_tokens=1000, output_tokens=500,
        response_body={"usage": {"prompt_tokens": 1000, "completion_tokens": 500,
                                 "prompt_tokens_details": {"cached_tokens": 800}}},
    )
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    expected = cents(Usage(input_tokens=1000, output_tokens=500, cache_read_tokens=800),
                     "gpt-4o-2024-08-06", "openai")
    assert Decimal(str(row["costCents"])) == expected
    assert row["costCents"] != 0.75
