"""One cost rule for every path: a reported cost within range wins, else the computed one; a cost
above ``MAX_COST_CENTS`` (a unit mistake or absurd token counts) is dropped, never stored."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pulse.mapping import map_logs, map_traces, traces_from_json
from pulse.mapping.cost import MAX_COST_CENTS, NOT_REPORTED, Cost, to_cents, trace_cost
from pulse.mapping.usage import make_usage
from tests.factories import trace_item
from tests.mapping.otlp_builders import log_records, one_span

AT = datetime(2026, 1, 25, 12, tzinfo=UTC)
CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 500}
API_REQUEST = {"event.name": "api_request", "session.id": "s1", "request_id": "req_1",
               "model": "claude-sonnet-4-5", "input_tokens": "100", "output_tokens": "50",
               "duration_ms": "900"}


def test_otlp_reported_cost_wins_when_in_range():
    (t,) = map_traces(one_span({**CHAT, "gen_ai.usage.cost": 0.02})).traces
    assert t.cost_cents == Decimal("2") and t.metadata["cost_source"] == "provider"


def test_otlp_reported_cost_above_cap_is_dropped_and_computed_instead():
    (t,) = map_traces(one_span({**CHAT, "gen_ai.usage.cost": 1e30})).traces
    assert t.cost_cents == Decimal("0.75") and t.metadata["cost_source"] == "computed"


def test_otlp_absurd_computed_cost_is_dropped():
    huge = {**CHAT, "gen_ai.usage.input_tokens": 2**62, "gen_ai.usage.output_tokens": 2**62}
    result = map_traces(one_span(huge))
    (t,) = result.traces
    assert t.cost_cents is None and "cost_source" not in t.metadata
    assert t.metadata["cost_missing"] == "out_of_range"
    assert t.input_tokens == 2**62  # the counts themselves are kept


def test_claude_code_client_cost_above_cap_does_not_lose_the_export():
    result = map_logs(log_records({**API_REQUEST, "cost_usd": "1e30"}))
    assert result.rejected == 0
    (t,) = result.traces
    assert t.metadata["cost_source"] == "computed" and t.cost_cents < 1


def test_claude_code_client_cost_in_range_wins():
    (t,) = map_logs(log_records({**API_REQUEST, "cost_usd": "0.0123"})).traces
    assert t.cost_cents == Decimal("1.23") and t.metadata["cost_source"] == "client"


def test_native_and_otlp_price_anthropic_native_usage_alike():
    """Anthropic's input excludes the cache: both paths add it, once, by the same rule."""
    body = {"usage": {"input_tokens": 100, "cache_read_input_tokens": 2000,
                      "cache_creation_input_tokens": 300}}
    (native,) = traces_from_json([trace_item(
        provider="anthropic", model_requested="claude-sonnet-4-5", model_used=None,
        input_tokens=100, output_tokens=50, response_body=body)])
    (otlp,) = map_logs(log_records({**API_REQUEST, "cache_read_tokens": "2000",
                                    "cache_creation_tokens": "300"})).traces
    assert otlp.input_tokens == 2400
    assert native.cost_cents == otlp.cost_cents
    assert native.metadata["cost_source"] == otlp.metadata["cost_source"] == "computed"


class Book:
    """A custom price book: one model, priced per million tokens."""

    def rates(self, provider, model):
        if model != "house-model":
            return None
        return {"input_mtok": Decimal("2"), "output_mtok": Decimal("8"),
                "cache_read_mtok": None}


def test_custom_price_book_prices_models_genai_prices_does_not_know():
    usage = make_usage(1_000_000, 500_000, cache_read=400_000)
    # 600k uncached + 400k cache read (absent rate: priced as input) at $2/M, 500k out at $8/M
    book = trace_cost(NOT_REPORTED, "openai", "house-model", None, usage, AT, Book())
    assert (book.cents, book.source) == (Decimal("600"), "computed")
    assert trace_cost(NOT_REPORTED, "openai", "house-model", None, usage, AT).cents is None
    # genai-prices comes first: a known model ignores the book
    known = trace_cost(NOT_REPORTED, "openai", "gpt-4o", None, usage, AT, Book())
    assert known == trace_cost(NOT_REPORTED, "openai", "gpt-4o", None, usage, AT)


def test_reported_cost_is_used_only_when_usable():
    usage = make_usage(1000, 500)
    assert trace_cost((Decimal("3"), "client"), "openai", "gpt-4o", None, usage, AT) == Cost(
        Decimal("3"), "client")
    for bad in (Decimal(-1), Decimal(MAX_COST_CENTS + 1), Decimal("NaN")):
        assert trace_cost((bad, "client"), "openai", "gpt-4o", None, usage, AT) == Cost(
            Decimal("0.75"), "computed")
    assert to_cents(Decimal("1e400")) is None and to_cents(Decimal(MAX_COST_CENTS)) is not None
