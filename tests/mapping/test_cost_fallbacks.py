"""Cost fallbacks (issue 16): a model without a price is priced under ``model_requested``, then
under a normalised name (date suffix, ``provider/`` prefix, configured deployment aliases); when
no cost can be had, ``metadata.cost_missing`` says why. One rule on the native and OTLP paths,
checked through the real HTTP routes (POST /v1/traces/batch, OTLP/HTTP /v1/traces)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from pulse.config import load_settings
from pulse.main import build_app, ingest_pipeline
from pulse.mapping import decode_traces_request, map_traces, traces_from_json
from pulse.mapping.cost import model_aliases, normalised_names
from pulse.storage import prices
from tests.conftest import settings_for
from tests.factories import trace_item
from tests.helpers import eventually
from tests.mapping.otlp_builders import one_span
from tests.support.otlp import serve

PROTO = {"Content-Type": "application/x-protobuf"}
GPT4O = Decimal("0.75")  # 1000 input + 500 output tokens of gpt-4o ($2.50 / $10 per M)
ALIASES = (("my-gpt4o-deployment", "gpt-4o"),)


def otlp_chat(requested: str | None, used: str | None, provider: str = "openai", **extra):
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
             "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500, **extra}
    if requested:
        attrs["gen_ai.request.model"] = requested
    if used:
        attrs["gen_ai.response.model"] = used
    return one_span(attrs)


# (provider, model_requested, model_used, priced under)
CASES = [
    ("openai", "gpt-4o", "gpt-4o-2024-07-18", "gpt-4o"),  # the case: requested priced
    ("openai", "gpt-4o-2024-07-18", "gpt-4o-2024-07-18", "gpt-4o"),  # date suffix stripped
    ("openai", "gpt-4o-20240718", None, "gpt-4o"),
    ("openai", "gpt-4o@2024-07-18", None, "gpt-4o"),
    ("openai", "openai/gpt-4o", "openai/gpt-4o", "gpt-4o"),  # OpenRouter-style prefix
    ("openai", "openai/gpt-4o-2024-07-18", None, "gpt-4o"),  # both
]


def test_normalised_names():
    assert normalised_names("gpt-4o-2024-07-18") == ["gpt-4o-2024-07-18", "gpt-4o"]
    assert normalised_names("claude-3-5-sonnet-20241022") == [
        "claude-3-5-sonnet-20241022", "claude-3-5-sonnet"]
    assert normalised_names("claude-3-5-sonnet@20241022")[-1] == "claude-3-5-sonnet"
    assert normalised_names("openai/gpt-4o") == ["openai/gpt-4o", "gpt-4o"]
    assert normalised_names("gpt-4o") == ["gpt-4o"]
    with model_aliases(ALIASES):
        assert normalised_names("My-GPT4o-Deployment") == ["My-GPT4o-Deployment", "gpt-4o"]
        assert normalised_names("azure/my-gpt4o-deployment")[-1] == "gpt-4o"
    assert normalised_names("my-gpt4o-deployment") == ["my-gpt4o-deployment"]


@pytest.mark.parametrize(("provider", "requested", "used", "priced"), CASES)
def test_fallback_names_on_both_paths(provider, requested, used, priced):
    (otlp,) = map_traces(otlp_chat(requested, used, provider)).traces
    (native,) = traces_from_json([trace_item(provider=provider, model_requested=requested,
                                             model_used=used)])
    for t in (otlp, native):
        assert t.cost_cents == GPT4O, (t.model_requested, t.model_used)
        assert t.metadata["cost_source"] == "computed"
        assert t.metadata["price_model"] == priced
        assert "cost_missing" not in t.metadata


def test_price_model_absent_when_the_reported_model_is_priced():
    (t,) = map_traces(otlp_chat("gpt-4o", "gpt-4o-2024-08-06")).traces
    assert t.cost_cents == GPT4O and "price_model" not in t.metadata


def test_deployment_alias_on_both_paths():
    def both():
        (otlp,) = map_traces(otlp_chat("my-gpt4o-deployment", None, "azure.ai.openai")).traces
        (native,) = traces_from_json([trace_item(
            provider="azure", model_requested="my-gpt4o-deployment", model_used=None)])
        return otlp, native

    for t in both():
        assert t.cost_cents is None
        assert t.metadata["cost_missing"] == "unknown_model:my-gpt4o-deployment"
    with model_aliases(ALIASES):
        for t in both():
            assert t.cost_cents == GPT4O and t.metadata["price_model"] == "gpt-4o"
            assert "cost_missing" not in t.metadata


def test_cost_missing_says_why():
    (unknown,) = map_traces(otlp_chat("house-model-7", None)).traces
    assert unknown.cost_cents is None and "cost_source" not in unknown.metadata
    assert unknown.metadata["cost_missing"] == "unknown_model:house-model-7"
    (no_tokens,) = map_traces(one_span({"gen_ai.operation.name": "chat",
                                        "gen_ai.provider.name": "openai",
                                        "gen_ai.request.model": "gpt-4o"})).traces
    assert no_tokens.metadata["cost_missing"] == "no_tokens"
    (native_unknown,) = traces_from_json([trace_item(model_requested="house-model-7",
                                                     model_used="house-model-7-0301")])
    assert native_unknown.metadata["cost_missing"] == "unknown_model:house-model-7-0301"
    (native_none,) = traces_from_json([trace_item(input_tokens=None, output_tokens=None)])
    assert native_none.metadata["cost_missing"] == "no_tokens"
    (reported,) = traces_from_json([trace_item(model_requested="house-model-7", model_used=None,
                                               cost_cents=3)])
    assert reported.cost_cents == 3 and "cost_missing" not in reported.metadata


def test_alias_setting_parses_env_and_yaml(tmp_path):
    env = {"PULSE_MODEL_ALIASES": "my-gpt4o-deployment=gpt-4o, mini = gpt-4o-mini"}
    assert load_settings(env, config_file=None).model_aliases == (
        ("my-gpt4o-deployment", "gpt-4o"), ("mini", "gpt-4o-mini"))
    config = tmp_path / "otel-config.yaml"
    config.write_text("processors:\n  genai:\n    model_aliases:\n"
                      "      my-gpt4o-deployment: gpt-4o\n")
    assert load_settings({}, config_file=config).model_aliases == ALIASES


# ---- through the real routes -------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def aliased(backend, pool, tmp_path):
    """A full app whose settings carry a deployment alias, with one mapping worker process
    (the alias must reach the workers, not only the process that read the settings)."""
    settings = replace(settings_for(backend), model_aliases=ALIASES, mapping_workers=1,
                       writer_linger_ms=5)
    async with contextlib.AsyncExitStack() as stack:
        pipe = await stack.enter_async_context(ingest_pipeline(settings, pool, tmp_path / "q"))
        url = await stack.enter_async_context(
            contextlib.asynccontextmanager(serve)(build_app(settings, pool, pipe)))
        yield await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))


async def stored(http, project, count: int) -> list[dict]:
    r = await eventually(lambda: http.get("/v1/traces", params={"limit": 100},
                                          headers=project.headers),
                         lambda r: r.status_code == 200 and r.json()["total"] >= count)
    assert r.status_code == 200, r.text
    return r.json()["traces"]


@pytest.mark.parametrize(("provider", "requested", "used", "priced"), [
    *CASES, ("azure.ai.openai", "my-gpt4o-deployment", None, "gpt-4o")])
async def test_fallbacks_through_http(aliased, project, provider, requested, used, priced):
    item = trace_item(provider=provider.split(".")[0], model_requested=requested,
                      model_used=used)
    r = await aliased.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    body = otlp_chat(requested, used, provider).SerializeToString()
    r = await aliased.post("/v1/traces", content=body, headers={**project.headers, **PROTO})
    assert r.status_code == 200, r.text
    rows = await stored(aliased, project, 2)
    assert len(rows) == 2
    for row in rows:
        assert Decimal(str(row["costCents"])) == GPT4O, row
        assert row["metadata"]["price_model"] == priced
        assert "cost_missing" not in row["metadata"]


async def test_cost_missing_through_http(http, project):
    item = trace_item(model_requested="house-model-7", model_used=None)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    body = otlp_chat("house-model-7", None).SerializeToString()
    r = await http.post("/v1/traces", content=body, headers={**project.headers, **PROTO})
    assert r.status_code == 200, r.text
    rows = await stored(http, project, 2)
    assert [row["costCents"] for row in rows] == [None, None]
    assert [row["metadata"]["cost_missing"] for row in rows] == ["unknown_model:house-model-7"] * 2


async def test_custom_prices_follow_the_same_names(http, project, pool):
    """Storage's custom prices (for models genai-prices does not know) are matched under the
    reported names, then the normalised one; a custom price clears ``cost_missing``."""
    await prices.set_price(pool, project.id, prices.ModelPrice("acme-llm-1", Decimal(1),
                                                               Decimal(2)))
    items = [trace_item(provider="openai", model_requested=requested, model_used=used)
             for requested, used in (("acme-llm-1", "acme-llm-1-2025-01-01"),
                                     ("acme/acme-llm-1-20250101", None),
                                     ("acme-llm-2", None))]
    r = await http.post("/v1/traces/batch", json=items, headers=project.headers)
    assert r.status_code == 202, r.text
    exact, normalised, unknown = r.json()["traces"]
    # 1000 input at $1/M + 500 output at $2/M = $0.002 = 0.2 cents
    for row in (exact, normalised):
        assert Decimal(str(row["costCents"])) == Decimal("0.2"), row
        assert row["metadata"]["price_source"] == "custom"
        assert row["metadata"]["cost_source"] == "computed"
        assert "cost_missing" not in row["metadata"]
    assert "price_model" not in exact["metadata"]  # priced under model_requested as reported
    assert normalised["metadata"]["price_model"] == "acme-llm-1"
    assert unknown["costCents"] is None
    assert unknown["metadata"]["cost_missing"] == "unknown_model:acme-llm-2"


def test_a_reported_zero_cost_does_not_hide_a_known_price():
    """OpenLIT reports ``gen_ai.usage.cost`` 0 for models its own table lacks (real capture:
    openlit-1.36-openai): a zero beside tokens is computed when a price is known, else kept."""
    body = (Path(__file__).parents[1] / "data" / "otlp" / "captures" / "openlit-1.36-openai"
            / "02-traces.pb").read_bytes()
    traces = map_traces(decode_traces_request(body, "application/x-protobuf")).traces
    assert traces and all(t.metadata["cost_source"] == "computed" for t in traces)
    assert all(t.cost_cents > 0 for t in traces)
    (unknown,) = map_traces(otlp_chat("house-model-7", None, **{"gen_ai.usage.cost": 0.0})).traces
    assert unknown.cost_cents == 0 and unknown.metadata["cost_source"] == "provider"
    (free,) = traces_from_json([trace_item(cost_cents=0)])  # a native client's 0 is its word
    assert free.cost_cents == 0 and free.metadata["cost_source"] == "client"
