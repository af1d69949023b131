"""Entry points: decoded OTLP export requests -> Pulse records, one function per OTLP signal.

``map_traces`` / ``map_logs`` / ``map_metrics`` are what the transports call after decoding
(:mod:`pulse.mapping.otlp.decode`). They never raise for bad content: invalid items are counted
in ``rejected``, items that are neither an LLM call nor agent activity in ``dropped``, each with
a short reason for the OTLP ``partial_success.error_message``. An unexpected exception while
mapping one item (a bug) rejects that item only, is logged, and is kept in ``errors`` so that
tests can see it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pulse.mapping.classify import apply_aggregate_guard, classify_span
from pulse.mapping.families import codex
from pulse.mapping.families import registry as families
from pulse.mapping.families.base import DROP, FOLD, TRACE, Decision
from pulse.mapping.families.claude_code import logs as claude_code_logs
from pulse.mapping.families.claude_code import spans as claude_code_spans
from pulse.mapping.families.otel_genai import DETAILS_EVENT, LEGACY_EVENTS
from pulse.mapping.merge import LOG_OF_SPAN
from pulse.mapping.otlp.items import Item, Rejects, log_items, span_items
from pulse.mapping.otlp_metrics import map_metric_points
from pulse.mapping.span_builder import build_span
from pulse.mapping.trace_builder import build_trace
from pulse.records import MetricPoint, SpanRecord, TraceRecord

log = logging.getLogger(__name__)

DROPPED_SPANS = "spans that are neither LLM calls nor agent activity were dropped"
DROPPED_LOGS = "log records that are neither LLM calls nor agent activity were dropped"
LEGACY_LOGS = (
    "deprecated GenAI per-message log events cannot be joined to their span and were dropped "
    "(send them as span events, or use gen_ai.client.inference.operation.details)"
)
LogMapper = Callable[[list[Item]], tuple[list[TraceRecord], list[SpanRecord], int]]
# family name -> mapper of all its log records of one export (detection: registry order)
_LOG_MAPPERS: dict[str, LogMapper] = {
    "claude_code": claude_code_logs.map_claude_code_logs,
    "codex": codex.map_codex_logs,
}


@dataclass(frozen=True)
class MappingResult:
    """Records made from one export request, plus what could not be used and why.

    ``errors`` lists unexpected exceptions (mapping bugs) met while mapping single items; each
    such item is also counted in ``rejected``. It is empty whenever the mapping is correct.
    """

    traces: list[TraceRecord] = field(default_factory=list)
    spans: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0
    dropped: int = 0
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MetricsResult:
    """Metric points of one export request; ``errors`` as in :class:`MappingResult`."""

    points: list[MetricPoint] = field(default_factory=list)
    rejected: int = 0
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def map_traces(req: ExportTraceServiceRequest, *, keep_generic: bool = False) -> MappingResult:
    """OTLP spans -> traces (leaf LLM calls) and spans (agent activity)."""
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
        except Exception as exc:  # never fail a batch for one span
            log.warning("OTLP span could not be mapped", exc_info=True)
            rejects.failed("span", exc)
    dropped += claude_code_spans.orphan_folds(items, decisions, folds)
    messages = rejects.reasons + ([DROPPED_SPANS] if dropped else [])
    return MappingResult(traces, spans, rejects.count, dropped, messages, rejects.errors)


def _trace_for(item: Item, family: str, by_span: dict[str, Item]) -> TraceRecord:
    if family == "claude_code":
        return claude_code_spans.build_llm_request(item, by_span)
    return build_trace(item, family, by_span)


def _span_for(item: Item, decision: Decision, by_span: dict[str, Item],
              folds: claude_code_spans.Folds) -> SpanRecord:
    if decision.family == "claude_code":
        return claude_code_spans.build_span(item, decision, by_span, folds)
    return build_span(item, decision, by_span)


def map_logs(req: ExportLogsServiceRequest) -> MappingResult:
    """OTLP log records: each family's events (Claude Code, Codex), GenAI details events."""
    rejects = Rejects()
    groups: dict[str, list[Item]] = {name: [] for name in _LOG_MAPPERS}
    details, legacy, other = [], [], 0
    for item in log_items(req, rejects):
        family = _log_family(item)
        if family is not None:
            groups[family].append(item)
        elif _event_name(item) == DETAILS_EVENT:
            details.append(item)
        elif _event_name(item) in LEGACY_EVENTS:
            legacy.append(item)
        else:
            other += 1
    traces: list[TraceRecord] = []
    spans: list[SpanRecord] = []
    dropped = other + len(legacy)
    for family, group in groups.items():
        if not group:
            continue
        try:
            more_traces, more_spans, more_dropped = _LOG_MAPPERS[family](group)
        except Exception as exc:
            log.warning("OTLP log records could not be mapped", exc_info=True)
            rejects.failed("log records", exc, len(group))
            continue
        traces += more_traces
        spans += more_spans
        dropped += more_dropped
    for item in details:
        try:
            trace = build_trace(item, "otel_genai", {})
            if item.trace_id and item.span_id:  # a piece of its span's row (record assembly)
                trace = replace(trace, assembly=LOG_OF_SPAN)
            traces.append(trace)
        except Exception as exc:
            log.warning("OTLP log record could not be mapped", exc_info=True)
            rejects.failed("log record", exc)
    messages = rejects.reasons + ([LEGACY_LOGS] if legacy else [])
    messages += [DROPPED_LOGS] if dropped - len(legacy) > 0 else []
    return MappingResult(traces, spans, rejects.count, dropped, messages, rejects.errors)


def _log_family(item: Item) -> str | None:
    for family in families.LOG_DETECTION_ORDER:
        if family.detect_log is not None and family.detect_log(item):
            return family.name
    return None


def _event_name(item: Item) -> str:
    if item.name:
        return item.name
    return item.body if isinstance(item.body, str) else ""


def map_metrics_result(req: ExportMetricsServiceRequest) -> MetricsResult:
    """OTLP metric data points -> MetricPoints (stored for charts, never traces)."""
    rejects = Rejects()
    try:
        points = map_metric_points(req, rejects)
    except Exception as exc:
        log.warning("OTLP metrics could not be mapped", exc_info=True)
        failed = Rejects()
        failed.failed("metrics", exc)
        return MetricsResult([], failed.count, failed.reasons, failed.errors)
    return MetricsResult(points, rejects.count, rejects.reasons, rejects.errors)


def map_metrics(req: ExportMetricsServiceRequest) -> tuple[list[MetricPoint], int, list[str]]:
    """(points, rejected count, reasons): :func:`map_metrics_result` for the transports."""
    result = map_metrics_result(req)
    return result.points, result.rejected, result.messages
