-- 008: per-hour row counts keyed the way GET /v1/traces and GET /v1/spans filter
-- (docs/api.md §Query routes).
--
-- The listing routes return an exact "total". Counting millions of raw rows per request is too
-- slow, so the writer (storage/rollups.py) keeps, in its transaction and from NEWLY inserted rows
-- only (redelivery never double-counts), the number of rows per project, UTC hour and filter
-- columns. storage/queries.py sums whole hours here and counts raw rows only for the partial hours
-- at the edges of a date range, in one statement (one snapshot), so the total equals count(*).
-- Key columns that are nullable in the raw tables (model_used, span status, tool_name) store ''
-- for "absent", so one unique index works on every supported PostgreSQL (NULLS NOT DISTINCT
-- would need 15+). List filters never take an empty value, so '' matches no filter, as NULL.

CREATE TABLE pulse.trace_counts_hourly (
    project_id       uuid NOT NULL,
    bucket           timestamptz NOT NULL,      -- start of the UTC hour
    provider         text NOT NULL,
    model_requested  text NOT NULL,
    model_used       text NOT NULL DEFAULT '',  -- '' when the raw row has none
    status           text NOT NULL,
    n                bigint NOT NULL
);
CREATE UNIQUE INDEX trace_counts_hourly_key ON pulse.trace_counts_hourly
    (project_id, bucket, provider, model_requested, model_used, status);

CREATE TABLE pulse.span_counts_hourly (
    project_id  uuid NOT NULL,
    bucket      timestamptz NOT NULL,
    source      text NOT NULL,
    kind        text NOT NULL,
    status      text NOT NULL DEFAULT '',       -- '' when the raw row has none
    tool_name   text NOT NULL DEFAULT '',
    n           bigint NOT NULL
);
CREATE UNIQUE INDEX span_counts_hourly_key ON pulse.span_counts_hourly
    (project_id, bucket, source, kind, status, tool_name);

-- model= matches model_requested OR model_used. The list is the merge of two index-ordered scans
-- over disjoint sets: model_requested = X (traces_model_requested_idx) and model_used = X where
-- the used model differs from the requested one - few rows, so a small partial index.
CREATE INDEX traces_model_diverged_idx ON pulse.traces (project_id, model_used, "timestamp" DESC)
    WHERE model_used <> model_requested;

-- Backfill: rows stored before this migration enter the counts once (rollups.rebuild_statements
-- recomputes them the same way after a bulk load).
INSERT INTO pulse.trace_counts_hourly
    (project_id, bucket, provider, model_requested, model_used, status, n)
SELECT project_id, date_trunc('hour', "timestamp", 'UTC'), provider, model_requested,
       coalesce(model_used, ''), status, count(*)
FROM pulse.traces
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO pulse.span_counts_hourly (project_id, bucket, source, kind, status, tool_name, n)
SELECT project_id, date_trunc('hour', "timestamp", 'UTC'), source, kind, coalesce(status, ''),
       coalesce(tool_name, ''), count(*)
FROM pulse.spans
GROUP BY 1, 2, 3, 4, 5, 6;
