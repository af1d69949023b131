-- 003: OTLP metric data points (POST /v1/metrics, gRPC MetricsService), stored for charts and
-- reconciliation; never turned into traces (docs/mapping.md §Metrics, §Golden fixtures "09").
-- Becomes a TimescaleDB hypertable on "timestamp" (1-day chunks) when the extension is installed,
-- like traces/spans.
--
-- Idempotence (docs/mapping.md §Metrics): a re-sent export must not double count, so one point is
-- keyed by its series - project, metric name, timestamp and series_hash (md5 of the canonical JSON
-- of its attributes, computed by storage/metrics.py) - and writers INSERT ... ON CONFLICT DO
-- NOTHING.
CREATE TABLE pulse.metric_points (
    project_id    uuid NOT NULL,
    "timestamp"   timestamptz NOT NULL,
    name          text NOT NULL,
    value         double precision NOT NULL,
    attributes    jsonb NOT NULL DEFAULT '{}'::jsonb,
    temporality   text,                     -- 'delta' | 'cumulative' | null (gauges)
    unit          text,
    service_name  text,
    series_hash   text NOT NULL,
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name, "timestamp", series_hash)
);

CREATE INDEX metric_points_project_name_time_idx
    ON pulse.metric_points (project_id, name, "timestamp" DESC);
CREATE INDEX metric_points_project_time_idx
    ON pulse.metric_points (project_id, "timestamp" DESC);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('pulse.metric_points', by_range('timestamp', INTERVAL '1 day'),
                                  migrate_data => true, create_default_indexes => false);
    END IF;
END
$$;
