"""Rollups maintained on write: the SQL the writer runs in its transaction around the INSERT.

Owns the write side of ``pulse.llm_usage_hourly`` / ``llm_usage_daily`` (per project, bucket,
provider, model, status: counts, token/cost/latency sums, latency histogram),
``llm_session_hourly`` / ``llm_session_daily`` / ``llm_session_model_daily`` (distinct
sessions), ``session_summaries``
(GET /v1/sessions) and
``trace_counts_hourly`` / ``span_counts_hourly`` (exact list totals, storage/queries.py),
``span_tool_calls`` / ``span_units_hourly`` (span analytics, migration 009), plus the
custom-price fallback applied to staged traces that carry no cost.

Idempotence (docs/api.md §Durability): the writer's INSERT returns only the rows it really inserted
into a per-transaction temp table (``pulse_<table>_new``); every rollup is computed from that table,
so a redelivered row (skipped by the INSERT) never counts twice. Rollup rows are upserted in key
order to keep concurrent writers from deadlocking (a deadlock is retryable anyway).
"""

from __future__ import annotations

# Columns of the "newly inserted rows" temp tables, with the expression RETURNING computes.
TRACE_NEW = (
    ("project_id", "uuid", "project_id"),
    ("trace_id", "uuid", "trace_id"),  # record assembly: which rows a merge replaced
    ("ts", "timestamptz", '"timestamp"'),
    ("session_id", "text", "session_id"),
    ("provider", "text", "provider"),
    ("model", "text", "model_requested"),
    ("model_used", "text", "model_used"),
    ("status", "text", "status"),
    ("input_tokens", "bigint", "input_tokens"),
    ("output_tokens", "bigint", "output_tokens"),
    ("cost_cents", "numeric", "cost_cents"),
    ("latency_ms", "double precision", "latency_ms"),
    (
        "prompt",
        "text",
        "CASE WHEN session_id IS NOT NULL THEN pulse.first_prompt(request_body) END",
    ),
)
SPAN_NEW = (
    ("project_id", "uuid", "project_id"),
    ("span_id", "uuid", "span_id"),
    ("ts", "timestamptz", '"timestamp"'),
    ("session_id", "text", "session_id"),
    ("source", "text", "source"),
    ("kind", "text", "kind"),
    ("status", "text", "status"),
    ("tool_use_id", "text", "tool_use_id"),
    ("tool_name", "text", "tool_name"),
    ("model", "text", "model"),
    ("duration_ms", "double precision", "duration_ms"),
    (
        "prompt",
        "text",
        "CASE WHEN kind = 'user_prompt' THEN left(coalesce(metadata->>'prompt',"
        " tool_input->>'prompt', CASE WHEN jsonb_typeof(tool_input) = 'string'"
        " THEN tool_input #>> '{}' END), 500) END",
    ),
)
NEW_COLUMNS = {"traces": TRACE_NEW, "spans": SPAN_NEW}


def new_table(table: str) -> str:
    return f"pulse_{table}_new"


def gone_table(table: str) -> str:
    """Rows a merge replaced (record assembly): their old contribution leaves the rollups."""
    return f"pulse_{table}_gone"


def create_new_sql(table: str, name: str | None = None) -> str:
    cols = ", ".join(f"{col} {typ}" for col, typ, _ in NEW_COLUMNS[table])
    return (f"CREATE TEMP TABLE IF NOT EXISTS {name or new_table(table)} ({cols})"
            " ON COMMIT DELETE ROWS")


def returning(table: str) -> str:
    return ", ".join(expr for _, _, expr in NEW_COLUMNS[table])


