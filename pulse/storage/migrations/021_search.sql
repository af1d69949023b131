-- Full-text search over prompts, outputs and tool inputs/outputs (GET /v1/traces?q=,
-- GET /v1/spans?q=, the dashboard's search boxes). PostgreSQL's built-in full text, so it works
-- on the embedded plain PostgreSQL as on TimescaleDB. The 'simple' configuration (no stemming,
-- no stop words: code, paths and identifiers are searched as written). Each document is the
-- string values of the JSON it covers, cut to 100,000 characters, so a huge body can neither make
-- a row unstorable (a tsvector is at most 1 MB) nor slow ingest down without bound. Slashes,
-- dots and backslashes become spaces (in documents and queries alike, pulse.search_query), so
-- the parts of a path or a dotted name are words: "test_parser" finds "tests/test_parser.py".

-- Every string value inside a JSON document (any depth), space-separated.
CREATE FUNCTION pulse.search_text(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(v #>> '{}', ' ')
    FROM jsonb_path_query(coalesce(doc, 'null'::jsonb), 'strict $.**') AS v
    WHERE jsonb_typeof(v) = 'string'
$$;

-- A trace: its request body (prompts, system text, tool definitions) and its output text.
CREATE FUNCTION pulse.trace_search_doc(request_body jsonb, output_text text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple'::regconfig, translate(left(
        coalesce(pulse.search_text(request_body), '') || ' ' || coalesce(output_text, ''),
        100000), '/.\', '   '))
$$;

-- A span: its tool input and response, and the prompt or text of prompt / notification spans.
CREATE FUNCTION pulse.span_search_doc(tool_input jsonb, tool_response jsonb, metadata jsonb)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple'::regconfig, translate(left(
        coalesce(pulse.search_text(tool_input), '') || ' '
        || coalesce(pulse.search_text(tool_response), '') || ' '
        || coalesce(metadata->>'prompt', '') || ' ' || coalesce(metadata->>'message', ''),
        100000), '/.\', '   '))
$$;

-- The query for a search string: web search syntax ("a phrase", -not, or), the same splitting.
CREATE FUNCTION pulse.search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT websearch_to_tsquery('simple'::regconfig, translate(q, '/.\', '   '))
$$;

CREATE INDEX traces_search_idx ON pulse.traces
    USING gin (pulse.trace_search_doc(request_body, output_text));
CREATE INDEX spans_search_idx ON pulse.spans
    USING gin (pulse.span_search_doc(tool_input, tool_response, metadata));
