"""The values passed between the layers: the two record kinds Pulse Bridge stores, OTLP metric
points, and what authentication yields (:class:`ApiKeyInfo`, :class:`ProjectAccess`).

A :class:`TraceRecord` is one LLM API call; a :class:`SpanRecord` is one piece of agent activity
(tool use, agent run, prompt, session lifecycle); a :class:`MetricPoint` is one OTLP data point.
All are frozen and typed, built by ``mapping`` (from native JSON or OTLP) and consumed by
``storage``. JSON-valued fields hold plain Python JSON values (dict/list/str/int/float/bool/None)
that are already safe for PostgreSQL ``jsonb`` (no NUL characters, no lone surrogates):
``mapping.jsonsafe.clean_json`` guarantees that (or :class:`RawJson` text, already cleaned).

This module imports nothing from the project (docs/architecture.md §Dependency rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias
from uuid import UUID

JSON: TypeAlias = Any
"""A decoded JSON value (dict, list, str, int, float, bool or None)."""


class RawJson(str):
    """JSON text that is already serialized and clean (no NUL, no lone surrogates).

    Inside the ingest pipeline a record's JSON-valued fields (bodies, tool input/output, error,
    metadata) may hold a ``RawJson`` instead of the decoded value: the mapping workers serialize
    message bodies once, the queue carries the text, and storage writes it as is, so the writer
    never decodes and re-encodes kilobytes of messages per span.
    """

    __slots__ = ()

TraceStatus = Literal["success", "error"]

SPAN_KINDS: tuple[str, ...] = (
    "tool_use",
    "agent_run",
    "session",
    "user_prompt",
    "llm_response",
    "notification",
)
SPAN_SOURCES: tuple[str, ...] = (
    # native agent hooks
    "claude_code",
    "codex",
    "opencode",
    "openclaw",
    # OTel-derived spans: the convention family they were mapped from (docs/mapping.md §Targets)
    "otel_genai",
    "openinference",
    "openllmetry",
    "vercel_ai",
    "pydantic_ai",
)
COST_SOURCES: tuple[str, ...] = ("client", "provider", "computed")


@dataclass(frozen=True, slots=True)
class OtelIdentity:
    """Where an OTel-derived record came from, so a whole OTel trace can be rebuilt
    (docs/mapping.md §Targets).

    Ids are lowercase hex as on the wire (32 chars for trace ids, 16 for span ids).
    """

    trace_id: str | None = None
    span_id: str | None = None
    parent_span_id: str | None = None
    service_name: str | None = None


NO_OTEL = OtelIdentity()


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One LLM call (docs/api.md §Trace item; row shape §Trace row)."""

    trace_id: UUID
    timestamp: datetime  # timezone-aware
    provider: str
    model_requested: str
    request_body: dict[str, JSON]
    status: TraceStatus
    latency_ms: float
    model_used: str | None = None
    provider_request_id: str | None = None
    response_body: dict[str, JSON] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    output_text: str | None = None
    finish_reason: str | None = None
    error: dict[str, JSON] | None = None
    cost_cents: Decimal | None = None
    session_id: str | None = None
    metadata: dict[str, JSON] = field(default_factory=dict)
    otel: OtelIdentity = NO_OTEL
    assembly: dict[str, int] | None = None
    """Record assembly: this piece's precedence rank for the fields it knows less well than a
    complete record (e.g. ``{"timestamp": 0, "latency_ms": 0}`` for a log event of a span);
    None for an ordinary record. Stored in a hidden column (docs/mapping.md)."""


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One piece of agent activity (docs/api.md §Span item; row shape §Span row)."""

    span_id: UUID
    session_id: str
    timestamp: datetime  # timezone-aware
    source: str
    kind: str
    event_type: str
    parent_span_id: UUID | None = None
    duration_ms: float | None = None
    status: str | None = None
    tool_use_id: str | None = None
    tool_name: str | None = None
    tool_input: JSON = None
    tool_response: JSON = None
    error: JSON = None
    is_interrupt: bool | None = None
    cwd: str | None = None
    model: str | None = None
    agent_name: str | None = None
    metadata: dict[str, JSON] = field(default_factory=dict)
    otel: OtelIdentity = NO_OTEL
    assembly: dict[str, int] | None = None  # as TraceRecord.assembly


Record: TypeAlias = TraceRecord | SpanRecord

TRACE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TraceRecord))
SPAN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(SpanRecord))


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One OTLP metric data point (stored for charts; never turned into traces)."""

    timestamp: datetime
    name: str
    value: float
    attributes: dict[str, JSON]
    temporality: str | None = None  # "delta" | "cumulative" | None (gauges)
    unit: str | None = None
    service_name: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What authenticating an API key yields: the project every read and write is scoped to."""

    key_id: UUID
    project_id: UUID


@dataclass(frozen=True, slots=True)
class ProjectAccess:
    """A signed-in user's access to one project (dashboard routes): same ``project_id`` scoping
    as :class:`ApiKeyInfo`, plus who and with which role (``admin`` | ``user``)."""

    project_id: UUID
    user_id: UUID
    role: str