# Traces without a cost get one from pulse.model_prices (project row first, then config rows),
# under the names mapping priced them under (pulse/mapping/cost.py): the reported models, then
# metadata.price_model (the normalised name). Not for traces without tokens (cost_missing
# "no_tokens"): a computed cost needs them on every path.
PRICE_STAGE = """
UPDATE pulse_traces_stage s
SET cost_cents = coalesce(c.exact, c.normalised),
    metadata = (s.metadata - 'cost_missing'
                - CASE WHEN c.exact IS NOT NULL THEN 'price_model' ELSE '' END)
               || '{"cost_source": "computed", "price_source": "custom"}'::jsonb
FROM (SELECT ctid AS row_id,
             pulse.custom_cost_cents(project_id, provider, model_used, model_requested,
                                     input_tokens, output_tokens, metadata) AS exact,
             pulse.custom_cost_cents(project_id, provider, metadata->>'price_model',
                                     metadata->>'price_model', input_tokens, output_tokens,
                                     metadata) AS normalised
      FROM pulse_traces_stage
      WHERE cost_cents IS NULL AND coalesce(metadata->>'cost_missing', '') <> 'no_tokens'
        AND EXISTS (SELECT 1 FROM pulse.model_prices)) c
WHERE s.ctid = c.row_id AND coalesce(c.exact, c.normalised) IS NOT NULL
"""

# The usage rollups' column list and "add to what is there" clause; storage/rollup_deltas.py
# builds its signed variant from the same two pieces.
USAGE_COLUMNS = """
INSERT INTO pulse.{table} AS t (project_id, bucket, provider, model, status, requests,
    input_tokens, output_tokens, cost_cents, latency_sum, latency_hist)
"""
USAGE_ADD = """
ON CONFLICT (project_id, bucket, provider, model, status) DO UPDATE SET
    requests = t.requests + excluded.requests,
    input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens,
    cost_cents = t.cost_cents + excluded.cost_cents,
    latency_sum = t.latency_sum + excluded.latency_sum,
    latency_hist = pulse.hist_add(t.latency_hist, excluded.latency_hist)
"""
_USAGE_UPSERT = USAGE_COLUMNS + """
SELECT project_id, date_trunc('{unit}', ts, 'UTC'), provider, model, status, count(*),
       coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
       coalesce(sum(cost_cents), 0), sum(latency_ms),
       pulse.latency_hist(array_agg(pulse.latency_bin(latency_ms)))
FROM pulse_traces_new
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
""" + USAGE_ADD

# Row counts per hour keyed like the list filters (migration 008): exact list totals.
_TRACE_COUNTS = """
INSERT INTO pulse.trace_counts_hourly AS t
    (project_id, bucket, provider, model_requested, model_used, status, n)
SELECT project_id, date_trunc('hour', ts, 'UTC'), provider, model, coalesce(model_used, ''),
       status, count(*)
FROM pulse_traces_new
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (project_id, bucket, provider, model_requested, model_used, status)
DO UPDATE SET n = t.n + excluded.n
"""

_SPAN_COUNTS = """
INSERT INTO pulse.span_counts_hourly AS t
    (project_id, bucket, source, kind, status, tool_name, n)
SELECT project_id, date_trunc('hour', ts, 'UTC'), source, kind, coalesce(status, ''),
       coalesce(tool_name, ''), count(*)
FROM pulse_spans_new
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (project_id, bucket, source, kind, status, tool_name)
DO UPDATE SET n = t.n + excluded.n
"""

_SESSION_HOURLY = """
INSERT INTO pulse.llm_session_hourly (project_id, bucket, provider, model, session_id)
SELECT DISTINCT project_id, date_trunc('hour', ts, 'UTC'), provider, model, session_id
FROM pulse_traces_new WHERE session_id IS NOT NULL
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT DO NOTHING
"""

_SESSION_DAILY = """
INSERT INTO pulse.llm_session_daily (project_id, bucket, session_id)
SELECT DISTINCT project_id, date_trunc('day', ts, 'UTC'), session_id
FROM pulse_traces_new WHERE session_id IS NOT NULL
ORDER BY 1, 2, 3
ON CONFLICT DO NOTHING
"""

