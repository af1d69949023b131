-- 009: rollups for GET /v1/analytics/spans (storage/analytics_spans.py), maintained on write.
--
-- A "unit" is what avgDurationMs, successRate/errorRate and topTools count: a tool call (every
-- kind='tool_use' row sharing coalesce(tool_use_id, span_id::text) - pre and post hook events,
-- or the one row of an OTel-derived span) or any other span row.
--
-- span_tool_calls: one row per tool call, merged commutatively from NEWLY inserted rows only
-- (first/last timestamp, event count, max tool_name, error/success counts, max duration_ms), so
-- redelivery never double-counts and the order halves arrive in does not matter. The call's
-- status is error > success > none; its duration is duration_ms or, when absent and it has two
-- or more events, last_ts - first_ts. multi_hour: its events lie in different UTC hours.
-- The p_* columns hold, after an upsert that merged into an existing row, the previous state's
-- contribution to span_units_hourly, read under the row lock (RETURNING gives the writer both).
--
-- span_units_hourly: per project, UTC hour, kind, tool_name, status: units, number of units
-- with a duration, and the sum of those durations. Non-tool spans add one unit each. A tool
-- call contributes to the hour of its first event only while it is single-hour; when a later
-- event changes it, the writer subtracts the old contribution and adds the new one. Multi-hour
-- calls and calls at partial-hour range edges are read from span_tool_calls / raw spans.

CREATE TABLE pulse.span_tool_calls (
    project_id   uuid NOT NULL,
    call_id      text NOT NULL,              -- tool_use_id, else span_id::text
    first_ts     timestamptz NOT NULL,
    last_ts      timestamptz NOT NULL,
    events       bigint NOT NULL,
    tool_name    text,
    errors       bigint NOT NULL,
    successes    bigint NOT NULL,
    duration_ms  double precision,
    multi_hour   boolean NOT NULL,
    p_single     boolean NOT NULL DEFAULT false,  -- previous state was counted hourly
    p_bucket     timestamptz,
    p_tool_name  text,
    p_status     text,
    p_duration   double precision,
    PRIMARY KEY (project_id, call_id)
);
CREATE INDEX span_tool_calls_first_idx ON pulse.span_tool_calls (project_id, first_ts);
CREATE INDEX span_tool_calls_multi_idx ON pulse.span_tool_calls (project_id, last_ts)
    WHERE multi_hour;

CREATE TABLE pulse.span_units_hourly (
    project_id  uuid NOT NULL,
    bucket      timestamptz NOT NULL,
    kind        text NOT NULL,
    tool_name   text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT '',
    units       bigint NOT NULL,
    dur_n       bigint NOT NULL,
    dur_sum     double precision NOT NULL
);
CREATE UNIQUE INDEX span_units_hourly_key ON pulse.span_units_hourly
    (project_id, bucket, kind, tool_name, status);

-- Backfill (rollups.rebuild_statements runs the same statements after a bulk load).
INSERT INTO pulse.span_tool_calls (project_id, call_id, first_ts, last_ts, events, tool_name,
    errors, successes, duration_ms, multi_hour)
SELECT project_id, coalesce(tool_use_id, span_id::text), min("timestamp"), max("timestamp"),
       count(*), max(tool_name), count(*) FILTER (WHERE status = 'error'),
       count(*) FILTER (WHERE status = 'success'), max(duration_ms),
       date_trunc('hour', min("timestamp"), 'UTC') <> date_trunc('hour', max("timestamp"), 'UTC')
FROM pulse.spans WHERE kind = 'tool_use'
GROUP BY 1, 2;

INSERT INTO pulse.span_units_hourly (project_id, bucket, kind, tool_name, status, units, dur_n,
    dur_sum)
SELECT project_id, date_trunc('hour', first_ts, 'UTC'), 'tool_use', coalesce(tool_name, ''),
       CASE WHEN errors > 0 THEN 'error' WHEN successes > 0 THEN 'success' ELSE '' END,
       count(*), count(d), coalesce(sum(d), 0)
FROM (SELECT *, coalesce(duration_ms, CASE WHEN events > 1
             THEN extract(epoch FROM last_ts - first_ts)::float8 * 1000 END) AS d
      FROM pulse.span_tool_calls WHERE NOT multi_hour) c
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO pulse.span_units_hourly (project_id, bucket, kind, tool_name, status, units, dur_n,
    dur_sum)
SELECT project_id, date_trunc('hour', "timestamp", 'UTC'), kind, '', coalesce(status, ''),
       count(*), count(duration_ms), coalesce(sum(duration_ms), 0)
FROM pulse.spans WHERE kind <> 'tool_use'
GROUP BY 1, 2, 3, 4, 5;
