-- The first user prompt also from the OTel GenAI "parts" model ({role, parts: [{type: text,
-- content}]}) that the mapping stores for gen_ai.input.messages, and from "contents"; text parts
-- concatenated as the mapping does (pulse/mapping/content.py message_text). At most 500
-- characters; NULL when there is none. The writer's rollups call this function, so new rows
-- use it at once; summaries of existing sessions without a prompt are backfilled below.
CREATE OR REPLACE FUNCTION pulse.first_prompt(body jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(coalesce(
        (SELECT coalesce(
                    CASE WHEN jsonb_typeof(m->'content') = 'string' THEN m->>'content' END,
                    (SELECT string_agg(coalesce(p->>'text', p->>'content'), '' ORDER BY j)
                     FROM jsonb_array_elements(
                         CASE WHEN jsonb_typeof(m->'parts') = 'array' THEN m->'parts'
                              WHEN jsonb_typeof(m->'content') = 'array' THEN m->'content'
                              WHEN jsonb_typeof(m->'contents') = 'array' THEN m->'contents'
                              ELSE '[]'::jsonb END) WITH ORDINALITY AS q(p, j)
                     WHERE jsonb_typeof(p) = 'object'
                       AND coalesce(p->>'type', 'text') IN ('text', 'input_text')
                       AND (jsonb_typeof(p->'text') = 'string'
                            OR jsonb_typeof(p->'content') = 'string')))
         FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body->'messages') = 'array'
                                        THEN body->'messages' ELSE '[]'::jsonb END)
              WITH ORDINALITY AS e(m, i)
         WHERE jsonb_typeof(m) = 'object' AND m->>'role' = 'user'
         ORDER BY i LIMIT 1),
        CASE WHEN jsonb_typeof(body->'prompt') = 'string' THEN body->>'prompt' END,
        CASE WHEN jsonb_typeof(body->'input') = 'string' THEN body->>'input' END), 500)
$$;

UPDATE pulse.session_summaries ss
SET first_prompt = x.prompt, first_prompt_ts = x.ts
FROM (
    SELECT DISTINCT ON (project_id, session_id) project_id, session_id, "timestamp" AS ts,
           pulse.first_prompt(request_body) AS prompt
    FROM pulse.traces
    WHERE session_id IS NOT NULL AND pulse.first_prompt(request_body) IS NOT NULL
      AND (project_id, session_id) IN (SELECT project_id, session_id FROM pulse.session_summaries
                                       WHERE kind = 'llm' AND first_prompt IS NULL)
    ORDER BY project_id, session_id, "timestamp"
) x
WHERE ss.kind = 'llm' AND ss.first_prompt IS NULL
  AND ss.project_id = x.project_id AND ss.session_id = x.session_id;