# Distinct sessions per UTC day, provider and model (migration 011).
_SESSION_MODEL_DAILY = """
INSERT INTO pulse.llm_session_model_daily (project_id, bucket, provider, model, session_id)
SELECT DISTINCT project_id, date_trunc('day', ts, 'UTC'), provider, model, session_id
FROM pulse_traces_new WHERE session_id IS NOT NULL
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT DO NOTHING
"""

# Merge rules shared by both kinds: earliest source/model/prompt win, counters add up.
_SUMMARY_MERGE = """
ON CONFLICT (project_id, kind, session_id) DO UPDATE SET
    first_ts = least(t.first_ts, excluded.first_ts),
    last_ts = greatest(t.last_ts, excluded.last_ts),
    items = t.items + excluded.items,
    tool_calls = t.tool_calls + excluded.tool_calls,
    input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens,
    cost_cents = t.cost_cents + excluded.cost_cents,
    errors = t.errors + excluded.errors,
    source = CASE WHEN excluded.first_ts < t.first_ts OR t.source IS NULL
                  THEN coalesce(excluded.source, t.source) ELSE t.source END,
    model = CASE WHEN excluded.first_ts < t.first_ts OR t.model IS NULL
                 THEN coalesce(excluded.model, t.model) ELSE t.model END,
    first_prompt = CASE WHEN excluded.first_prompt IS NOT NULL AND (t.first_prompt_ts IS NULL
                        OR excluded.first_prompt_ts < t.first_prompt_ts)
                        THEN excluded.first_prompt ELSE t.first_prompt END,
    first_prompt_ts = CASE WHEN excluded.first_prompt IS NOT NULL AND (t.first_prompt_ts IS NULL
                           OR excluded.first_prompt_ts < t.first_prompt_ts)
                           THEN excluded.first_prompt_ts ELSE t.first_prompt_ts END
"""

_LLM_SUMMARY = """
INSERT INTO pulse.session_summaries AS t (project_id, session_id, kind, first_ts, last_ts, items,
    input_tokens, output_tokens, cost_cents, errors, source, model, first_prompt, first_prompt_ts)
SELECT project_id, session_id, 'llm', min(ts), max(ts), count(*),
       coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
       coalesce(sum(cost_cents), 0), count(*) FILTER (WHERE status = 'error'),
       (array_agg(provider ORDER BY ts))[1], (array_agg(model ORDER BY ts))[1],
       (array_agg(prompt ORDER BY ts) FILTER (WHERE prompt IS NOT NULL))[1],
       min(ts) FILTER (WHERE prompt IS NOT NULL)
FROM pulse_traces_new WHERE session_id IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2
""" + _SUMMARY_MERGE

# A tool call counts once: by the first of its rows to arrive (pre and post events share a
# tool_use_id; inside one batch the smallest span_id wins).
_AGENT_SUMMARY = """
INSERT INTO pulse.session_summaries AS t (project_id, session_id, kind, first_ts, last_ts, items,
    tool_calls, errors, source, model, first_prompt, first_prompt_ts)
SELECT n.project_id, n.session_id, 'agent', min(n.ts), max(n.ts), count(*),
       count(*) FILTER (WHERE n.kind = 'tool_use' AND (n.tool_use_id IS NULL OR NOT EXISTS (
           SELECT 1 FROM pulse.spans o
           WHERE o.project_id = n.project_id AND o.tool_use_id = n.tool_use_id
             AND o.kind = 'tool_use' AND o.span_id <> n.span_id
             AND (o.span_id < n.span_id OR NOT EXISTS (
                 SELECT 1 FROM pulse_spans_new x
                 WHERE x.project_id = o.project_id AND x.span_id = o.span_id))))),
       count(*) FILTER (WHERE n.status = 'error'),
       (array_agg(n.source ORDER BY n.ts))[1],
       (array_agg(n.model ORDER BY n.ts) FILTER (WHERE n.model IS NOT NULL))[1],
       (array_agg(n.prompt ORDER BY n.ts) FILTER (WHERE n.prompt IS NOT NULL))[1],
       min(n.ts) FILTER (WHERE n.prompt IS NOT NULL)
FROM pulse_spans_new n
GROUP BY 1, 2 ORDER BY 1, 2
""" + _SUMMARY_MERGE


