-- 011: distinct LLM sessions per project, UTC day, provider and model.
--
-- GET /v1/analytics with group_by=model/provider or a provider/model filter counts distinct
-- sessions per group exactly. Without this table it read pulse.llm_session_hourly (004) over
-- every hour of the range (a session active for hours has one row per hour); with it, whole days
-- come from here (one row per day, provider, model and session), whole edge hours from
-- llm_session_hourly, partial hours from raw rows, and count(DISTINCT session_id) over the union
-- stays equal to the raw computation (storage/analytics.py). Maintained by the writer from newly
-- inserted rows (storage/rollups.py); it is a set, so redelivery changes nothing. Pruned by
-- retention like llm_session_daily (storage/retention.py).

CREATE TABLE pulse.llm_session_model_daily (
    project_id  uuid NOT NULL,
    bucket      timestamptz NOT NULL,   -- start of the UTC day
    provider    text NOT NULL,
    model       text NOT NULL,          -- model_requested
    session_id  text NOT NULL,
    PRIMARY KEY (project_id, bucket, provider, model, session_id)
);

-- Backfill from the hourly sets (exactly the raw rows' (hour, provider, model, session) set;
-- rollups.rebuild_statements recomputes it from raw rows after a bulk load).
INSERT INTO pulse.llm_session_model_daily (project_id, bucket, provider, model, session_id)
SELECT DISTINCT project_id, date_trunc('day', bucket, 'UTC'), provider, model, session_id
FROM pulse.llm_session_hourly;

-- fresh statistics for the planner right away (autovacuum would take a while after a backfill)
ANALYZE pulse.llm_session_model_daily;
