"""Entry points: decoded OTLP export requests -> Pulse records (MAPPING.md §8-§12).

``map_traces`` / ``map_logs`` / ``map_metrics`` are what the transports call after decoding
(``otlp.decode_*_request``). They never raise for bad content: invalid items are counted in
``rejected``, items that are neither an LLM call nor agent activity in ``dropped`` (SPEC.md §5),
each with a short reason for the OTLP ``partial_success.error_message``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pulse.mapping import claude_code, claude_code_spans, codex
from pulse.mapping.classify import DROP, FOLD, TRACE, apply_aggregate_guard, classify_span
from pulse.mapping.genai import DETAILS_EVENT, LEGACY_EVENTS
from pulse.mapping.metric_points import map_metric_points
from pulse.mapping.otlp.items import Item, Rejects, log_items, span_items
from pulse.mapping.spans import build_span
from pulse.mapping.traces import build_trace
from pulse.records import MetricPoint, SpanRecord, TraceRecord

log = logging.getLogger(__name__)

DROPPED_SPANS = "spans that are neither LLM calls nor agent activity were dropped"
DROPPED_LOGS = "log records that are neither LLM calls nor agent activity were dropped"
LEGACY_LOGS = (
    "deprecated GenAI per-message log events cannot be joined to their span and were dropped "
    "(send them as span events, or use gen_ai.client.inference.operation.details)"
)


@dataclass(frozen=True)
class MappingResult:
    """Records made from one export request, plus what could not be used and why."""

    traces: list[TraceRecord] = field(default_factory=list)
    spans: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0
    dropped: int = 0
    messages: list[str] = field(default_factory=list)


def map_traces(req: ExportTraceServiceRequest, *, keep_generic: bool = False) -> MappingResult:
    """OTLP spans -> traces (leaf LLM calls) and spans (agent activity), §9 classification."""
    rejects = Rejects()
    items = list(span_items(req, rejects))
    index: dict[str | None, dict[str, Item]] = defaultdict(dict)
    for item in items:
        index[item.trace_id][item.span_id or ""] = item
    decisions = [classify_span(item, keep_generic=keep_generic) for item in items]
    decisions = apply_aggregate_guard(items, decisions)
    folds = claude_code_spans.collect_folds(items, decisions)
    traces: list[TraceRecord] = []
    spans: list[SpanRecord] = []
    dropped = 0
    for item, decision in zip(items, decisions, strict=True):
        if decision.target == DROP:
            dropped += 1
            continue
        if decision.target == FOLD:
            continue  # folded into its parent claude_code.tool span (or counted there)
        by_span = index[item.trace_id]
        try:
            if decision.target == TRACE:
                traces.append(_trace_for(item, decision.family, by_span))
            else:
                spans.append(_span_for(item, decision, by_span, folds))
        except Exception as exc:  # never fail a batch for one span (MAPPING.md §7)
            log.warning("OTLP span could not be mapped", exc_info=True)
            rejects.add(f"span could not be mapped ({type(exc).__name__})")
    dropped += claude_code_spans.orphan_folds(items, decisions, folds)
    messages = rejects.reasons + ([DROPPED_SPANS] if dropped else [])
    return MappingResult(traces, spans, rejects.count, dropped, messages)


def _trace_for(item: Item, family: str, by_span: dict[str, Item]) -> TraceRecord:
    if family == "claude_code":
        return claude_code_spans.build_llm_request(item, by_span)
    return build_trace(item, family, by_span)


def _span_for(item, decision, by_span, folds) -> SpanRecord:  # noqa: ANN001 - internal
    if decision.family == "claude_code":
        return claude_code_spans.build_span(item, decision, by_span, folds)
    return build_span(item, decision, by_span)


def map_logs(req: ExportLogsServiceRequest) -> MappingResult:
    """OTLP log records: Claude Code events, Codex events, GenAI details events (§9 rules 2-3)."""
    rejects = Rejects()
    items = list(log_items(req, rejects))
    cc_items, codex_items, details, legacy, other = [], [], [], [], 0
    for item in items:
        if claude_code.is_claude_code_log(item):
            cc_items.append(item)
        elif codex.is_codex_log(item):
            codex_items.append(item)
        elif _event_name(item) == DETAILS_EVENT:
            details.append(item)
        elif _event_name(item) in LEGACY_EVENTS:
            legacy.append(item)
        else:
            other += 1
    traces: list[TraceRecord] = []
    spans: list[SpanRecord] = []
    dropped = other + len(legacy)
    for mapper, group in ((claude_code.map_claude_code_logs, cc_items),
                          (codex.map_codex_logs, codex_items)):
        if not group:
            continue
        try:
            more_traces, more_spans, more_dropped = mapper(group)
        except Exception as exc:
            log.warning("OTLP log records could not be mapped", exc_info=True)
            rejects.add(f"log records could not be mapped ({type(exc).__name__})", len(group))
            continue
        traces += more_traces
        spans += more_spans
        dropped += more_dropped
    for item in details:
        try:
            traces.append(build_trace(item, "otel_genai", {}))
        except Exception as exc:
            rejects.add(f"log record could not be mapped ({type(exc).__name__})")
    messages = rejects.reasons + ([LEGACY_LOGS] if legacy else [])
    messages += [DROPPED_LOGS] if dropped - len(legacy) > 0 else []
    return MappingResult(traces, spans, rejects.count, dropped, messages)


def _event_name(item: Item) -> str:
    if item.name:
        return item.name
    return item.body if isinstance(item.body, str) else ""


def map_metrics(req: ExportMetricsServiceRequest) -> tuple[list[MetricPoint], int, list[str]]:
    """OTLP metric data points -> MetricPoints (stored for charts, never traces: §0.1)."""
    rejects = Rejects()
    try:
        points = map_metric_points(req, rejects)
    except Exception as exc:
        log.warning("OTLP metrics could not be mapped", exc_info=True)
        return [], 1, [f"metrics could not be mapped ({type(exc).__name__})"]
    return points, rejects.count, rejects.reasons
