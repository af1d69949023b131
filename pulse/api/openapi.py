"""``/openapi.json`` for the whole API, matching what the routes really do.

FastAPI derives the document from route signatures. The ``/v1`` query and ingest routes read
their query strings and bodies themselves and answer raw JSON built by PostgreSQL, so their
parameters, bodies and response shapes are declared here, once, and merged into the generated
document (for ``/v1`` and for the same routers mounted under ``/dashboard/api``). Every operation
also gets the error shape ``{"error", "details"?}`` for the statuses it can answer; FastAPI's
default 422 is replaced by the 400 this API really sends.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from pulse import row_shapes

ERROR = {"$ref": "#/components/schemas/ErrorBody"}
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string"},
                   "details": {"type": "array", "items": {"type": "object"}}},
}


def _row_schema(table: tuple[row_shapes.Column, ...], what: str) -> dict[str, Any]:
    """The schema of an API row, derived from its column table (pulse/row_shapes.py).

    Every key is required (absent values are null, never omitted). ``additionalProperties`` is
    left open on purpose: the API contract lets later versions append keys, so clients generated
    from this document must ignore unknown keys. That this version returns exactly the declared
    keys is checked by tests/api/test_row_contract.py with the schema closed.
    """
    columns = row_shapes.returned(table)
    return {
        "type": "object",
        "description": f"{what}. Keys may be added in later versions: ignore unknown keys.",
        "required": [c.api for c in columns],
        "properties": {c.api: c.api_schema() for c in columns},
    }


ROW_SCHEMAS = {
    "TraceRow": _row_schema(row_shapes.TRACES, "One LLM call (a stored trace)"),
    "SpanRow": _row_schema(row_shapes.SPANS, "One piece of agent activity (a stored span)"),
}
TRACE_ROW = {"$ref": "#/components/schemas/TraceRow"}
SPAN_ROW = {"$ref": "#/components/schemas/SpanRow"}


def _page(kind: str, row: dict) -> dict[str, Any]:
    return {"type": "object", "required": [kind, "total", "limit", "offset"],
            "properties": {kind: {"type": "array", "items": row},
                           "total": {"type": "integer"}, "limit": {"type": "integer"},
                           "offset": {"type": "integer"}}}


def _session(kind: str, row: dict) -> dict[str, Any]:
    return {"type": "object", "required": ["sessionId", kind],
            "properties": {"sessionId": {"type": "string"},
                           kind: {"type": "array", "items": row}}}


def _q(name: str, schema: dict) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


_TEXT = {"type": "string", "maxLength": 256}
_DATE = {"type": "string", "description": "ISO 8601, epoch seconds/ms, or YYYY-MM-DD"}
PAGING = [_q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
          _q("offset", {"type": "integer", "minimum": 0})]
DATES = [_q("date_from", _DATE), _q("date_to", _DATE)]
_SEARCH = _q("q", {"type": "string", "maxLength": 256, "description":
                   "full-text search (web search syntax: words, \"a phrase\", -word, or)"})
TRACE_QUERY = [_q("session_id", _TEXT), _q("provider", _TEXT), _q("model", _TEXT),
               _q("status", {"enum": ["success", "error"]}), _SEARCH, *DATES, *PAGING]
SPAN_QUERY = [_q("session_id", _TEXT), _q("source", _TEXT), _q("kind", _TEXT),
              _q("tool_name", _TEXT), _q("status", _TEXT), _SEARCH, *DATES, *PAGING]
SESSION_QUERY = [_q("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
                 _q("offset", {"type": "integer", "minimum": 0})]

ITEMS = {"type": "array", "maxItems": 100, "items": {"type": "object"},
         "description": "docs/api.md §Trace item / §Span item (snake_case); "
                        "one invalid item rejects the batch"}
QUEUED = {"type": "object", "required": ["status", "count"],
          "properties": {"status": {"const": "queued"}, "count": {"type": "integer"}}}


def _batch(kind: str, row: dict) -> dict[str, Any]:
    return {"type": "object", "required": ["count", kind],
            "properties": {"count": {"type": "integer"},
                           kind: {"type": "array", "items": row}}}


# (method, path below the prefix) -> (query parameters, success status, success schema)
READS: dict[tuple[str, str], tuple[list, str, dict]] = {
    ("get", "/traces"): (TRACE_QUERY, "200", _page("traces", TRACE_ROW)),
    ("get", "/traces/{trace_id}"): ([], "200", TRACE_ROW),
    ("get", "/spans"): (SPAN_QUERY, "200", _page("spans", SPAN_ROW)),
    ("get", "/spans/{span_id}"): ([], "200", SPAN_ROW),
    ("get", "/sessions/{session_id}"): (SESSION_QUERY, "200", _session("traces", TRACE_ROW)),
    ("get", "/sessions/{session_id}/spans"): (SESSION_QUERY, "200", _session("spans", SPAN_ROW)),
}
INGEST: dict[tuple[str, str], dict] = {
    ("post", "/v1/traces/async"): QUEUED, ("post", "/v1/spans/async"): QUEUED,
    ("post", "/v1/traces/batch"): _batch("traces", TRACE_ROW),
    ("post", "/v1/spans/batch"): _batch("spans", SPAN_ROW),
}
OTLP = {("post", "/v1/traces"), ("post", "/v1/logs"), ("post", "/v1/metrics")}
SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "pulse_sk_... (data plane)"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "better-auth.session_token"},
}
PUBLIC = re.compile(r"^/(health|metrics|api/auth/|dashboard/api/signup$|dashboard/login$)")
GUARDED = ("/api/auth/", "/dashboard/")
PROJECT_HEADER = {"name": "X-Project-Id", "in": "header", "required": True,
                  "schema": {"type": "string"}, "description": "the project to act on"}


def _json_response(description: str, schema: dict) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _add_errors(op: dict, codes: list[int]) -> None:
    responses = op.setdefault("responses", {})
    responses.pop("422", None)
    for code in codes:
        responses.setdefault(str(code), _json_response("Error", ERROR))


def _describe(path: str, method: str, op: dict) -> None:
    prefix = next((p for p in ("/v1", "/dashboard/api") if path.startswith(p + "/")), None)
    read = READS.get((method, path[len(prefix):])) if prefix else None
    public = bool(PUBLIC.match(path))
    codes = [400, 503]
    if prefix and not public:
        codes.append(401)
        op["security"] = [{"sessionCookie": []}] if prefix == "/dashboard/api" else [
            {"apiKey": []}]
    if read:
        params, status, schema = read
        op.setdefault("parameters", []).extend(params)
        op["responses"][status] = _json_response("Rows, camelCase (docs/api.md §Rows)", schema)
    if "{" in path:
        codes.append(404)
    if (method, path) in INGEST:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": ITEMS}}}
        op["responses"] = {"202": _json_response("Accepted", INGEST[(method, path)])}
        codes += [413, 415]
    if (method, path) in OTLP:
        op["requestBody"] = {"required": True, "content": {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"type": "object"}}}}
        op["responses"] = {"200": {"description": "OTLP Export response (request's encoding)",
                                   "content": {"application/x-protobuf": {"schema": {}},
                                               "application/json": {"schema": {}}}}}
        codes += [413, 415]
    if prefix == "/dashboard/api" and not public:
        codes.append(403)  # not a member, or not an admin
        if path != "/dashboard/api/projects":
            op.setdefault("parameters", []).append(PROJECT_HEADER)
    if path.startswith(GUARDED) and method in ("post", "put", "patch", "delete"):
        codes += [403, 413]  # Origin check, body limit (api/security.py)
    if path.startswith("/health"):
        codes = [503] if path == "/health/ready" else []
    _add_errors(op, codes)


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the completed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version,
                              description=app.description, routes=app.routes)
            components = doc.setdefault("components", {})
            components.setdefault("schemas", {}).setdefault("ErrorBody", ERROR_SCHEMA)
            components["schemas"].update(ROW_SCHEMAS)
            components["securitySchemes"] = SECURITY_SCHEMES
            for name in ("HTTPValidationError", "ValidationError"):
                components["schemas"].pop(name, None)
            for path, item in doc.get("paths", {}).items():
                for method, op in item.items():
                    _describe(path, method, op)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi
