-- 004: analytics rollups maintained on write, session summaries, custom model prices.
--
-- Rollups (storage/rollups.py keeps them in the writer's transaction, from NEWLY inserted rows
-- only, so redelivery never double-counts): one row per (project, bucket, provider, model, status)
-- with request count, token and cost sums, latency sum and a latency histogram. The histogram has
-- fixed log-spaced bins (pulse.latency_bin): bin 1 holds latencies below 1 ms, bin b >= 2 holds
-- [2^((b-2)/8), 2^((b-1)/8)) ms, the last bin everything above ~37 hours. A percentile read from it
-- is within 4.5 % of the true value (above 1 ms). Plain tables on purpose: continuous aggregates
-- need the Timescale license (docs/architecture.md §Storage).

CREATE FUNCTION pulse.latency_bin(latency_ms double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN latency_ms IS NULL OR latency_ms < 1 THEN 1
                ELSE least(218, 2 + floor(8 * ln(latency_ms) / ln(2.0::float8))::integer) END
$$;

-- Histogram of a set of bins: int[218], element b = how many latencies fell into bin b.
CREATE FUNCTION pulse.latency_hist(bins integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(coalesce(c.n, 0) ORDER BY g.i)
    FROM generate_series(1, 218) AS g(i)
    LEFT JOIN (SELECT b, count(*)::integer AS n FROM unnest(bins) AS b GROUP BY b) c ON c.b = g.i
$$;

CREATE FUNCTION pulse.hist_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i)
    FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
$$;

CREATE TABLE pulse.llm_usage_hourly (
    project_id     uuid NOT NULL,
    bucket         timestamptz NOT NULL,      -- start of the UTC hour
    provider       text NOT NULL,
    model          text NOT NULL,             -- model_requested
    status         text NOT NULL,
    requests       bigint NOT NULL,
    -- numeric, not bigint: a sum of int64 token counts must not overflow the rollup (and with it
    -- the write of the rows it summarises)
    input_tokens   numeric NOT NULL,          -- sums treat a null token count as 0
    output_tokens  numeric NOT NULL,
    cost_cents     numeric(24, 6) NOT NULL,   -- sum of known costs (null cost counts as 0)
    latency_sum    double precision NOT NULL,
    latency_hist   integer[] NOT NULL,
    PRIMARY KEY (project_id, bucket, provider, model, status)
);

-- Same columns, UTC days: 30-day analytics read ~30 rows per series instead of ~720.
CREATE TABLE pulse.llm_usage_daily (LIKE pulse.llm_usage_hourly INCLUDING ALL);

-- Distinct sessions per hour and series, so totalSessions stays exact on top of rollups.
CREATE TABLE pulse.llm_session_hourly (
    project_id  uuid NOT NULL,
    bucket      timestamptz NOT NULL,
    provider    text NOT NULL,
    model       text NOT NULL,
    session_id  text NOT NULL,
    PRIMARY KEY (project_id, bucket, provider, model, session_id)
);

-- One row per session and kind ('llm' from traces, 'agent' from spans): GET /v1/sessions.
CREATE TABLE pulse.session_summaries (
    project_id        uuid NOT NULL,
    session_id        text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('llm', 'agent')),
    first_ts          timestamptz NOT NULL,
    last_ts           timestamptz NOT NULL,
    items             bigint NOT NULL,        -- traces or spans
    tool_calls        bigint NOT NULL DEFAULT 0,
    input_tokens      numeric NOT NULL DEFAULT 0,  -- numeric: sums of int64 counts
    output_tokens     numeric NOT NULL DEFAULT 0,
    cost_cents        numeric(24, 6) NOT NULL DEFAULT 0,
    errors            bigint NOT NULL DEFAULT 0,
    source            text,                   -- agent source, or the provider of the first trace
    model             text,
    first_prompt      text,
    first_prompt_ts   timestamptz,
    PRIMARY KEY (project_id, kind, session_id)
);
CREATE INDEX session_summaries_last_idx ON pulse.session_summaries (project_id, last_ts DESC);
CREATE INDEX session_summaries_source_idx
    ON pulse.session_summaries (project_id, source, last_ts DESC);

