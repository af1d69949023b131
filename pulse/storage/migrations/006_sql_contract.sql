-- 006: the versioned SQL contract (docs/sql.md) and a read-only role for dashboards.
-- Views named *_v1 never change incompatibly: a breaking change ships as *_v2 next to them.
-- Columns may be appended. Views run with their owner's rights, so the read-only role needs
-- SELECT on the views only, never on the tables behind them.

CREATE VIEW pulse.traces_v1 AS
SELECT project_id, trace_id, "timestamp", session_id, provider, model_requested, model_used,
       coalesce(model_used, model_requested) AS model, status, latency_ms,
       input_tokens, output_tokens,
       coalesce(input_tokens, 0) + coalesce(output_tokens, 0) AS total_tokens,
       cost_cents, metadata->>'cost_source' AS cost_source, finish_reason, error,
       provider_request_id, metadata, otel_trace_id, otel_span_id, service_name
FROM pulse.traces;

CREATE VIEW pulse.spans_v1 AS
SELECT project_id, span_id, "timestamp", session_id, parent_span_id, duration_ms, source, kind,
       event_type, status, tool_use_id, tool_name, is_interrupt, cwd, model, agent_name, error,
       metadata, otel_trace_id, otel_span_id, service_name
FROM pulse.spans;

CREATE VIEW pulse.llm_usage_hourly_v1 AS
SELECT project_id, bucket, provider, model, status, requests,
       CASE WHEN status = 'error' THEN requests ELSE 0 END AS errors,
       input_tokens, output_tokens, input_tokens + output_tokens AS total_tokens, cost_cents,
       latency_sum AS latency_sum_ms, latency_sum / nullif(requests, 0) AS avg_latency_ms,
       latency_hist
FROM pulse.llm_usage_hourly;

CREATE VIEW pulse.sessions_v1 AS
SELECT project_id, session_id, kind, source, model, first_ts, last_ts,
       extract(epoch FROM last_ts - first_ts) * 1000 AS duration_ms,
       items, tool_calls, input_tokens, output_tokens, cost_cents, errors, first_prompt
FROM pulse.session_summaries;

-- One row per tool call: Claude Code pre/post hook events paired by tool_use_id.
CREATE VIEW pulse.tool_calls_v1 AS
SELECT project_id, min(session_id) AS session_id, coalesce(tool_use_id, span_id::text) AS call_id,
       max(tool_name) AS tool_name, min(source) AS source, min("timestamp") AS "timestamp",
       coalesce(max(duration_ms), CASE WHEN count(*) > 1 THEN
           extract(epoch FROM max("timestamp") - min("timestamp")) * 1000 END) AS duration_ms,
       CASE WHEN bool_or(status = 'error') THEN 'error'
            WHEN bool_or(status = 'success') THEN 'success' END AS status,
       count(*) AS events
FROM pulse.spans
WHERE kind = 'tool_use'
GROUP BY project_id, coalesce(tool_use_id, span_id::text);

-- Roles are cluster-wide: several databases on one server share pulse_readonly.
DO $$
BEGIN
    CREATE ROLE pulse_readonly NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
GRANT USAGE ON SCHEMA pulse TO pulse_readonly;
GRANT SELECT ON pulse.traces_v1, pulse.spans_v1, pulse.llm_usage_hourly_v1, pulse.sessions_v1,
    pulse.tool_calls_v1, pulse.projects TO pulse_readonly;
