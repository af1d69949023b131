"""One normalised view (:class:`Item`) of an OTLP span or log record, with its resource and scope.

Every convention family reads Items, never protobuf. ``Item.attrs`` holds the span's (or log
record's) attributes over its scope's; ``Item.merged`` adds the resource's underneath (item wins).
Invalid items (missing or all-zero ids, unusable timestamps) are counted in :class:`Rejects` with
a short reason and never reach the families.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pulse.mapping.attrs import as_str
from pulse.mapping.otlp.anyvalue import any_value, attributes
from pulse.mapping.otlp.ids import hex_id
from pulse.mapping.timestamps import parse_rfc3339, valid_unix_nanos

STATUS_ERROR = 2  # OTLP Status.StatusCode.STATUS_CODE_ERROR


@dataclass(slots=True)
class Event:
    """A span event (name, time, attributes)."""

    name: str
    time_ns: int
    attrs: dict[str, Any]


@dataclass(slots=True)
class Item:
    """A span or a log record, ready for classification and mapping."""

    trace_id: str | None
    span_id: str | None
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attrs: dict[str, Any]  # span/log attributes over scope attributes
    resource: dict[str, Any]
    service_name: str | None = None  # the resource's service.name (read once per resource)
    scope_name: str = ""
    scope_version: str = ""
    kind: int = 0
    events: list[Event] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""
    body: Any = None
    is_log: bool = False
    clamped: bool = False  # end was before start: clamped to start, the item is kept

    @property
    def merged(self) -> dict[str, Any]:
        """All attributes, precedence item > scope > resource."""
        return {**self.resource, **self.attrs}

    @property
    def duration_ms(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1_000_000


@dataclass(slots=True)
class Rejects:
    """Counted rejections with short deduplicated reasons (OTLP partial_success), and the
    unexpected exceptions among them (``errors``: mapping bugs, which tests assert never happen)."""

    count: int = 0
    reasons: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, reason: str, n: int = 1) -> None:
        self.count += n
        if reason not in self.reasons:
            self.reasons.append(reason)

    def failed(self, what: str, exc: Exception, n: int = 1) -> None:
        """``n`` items could not be mapped because of ``exc``: rejected (the batch goes on), and
        the exception kept in ``errors`` so that it is never silent."""
        self.add(f"{what} could not be mapped ({type(exc).__name__})", n)
        self.errors.append(f"{what}: {type(exc).__name__}: {exc}"[:500])


def span_items(req: ExportTraceServiceRequest, rejects: Rejects) -> Iterator[Item]:
    """Every valid span of the request as an Item; invalid ones are counted in ``rejects``."""
    for rs in req.resource_spans:
        resource = attributes(rs.resource.attributes)
        service = as_str(resource.get("service.name"))
        for ss in rs.scope_spans:
            scope = attributes(ss.scope.attributes)
            for span in ss.spans:
                item = _span_item(span, resource, service, scope, ss.scope, rejects)
                if item is not None:
                    yield item


def _span_item(span: Any, resource: dict, service: str | None, scope: dict, sc: Any,
               rejects: Rejects) -> Item | None:
    trace_id, span_id = hex_id(span.trace_id, 16), hex_id(span.span_id, 8)
    if trace_id is None or span_id is None:
        rejects.add("span without a valid traceId/spanId")
        return None
    start, end = span.start_time_unix_nano, span.end_time_unix_nano or span.start_time_unix_nano
    if not valid_unix_nanos(start) or not valid_unix_nanos(end):
        rejects.add("span with a missing or out-of-range start/end time")
        return None
    events = [
        Event(ev.name, ev.time_unix_nano, attributes(ev.attributes)) for ev in span.events
    ]
    return Item(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=hex_id(span.parent_span_id, 8),
        name=span.name,
        start_ns=start,
        end_ns=max(end, start),
        clamped=end < start,
        attrs={**scope, **attributes(span.attributes)},
        resource=resource,
        service_name=service,
        scope_name=sc.name,
        scope_version=sc.version,
        kind=span.kind,
        events=events,
        status_code=span.status.code,
        status_message=span.status.message,
    )


def log_items(req: ExportLogsServiceRequest, rejects: Rejects) -> Iterator[Item]:
    """Every usable log record as an Item (ids optional; a time is required)."""
    for rl in req.resource_logs:
        resource = attributes(rl.resource.attributes)
        service = as_str(resource.get("service.name"))
        for sl in rl.scope_logs:
            scope = attributes(sl.scope.attributes)
            for rec in sl.log_records:
                attrs = {**scope, **attributes(rec.attributes)}
                time_ns = _log_time(rec, attrs)
                if time_ns is None:
                    rejects.add("log record with a missing or out-of-range time")
                    continue
                yield Item(
                    trace_id=hex_id(rec.trace_id, 16),
                    span_id=hex_id(rec.span_id, 8),
                    parent_id=None,
                    name=as_str(attrs.get("event.name")) or rec.event_name or "",
                    start_ns=time_ns,
                    end_ns=time_ns,
                    attrs=attrs,
                    resource=resource,
                    service_name=service,
                    scope_name=sl.scope.name,
                    scope_version=sl.scope.version,
                    body=any_value(rec.body),
                    is_log=True,
                )


def _log_time(rec: Any, attrs: dict[str, Any]) -> int | None:
    """``timeUnixNano`` -> ``observedTimeUnixNano`` -> ``event.timestamp`` (RFC 3339 text)."""
    for nanos in (rec.time_unix_nano, rec.observed_time_unix_nano):
        if nanos:
            return nanos if valid_unix_nanos(nanos) else None
    text = as_str(attrs.get("event.timestamp"))
    if text:
        try:
            stamp = parse_rfc3339(text)
        except ValueError:
            return None
        nanos = int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000
        return nanos if valid_unix_nanos(nanos) else None
    return None