# Span-analytics units (migration 009): tool calls merged commutatively; the DO UPDATE also
# records the previous state's hourly contribution (p_*, read under the row lock), so the
# hourly units get "minus old, plus new" even when two writers merge halves of one call.
_CALL_STATUS = (
    "CASE WHEN {p}errors > 0 THEN 'error' WHEN {p}successes > 0 THEN 'success' ELSE '' END"
)
_CALL_DUR = (
    "coalesce({p}duration_ms, CASE WHEN {p}events > 1"
    " THEN extract(epoch FROM {p}last_ts - {p}first_ts)::float8 * 1000 END)"
)
_CALLS_AGG = """
SELECT project_id, coalesce(tool_use_id, span_id::text), min(ts), max(ts), count(*),
       max(tool_name), count(*) FILTER (WHERE status = 'error'),
       count(*) FILTER (WHERE status = 'success'), max(duration_ms),
       date_trunc('hour', min(ts), 'UTC') <> date_trunc('hour', max(ts), 'UTC')
FROM pulse_spans_new WHERE kind = 'tool_use'
GROUP BY 1, 2
"""
_CALLS_COLS = """(project_id, call_id, first_ts, last_ts, events, tool_name,
    errors, successes, duration_ms, multi_hour)"""
_UNITS_ADD = """
INSERT INTO pulse.span_units_hourly AS t (project_id, bucket, kind, tool_name, status, units,
    dur_n, dur_sum)
SELECT project_id, bucket, kind, tool_name, status, sum(units), sum(dur_n), sum(dur_sum)
FROM ({rows}) d
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (project_id, bucket, kind, tool_name, status) DO UPDATE SET
    units = t.units + excluded.units, dur_n = t.dur_n + excluded.dur_n,
    dur_sum = t.dur_sum + excluded.dur_sum
"""
_CALL_UNIT = (
    "SELECT project_id, date_trunc('hour', first_ts, 'UTC') AS bucket, 'tool_use' AS kind,"
    " coalesce(tool_name, '') AS tool_name, " + _CALL_STATUS.format(p="") + " AS status,"
    " 1 AS units, (" + _CALL_DUR.format(p="") + " IS NOT NULL)::int AS dur_n,"
    " coalesce(" + _CALL_DUR.format(p="") + ", 0) AS dur_sum FROM {src} WHERE NOT multi_hour"
)
_TOOL_CALLS = "WITH up AS (INSERT INTO pulse.span_tool_calls AS t " + _CALLS_COLS + (
    _CALLS_AGG + " ORDER BY 1, 2"
) + """
ON CONFLICT (project_id, call_id) DO UPDATE SET
    p_single = NOT t.multi_hour, p_bucket = date_trunc('hour', t.first_ts, 'UTC'),
    p_tool_name = coalesce(t.tool_name, ''), p_status = """ + _CALL_STATUS.format(p="t.") + """,
    p_duration = """ + _CALL_DUR.format(p="t.") + """,
    first_ts = least(t.first_ts, excluded.first_ts),
    last_ts = greatest(t.last_ts, excluded.last_ts),
    events = t.events + excluded.events,
    tool_name = greatest(t.tool_name, excluded.tool_name),
    errors = t.errors + excluded.errors, successes = t.successes + excluded.successes,
    duration_ms = greatest(t.duration_ms, excluded.duration_ms),
    multi_hour = date_trunc('hour', least(t.first_ts, excluded.first_ts), 'UTC')
                 <> date_trunc('hour', greatest(t.last_ts, excluded.last_ts), 'UTC')
RETURNING t.*)
""" + _UNITS_ADD.format(rows=_CALL_UNIT.format(src="up") + """
    UNION ALL
    SELECT project_id, p_bucket, 'tool_use', p_tool_name, p_status, -1,
           -(p_duration IS NOT NULL)::int, -coalesce(p_duration, 0)
    FROM up WHERE p_single""")