-- Prices for models genai-prices does not know, USD per million tokens. project_id NULL: a
-- price from the configuration file, for every project; a project's own row wins. provider
-- NULL matches any provider. Applied by the writer only when a trace has no cost.
CREATE TABLE pulse.model_prices (
    id                   bigserial PRIMARY KEY,
    project_id           uuid,
    provider             text,
    model                text NOT NULL,
    input_per_mtok       numeric(20, 6) NOT NULL CHECK (input_per_mtok >= 0),
    output_per_mtok      numeric(20, 6) NOT NULL CHECK (output_per_mtok >= 0),
    cache_read_per_mtok  numeric(20, 6) CHECK (cache_read_per_mtok >= 0),
    cache_write_per_mtok numeric(20, 6) CHECK (cache_write_per_mtok >= 0),
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX model_prices_key ON pulse.model_prices (
    coalesce(project_id, '00000000-0000-0000-0000-000000000000'::uuid),
    coalesce(provider, ''), model);

-- Custom cost in cents of one call, or NULL when no custom price matches.
CREATE FUNCTION pulse.custom_cost_cents(
    p_project uuid, p_provider text, p_model_used text, p_model_requested text,
    p_input bigint, p_output bigint, p_metadata jsonb
) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT round((
        greatest(coalesce(p_input, 0) - cr - cw, 0) * mp.input_per_mtok
        + cr * coalesce(mp.cache_read_per_mtok, mp.input_per_mtok)
        + cw * coalesce(mp.cache_write_per_mtok, mp.input_per_mtok)
        + coalesce(p_output, 0) * mp.output_per_mtok) / 10000, 6)
    FROM pulse.model_prices mp,
         LATERAL (SELECT
             coalesce(CASE WHEN jsonb_typeof(p_metadata->'cache_read_input_tokens') = 'number'
                           THEN (p_metadata->>'cache_read_input_tokens')::numeric END, 0) AS cr,
             coalesce(CASE WHEN jsonb_typeof(p_metadata->'cache_creation_input_tokens') = 'number'
                           THEN (p_metadata->>'cache_creation_input_tokens')::numeric END, 0) AS cw
         ) c
    WHERE (mp.project_id = p_project OR mp.project_id IS NULL)
      AND (mp.provider = p_provider OR mp.provider IS NULL)
      AND mp.model IN (p_model_used, p_model_requested)
      AND (p_input IS NOT NULL OR p_output IS NOT NULL)
    ORDER BY mp.project_id NULLS LAST, (mp.model = p_model_used) DESC, mp.provider NULLS LAST
    LIMIT 1
$$;

-- The first user prompt of an LLM request body (OpenAI/Anthropic "messages", or "prompt" /
-- "input" strings), at most 500 characters; NULL when there is none.
CREATE FUNCTION pulse.first_prompt(body jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(coalesce(
        (SELECT CASE jsonb_typeof(m->'content')
                    WHEN 'string' THEN m->>'content'
                    WHEN 'array' THEN (SELECT string_agg(p->>'text', ' ')
                                       FROM jsonb_array_elements(m->'content') AS p
                                       WHERE jsonb_typeof(p) = 'object' AND p ? 'text') END
         FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body->'messages') = 'array'
                                        THEN body->'messages' ELSE '[]'::jsonb END)
              WITH ORDINALITY AS e(m, i)
         WHERE jsonb_typeof(m) = 'object' AND m->>'role' = 'user'
         ORDER BY i LIMIT 1),
        CASE WHEN jsonb_typeof(body->'prompt') = 'string' THEN body->>'prompt' END,
        CASE WHEN jsonb_typeof(body->'input') = 'string' THEN body->>'input' END), 500)
$$;

-- Backfill: rows stored before this migration enter the rollups once (rollups.rebuild_statements).

INSERT INTO pulse.llm_usage_hourly AS t (project_id, bucket, provider, model, status, requests,
    input_tokens, output_tokens, cost_cents, latency_sum, latency_hist)
SELECT project_id, date_trunc('hour', ts, 'UTC'), provider, model, status, count(*),
       coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
       coalesce(sum(cost_cents), 0), sum(latency_ms),
       pulse.latency_hist(array_agg(pulse.latency_bin(latency_ms)))
FROM (SELECT project_id AS project_id, "timestamp" AS ts, session_id AS session_id, provider AS provider, model_requested AS model, status AS status, input_tokens AS input_tokens, output_tokens AS output_tokens, cost_cents AS cost_cents, latency_ms AS latency_ms, CASE WHEN session_id IS NOT NULL THEN pulse.first_prompt(request_body) END AS prompt FROM pulse.traces) pulse_traces_new
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (project_id, bucket, provider, model, status) DO UPDATE SET
    requests = t.requests + excluded.requests,
    input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens,
    cost_cents = t.cost_cents + excluded.cost_cents,
    latency_sum = t.latency_sum + excluded.latency_sum,
    latency_hist = pulse.hist_add(t.latency_hist, excluded.latency_hist)
