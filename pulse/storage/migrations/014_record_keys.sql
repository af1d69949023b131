-- 014: one row per (project, id) by construction (issue 11 defect 2, docs/architecture.md
-- "Record assembly").
--
-- pulse.traces / pulse.spans are keyed (project_id, id, "timestamp"): a hypertable's unique keys
-- must include its partition column, so the table itself cannot refuse a second row for the same
-- id at another timestamp, and the writer's former NOT EXISTS check raced under READ COMMITTED.
-- These plain (never hyper) key tables hold one row per record id; the writer inserts the keys
-- first (INSERT ... ON CONFLICT DO NOTHING RETURNING) in the transaction that inserts the rows and
-- only the keys it really inserted get a row. A concurrent writer of the same key waits on the
-- unique index until the first commits, then sees the conflict. "timestamp" is the stored row's,
-- so the row can be found (chunk exclusion) and retention can drop keys with their rows.

CREATE TABLE pulse.trace_keys (
    project_id  uuid NOT NULL,
    trace_id    uuid NOT NULL,
    "timestamp" timestamptz NOT NULL,
    PRIMARY KEY (project_id, trace_id)
);

CREATE TABLE pulse.span_keys (
    project_id  uuid NOT NULL,
    span_id     uuid NOT NULL,
    "timestamp" timestamptz NOT NULL,
    PRIMARY KEY (project_id, span_id)
);

-- retention deletes keys older than its cutoff (storage/retention.py)
CREATE INDEX trace_keys_time_idx ON pulse.trace_keys ("timestamp");
CREATE INDEX span_keys_time_idx ON pulse.span_keys ("timestamp");

-- Backfill: the earliest row of an id is its key (rows duplicated by the old race stay; their
-- rollup contributions were counted when they were inserted).
INSERT INTO pulse.trace_keys (project_id, trace_id, "timestamp")
SELECT DISTINCT ON (project_id, trace_id) project_id, trace_id, "timestamp"
FROM pulse.traces ORDER BY project_id, trace_id, "timestamp";

INSERT INTO pulse.span_keys (project_id, span_id, "timestamp")
SELECT DISTINCT ON (project_id, span_id) project_id, span_id, "timestamp"
FROM pulse.spans ORDER BY project_id, span_id, "timestamp";