_OTHER_UNITS = _UNITS_ADD.format(rows="""
    SELECT project_id, date_trunc('hour', ts, 'UTC') AS bucket, kind, '' AS tool_name,
           coalesce(status, '') AS status, 1 AS units, (duration_ms IS NOT NULL)::int AS dur_n,
           coalesce(duration_ms, 0) AS dur_sum
    FROM pulse_spans_new WHERE kind <> 'tool_use'""")


def before_insert(table: str) -> list[str]:
    """Statements run on the staged rows before they are inserted."""
    return [PRICE_STAGE] if table == "traces" else []


def after_insert(table: str) -> list[str]:
    """Statements that fold the newly inserted rows into the rollups."""
    if table == "traces":
        return [
            _USAGE_UPSERT.format(table="llm_usage_hourly", unit="hour"),
            _USAGE_UPSERT.format(table="llm_usage_daily", unit="day"),
            _SESSION_HOURLY,
            _SESSION_DAILY,
            _SESSION_MODEL_DAILY,
            _LLM_SUMMARY,
            _TRACE_COUNTS,
        ]
    return [_AGENT_SUMMARY, _SPAN_COUNTS, _TOOL_CALLS, _OTHER_UNITS]


def _from_base(table: str) -> str:
    cols = ", ".join(f"{expr} AS {name}" for name, _, expr in NEW_COLUMNS[table])
    return f"(SELECT {cols} FROM pulse.{table}) pulse_{table}_new"


# Agent summaries rebuilt from the whole table: a tool call is a distinct tool_use_id.
_AGENT_REBUILD = """
INSERT INTO pulse.session_summaries AS t (project_id, session_id, kind, first_ts, last_ts, items,
    tool_calls, errors, source, model, first_prompt, first_prompt_ts)
SELECT project_id, session_id, 'agent', min(ts), max(ts), count(*),
       count(DISTINCT coalesce(tool_use_id, span_id::text)) FILTER (WHERE kind = 'tool_use'),
       count(*) FILTER (WHERE status = 'error'),
       (array_agg(source ORDER BY ts))[1],
       (array_agg(model ORDER BY ts) FILTER (WHERE model IS NOT NULL))[1],
       (array_agg(prompt ORDER BY ts) FILTER (WHERE prompt IS NOT NULL))[1],
       min(ts) FILTER (WHERE prompt IS NOT NULL)
FROM {source}
GROUP BY 1, 2
"""


def rebuild_statements() -> list[str]:
    """Recompute every rollup from the raw tables (backfill after migrations 004/008, bulk loads).

    Run in one transaction with writers stopped: it empties the rollups first.
    """
    traces = [
        s.replace("FROM pulse_traces_new", f"FROM {_from_base('traces')}")
        for s in after_insert("traces")
    ]
    return [
        "TRUNCATE pulse.llm_usage_hourly, pulse.llm_usage_daily, pulse.llm_session_hourly,"
        " pulse.session_summaries, pulse.trace_counts_hourly, pulse.span_counts_hourly,"
        " pulse.span_tool_calls, pulse.span_units_hourly, pulse.llm_session_daily,"
        " pulse.llm_session_model_daily",
        *traces,
        _AGENT_REBUILD.format(source=_from_base("spans")),
        _SPAN_COUNTS.replace("FROM pulse_spans_new", f"FROM {_from_base('spans')}"),
        "INSERT INTO pulse.span_tool_calls " + _CALLS_COLS
        + _CALLS_AGG.replace("FROM pulse_spans_new", f"FROM {_from_base('spans')}"),
        _UNITS_ADD.format(rows=_CALL_UNIT.format(src="pulse.span_tool_calls")),
        _OTHER_UNITS.replace("FROM pulse_spans_new", f"FROM {_from_base('spans')}"),
    ]
