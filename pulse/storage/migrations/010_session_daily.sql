-- 010: distinct LLM sessions per project and UTC day, without provider/model.
--
-- GET /v1/analytics counts distinct sessions exactly. pulse.llm_session_hourly (004) is keyed by
-- provider/model too, so a session that switches model has one row per model and hour; over 30
-- days the DISTINCT reads hundreds of thousands of rows. For queries without a provider/model
-- filter or grouping, whole days come from this table (one row per session and day) and only the
-- whole hours at the range edges from llm_session_hourly, the partial hours from raw rows
-- (storage/analytics.py). Maintained by the writer from newly inserted rows (storage/rollups.py);
-- it is a set, so redelivery changes nothing.

CREATE TABLE pulse.llm_session_daily (
    project_id  uuid NOT NULL,
    bucket      timestamptz NOT NULL,   -- start of the UTC day
    session_id  text NOT NULL,
    PRIMARY KEY (project_id, bucket, session_id)
);

-- Backfill (rollups.rebuild_statements runs the same statement after a bulk load).
INSERT INTO pulse.llm_session_daily (project_id, bucket, session_id)
SELECT DISTINCT project_id, date_trunc('day', "timestamp", 'UTC'), session_id
FROM pulse.traces WHERE session_id IS NOT NULL;
