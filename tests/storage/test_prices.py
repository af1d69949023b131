"""Acceptance 2: cost against known genai-prices values (cache tokens included), a client cost
wins, and custom per-project / config prices fill in for models genai-prices does not know."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pulse.records import TraceRecord
from pulse.storage import analytics, prices, writer
from tests.conftest import make_project
from tests.factories import trace_item

T0 = datetime(2026, 1, 25, 12, tzinfo=UTC)
RANGE = {"date_from": "2026-01-25T00:00:00Z", "date_to": "2026-01-25T23:59:59.999Z"}


async def _batch(http, project, items) -> list[dict]:
    r = await http.post("/v1/traces/batch", json=items, headers=project.headers)
    assert r.status_code == 202, r.text
    return r.json()["traces"]


@pytest.mark.parametrize(
    ("fields", "cents"),
    [
        # gpt-4o: $2.50 / $10 per million, cached input $1.25
        ({"provider": "openai", "model_requested": "gpt-4o", "model_used": "gpt-4o"}, 0.75),
        ({"provider": "openai", "model_requested": "gpt-4o", "model_used": "gpt-4o",
          "metadata": {"cache_read_input_tokens": 400}}, 0.70),
        # claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 cache write
        ({"provider": "anthropic", "model_requested": "claude-sonnet-4-5", "model_used": None,
          "input_tokens": 10000, "output_tokens": 1000,
          "metadata": {"cache_read_input_tokens": 4000, "cache_creation_input_tokens": 2000}},
         3.57),
    ],
)
async def test_computed_cost_matches_genai_prices(http, project, fields, cents):
    (row,) = await _batch(http, project, [trace_item(**fields)])
    assert row["costCents"] == pytest.approx(cents)
    assert row["metadata"]["cost_source"] == "computed"
    r = await http.get("/v1/analytics", params=RANGE, headers=project.headers)
    assert r.json()["totalCost"] == pytest.approx(cents)


async def test_client_cost_wins(http, project):
    (row,) = await _batch(http, project, [trace_item(cost_cents=12.5)])
    assert row["costCents"] == 12.5
    assert row["metadata"]["cost_source"] == "client"
    r = await http.get("/v1/analytics", params=RANGE, headers=project.headers)
    assert r.json()["totalCost"] == 12.5


async def test_custom_project_price_for_an_unknown_model(http, project, other_project, pool):
    price = prices.ModelPrice("acme-llm-1", Decimal(1), Decimal(2), cache_read_per_mtok=Decimal(0))
    await prices.set_price(pool, project.id, price)
    item = dict(model_requested="acme-llm-1", model_used=None, provider="openai")
    (row,) = await _batch(http, project, [trace_item(**item)])
    # 1000 input at $1/M + 500 output at $2/M = $0.002 = 0.2 cents
    assert row["costCents"] == pytest.approx(0.2)
    assert row["metadata"]["cost_source"] == "computed"
    assert row["metadata"]["price_source"] == "custom"
    cached = trace_item(**item, metadata={"cache_read_input_tokens": 1000})
    (row,) = await _batch(http, project, [cached])
    assert row["costCents"] == pytest.approx(0.1)  # cached input free at this price
    (elsewhere,) = await _batch(http, other_project, [trace_item(**item)])
    assert elsewhere["costCents"] is None  # another project's price does not apply
    client = trace_item(**item, cost_cents=7)
    (row,) = await _batch(http, project, [client])
    assert row["costCents"] == 7


async def test_config_prices_apply_to_every_project_and_project_rows_win(pool, tmp_path: Path):
    a, b = await make_project(pool), await make_project(pool)
    model = f"cfg-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "prices.yaml"
    path.write_text(f"- model: {model}\n  input_per_mtok: 10\n  output_per_mtok: 20\n")
    await prices.sync_config_prices(pool, prices.load_prices_file(path))
    await prices.set_price(pool, b.id, prices.ModelPrice(model, Decimal(0), Decimal(1)))
    for p in (a, b):
        rec = TraceRecord(uuid.uuid4(), T0, "openai", model, {}, "success", 5.0,
                          input_tokens=1000, output_tokens=1000)
        await writer.write_records(pool, [(p.id, rec)])
    q = analytics.AnalyticsQuery(T0, T0)
    assert (await analytics.llm_analytics(pool, a.id, q))["totalCost"] == pytest.approx(3.0)
    assert (await analytics.llm_analytics(pool, b.id, q))["totalCost"] == pytest.approx(0.1)
    assert [p.model for p in await prices.list_prices(pool, b.id)].count(model) == 2
    await prices.sync_config_prices(pool, [])
    assert await prices.delete_price(pool, b.id, model)


def test_prices_file_is_validated(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("- model: x\n  input_per_mtok: 1\n")
    with pytest.raises(ValueError, match="required"):
        prices.load_prices_file(path)
