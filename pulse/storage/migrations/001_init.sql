-- 001: projects, API keys, traces and spans (docs/api.md §Native ingest, §Rows).
-- Everything lives in schema "pulse". traces/spans become TimescaleDB hypertables on "timestamp"
-- (1-day chunks) when the extension is installed in this database (the migration runner creates it
-- when available); otherwise they stay plain tables with the same columns and indexes.

CREATE SCHEMA IF NOT EXISTS pulse;

CREATE TABLE pulse.projects (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pulse.api_keys (
    id            uuid PRIMARY KEY,
    project_id    uuid NOT NULL REFERENCES pulse.projects (id) ON DELETE CASCADE,
    name          text NOT NULL,
    key_hash      bytea NOT NULL UNIQUE,      -- sha256 of the full key; the key itself is never stored
    display_prefix text NOT NULL,             -- e.g. "pulse_sk_Ab12", enough to recognise a key
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_keys_project_idx ON pulse.api_keys (project_id, created_at);

-- One row per LLM call. Primary key per project, with the partition column (a hypertable's unique
-- keys must include it). Writers additionally refuse a second row for an existing
-- (project_id, trace_id) at another timestamp (storage/writer.py).
CREATE TABLE pulse.traces (
    project_id          uuid NOT NULL,
    trace_id            uuid NOT NULL,
    "timestamp"         timestamptz NOT NULL,
    session_id          text,
    latency_ms          double precision NOT NULL,
    provider            text NOT NULL,
    model_requested     text NOT NULL,
    model_used          text,
    provider_request_id text,
    request_body        jsonb NOT NULL,
    response_body       jsonb,
    input_tokens        bigint,
    output_tokens       bigint,
    output_text         text,
    finish_reason       text,
    status              text NOT NULL CHECK (status IN ('success', 'error')),
    error               jsonb,
    cost_cents          numeric(20, 6),
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- OpenTelemetry identity (docs/mapping.md §Targets), null for natively ingested rows
    otel_trace_id       text,
    otel_span_id        text,
    otel_parent_span_id text,
    service_name        text,
    ingested_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, trace_id, "timestamp")
);

CREATE TABLE pulse.spans (
    project_id          uuid NOT NULL,
    span_id             uuid NOT NULL,
    "timestamp"         timestamptz NOT NULL,
    session_id          text NOT NULL,
    parent_span_id      uuid,
    duration_ms         double precision,
    source              text NOT NULL,
    kind                text NOT NULL,
    event_type          text NOT NULL,
    status              text,
    tool_use_id         text,
    tool_name           text,
    tool_input          jsonb,
    tool_response       jsonb,
    error               jsonb,
    is_interrupt        boolean,
    cwd                 text,
    model               text,
    agent_name          text,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    otel_trace_id       text,
    otel_span_id        text,
    otel_parent_span_id text,
    service_name        text,
    ingested_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, span_id, "timestamp")
);

-- Indexes for every filter of docs/api.md §Query routes (each list is "newest first" within a
-- project).
CREATE INDEX traces_project_time_idx     ON pulse.traces (project_id, "timestamp" DESC);
CREATE INDEX traces_project_id_idx       ON pulse.traces (project_id, trace_id);
CREATE INDEX traces_session_idx          ON pulse.traces (project_id, session_id, "timestamp");
CREATE INDEX traces_provider_idx         ON pulse.traces (project_id, provider, "timestamp" DESC);
CREATE INDEX traces_model_requested_idx  ON pulse.traces (project_id, model_requested, "timestamp" DESC);
CREATE INDEX traces_model_used_idx       ON pulse.traces (project_id, model_used, "timestamp" DESC);
CREATE INDEX traces_status_idx           ON pulse.traces (project_id, status, "timestamp" DESC);
CREATE INDEX traces_otel_idx             ON pulse.traces (project_id, otel_trace_id) WHERE otel_trace_id IS NOT NULL;

CREATE INDEX spans_project_time_idx      ON pulse.spans (project_id, "timestamp" DESC);
CREATE INDEX spans_project_id_idx        ON pulse.spans (project_id, span_id);
CREATE INDEX spans_session_idx           ON pulse.spans (project_id, session_id, "timestamp");
CREATE INDEX spans_source_idx            ON pulse.spans (project_id, source, "timestamp" DESC);
CREATE INDEX spans_kind_idx              ON pulse.spans (project_id, kind, "timestamp" DESC);
CREATE INDEX spans_tool_name_idx         ON pulse.spans (project_id, tool_name, "timestamp" DESC);
CREATE INDEX spans_status_idx            ON pulse.spans (project_id, status, "timestamp" DESC);
CREATE INDEX spans_tool_use_idx          ON pulse.spans (project_id, tool_use_id) WHERE tool_use_id IS NOT NULL;
CREATE INDEX spans_otel_idx              ON pulse.spans (project_id, otel_trace_id) WHERE otel_trace_id IS NOT NULL;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('pulse.traces', by_range('timestamp', INTERVAL '1 day'),
                                  migrate_data => true, create_default_indexes => false);
        PERFORM create_hypertable('pulse.spans', by_range('timestamp', INTERVAL '1 day'),
                                  migrate_data => true, create_default_indexes => false);
    END IF;
END
$$;
