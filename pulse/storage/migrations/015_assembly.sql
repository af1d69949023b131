-- 015: record assembly (docs/architecture.md "Record assembly", docs/mapping.md).
--
-- assembly: per-field precedence ranks of the pieces a row was merged from ({"field": rank},
-- only ranks that differ from the default; null for a row that is one ordinary record). Hidden:
-- never returned by the API nor the SQL views; the merge (pulse/mapping/merge.py) reads it so a
-- later piece is compared with the same keys, whatever the arrival order.
ALTER TABLE pulse.traces ADD COLUMN assembly jsonb;
ALTER TABLE pulse.spans ADD COLUMN assembly jsonb;

-- The negation of a latency histogram: a merge takes a row's old contribution out of the rollups.
CREATE FUNCTION pulse.hist_neg(a integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(-coalesce(x, 0) ORDER BY i) FROM unnest(a) WITH ORDINALITY AS u(x, i)
$$;