;

INSERT INTO pulse.llm_usage_daily AS t (project_id, bucket, provider, model, status, requests,
    input_tokens, output_tokens, cost_cents, latency_sum, latency_hist)
SELECT project_id, date_trunc('day', ts, 'UTC'), provider, model, status, count(*),
       coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
       coalesce(sum(cost_cents), 0), sum(latency_ms),
       pulse.latency_hist(array_agg(pulse.latency_bin(latency_ms)))
FROM (SELECT project_id AS project_id, "timestamp" AS ts, session_id AS session_id, provider AS provider, model_requested AS model, status AS status, input_tokens AS input_tokens, output_tokens AS output_tokens, cost_cents AS cost_cents, latency_ms AS latency_ms, CASE WHEN session_id IS NOT NULL THEN pulse.first_prompt(request_body) END AS prompt FROM pulse.traces) pulse_traces_new
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (project_id, bucket, provider, model, status) DO UPDATE SET
    requests = t.requests + excluded.requests,
    input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens,
    cost_cents = t.cost_cents + excluded.cost_cents,
    latency_sum = t.latency_sum + excluded.latency_sum,
    latency_hist = pulse.hist_add(t.latency_hist, excluded.latency_hist)
;

INSERT INTO pulse.llm_session_hourly (project_id, bucket, provider, model, session_id)
SELECT DISTINCT project_id, date_trunc('hour', ts, 'UTC'), provider, model, session_id
FROM (SELECT project_id AS project_id, "timestamp" AS ts, session_id AS session_id, provider AS provider, model_requested AS model, status AS status, input_tokens AS input_tokens, output_tokens AS output_tokens, cost_cents AS cost_cents, latency_ms AS latency_ms, CASE WHEN session_id IS NOT NULL THEN pulse.first_prompt(request_body) END AS prompt FROM pulse.traces) pulse_traces_new WHERE session_id IS NOT NULL
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT DO NOTHING
;

INSERT INTO pulse.session_summaries AS t (project_id, session_id, kind, first_ts, last_ts, items,
    input_tokens, output_tokens, cost_cents, errors, source, model, first_prompt, first_prompt_ts)
SELECT project_id, session_id, 'llm', min(ts), max(ts), count(*),
       coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
       coalesce(sum(cost_cents), 0), count(*) FILTER (WHERE status = 'error'),
       (array_agg(provider ORDER BY ts))[1], (array_agg(model ORDER BY ts))[1],
       (array_agg(prompt ORDER BY ts) FILTER (WHERE prompt IS NOT NULL))[1],
       min(ts) FILTER (WHERE prompt IS NOT NULL)
FROM (SELECT project_id AS project_id, "timestamp" AS ts, session_id AS session_id, provider AS provider, model_requested AS model, status AS status, input_tokens AS input_tokens, output_tokens AS output_tokens, cost_cents AS cost_cents, latency_ms AS latency_ms, CASE WHEN session_id IS NOT NULL THEN pulse.first_prompt(request_body) END AS prompt FROM pulse.traces) pulse_traces_new WHERE session_id IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2

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
;

INSERT INTO pulse.session_summaries AS t (project_id, session_id, kind, first_ts, last_ts, items,
    tool_calls, errors, source, model, first_prompt, first_prompt_ts)
SELECT project_id, session_id, 'agent', min(ts), max(ts), count(*),
       count(DISTINCT coalesce(tool_use_id, span_id::text)) FILTER (WHERE kind = 'tool_use'),
       count(*) FILTER (WHERE status = 'error'),
       (array_agg(source ORDER BY ts))[1],
       (array_agg(model ORDER BY ts) FILTER (WHERE model IS NOT NULL))[1],
       (array_agg(prompt ORDER BY ts) FILTER (WHERE prompt IS NOT NULL))[1],
       min(ts) FILTER (WHERE prompt IS NOT NULL)
FROM (SELECT project_id AS project_id, span_id AS span_id, "timestamp" AS ts, session_id AS session_id, source AS source, kind AS kind, status AS status, tool_use_id AS tool_use_id, model AS model, CASE WHEN kind = 'user_prompt' THEN left(coalesce(metadata->>'prompt', tool_input->>'prompt', CASE WHEN jsonb_typeof(tool_input) = 'string' THEN tool_input #>> '{}' END), 500) END AS prompt FROM pulse.spans) pulse_spans_new
GROUP BY 1, 2
;
