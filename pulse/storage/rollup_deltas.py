"""Rollups when record assembly replaced stored trace rows (storage/assembly.py): the statements
the writer runs instead of ``rollups.after_insert("traces")`` for such a batch.

Additive rollups (usage hourly/daily, list counts) get "plus new, minus replaced" in one ordered
upsert each, so concurrent writers lock rollup rows in the same order; rows left at zero go.
Distinct-session sets lose a (bucket, session) only when no raw row still has it; the llm session
summaries of the sessions a merge touched are recomputed from the raw rows. Replaced rows are in
``pulse_traces_gone``, new and replacement rows in ``pulse_traces_new`` (same columns).
"""

from __future__ import annotations

from pulse.storage.rollups import (
    _LLM_SUMMARY,
    _SESSION_DAILY,
    _SESSION_HOURLY,
    _SESSION_MODEL_DAILY,
    _TRACE_COUNTS,
    TRACE_NEW,
    USAGE_ADD,
    USAGE_COLUMNS,
)

_USAGE_SIGNED = USAGE_COLUMNS + """
SELECT project_id, date_trunc('{unit}', ts, 'UTC'), provider, model, status, sum(sign),
       coalesce(sum(sign * input_tokens), 0), coalesce(sum(sign * output_tokens), 0),
       coalesce(sum(sign * cost_cents), 0), sum(sign * latency_ms),
       pulse.hist_add(
           pulse.latency_hist(array_agg(pulse.latency_bin(latency_ms)) FILTER (WHERE sign > 0)),
           pulse.hist_neg(pulse.latency_hist(
               array_agg(pulse.latency_bin(latency_ms)) FILTER (WHERE sign < 0))))
FROM (SELECT *, 1 AS sign FROM pulse_traces_new
      UNION ALL SELECT *, -1 AS sign FROM pulse_traces_gone) d
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
""" + USAGE_ADD
_USAGE_ZERO = """
DELETE FROM pulse.{table} t USING (SELECT DISTINCT project_id, date_trunc('{unit}', ts, 'UTC')
    AS bucket, provider, model, status FROM pulse_traces_gone) g
WHERE t.project_id = g.project_id AND t.bucket = g.bucket AND t.provider = g.provider
  AND t.model = g.model AND t.status = g.status AND t.requests = 0
"""
_COUNTS_SIGNED = _TRACE_COUNTS.replace("count(*)", "sum(sign)").replace(
    "FROM pulse_traces_new", "FROM (SELECT *, 1 AS sign FROM pulse_traces_new"
    " UNION ALL SELECT *, -1 AS sign FROM pulse_traces_gone) d")
_COUNTS_ZERO = "DELETE FROM pulse.trace_counts_hourly t USING (SELECT DISTINCT project_id," \
    " date_trunc('hour', ts, 'UTC') AS bucket FROM pulse_traces_gone) g" \
    " WHERE t.project_id = g.project_id AND t.bucket = g.bucket AND t.n = 0"
_SET_GONE = """
DELETE FROM pulse.{table} s USING (SELECT DISTINCT project_id, date_trunc('{unit}', ts, 'UTC')
    AS bucket, provider, model, session_id FROM pulse_traces_gone
    WHERE session_id IS NOT NULL) g
WHERE s.project_id = g.project_id AND s.bucket = g.bucket AND s.session_id = g.session_id{match}
  AND NOT EXISTS (SELECT 1 FROM pulse.traces r WHERE r.project_id = g.project_id
      AND r.session_id = g.session_id AND r."timestamp" >= g.bucket
      AND r."timestamp" < g.bucket + interval '1 {unit}'{raw_match})
"""
_BY_MODEL = (" AND s.provider = g.provider AND s.model = g.model",
             " AND r.provider = g.provider AND r.model_requested = g.model")
# the sessions a merge touched: the replaced rows' and their replacements'
_TOUCHED = """(SELECT project_id, session_id FROM pulse_traces_gone WHERE session_id IS NOT NULL
    UNION SELECT n.project_id, n.session_id FROM pulse_traces_new n
    JOIN pulse_traces_gone g ON g.project_id = n.project_id AND g.trace_id = n.trace_id
    WHERE n.session_id IS NOT NULL)"""
_SUMMARY_DROP = f"""
DELETE FROM pulse.session_summaries s USING {_TOUCHED} a
WHERE s.project_id = a.project_id AND s.session_id = a.session_id AND s.kind = 'llm'
"""


def after_merge_traces() -> list[str]:
    """The statements that fold a batch into the rollups when merged rows replaced stored ones
    (instead of after_insert("traces")): additive rollups get "plus new, minus replaced" in one
    ordered upsert each (concurrent writers then lock rollup rows in the same order)."""
    cols = ", ".join(f"{expr} AS {name}" for name, _, expr in TRACE_NEW)
    raw = (f"(SELECT {cols} FROM (SELECT r.* FROM pulse.traces r JOIN {_TOUCHED} a"
           " ON r.project_id = a.project_id AND r.session_id = a.session_id) r)"
           " pulse_traces_new")
    return [
        _USAGE_SIGNED.format(table="llm_usage_hourly", unit="hour"),
        _USAGE_SIGNED.format(table="llm_usage_daily", unit="day"),
        _USAGE_ZERO.format(table="llm_usage_hourly", unit="hour"),
        _USAGE_ZERO.format(table="llm_usage_daily", unit="day"),
        _SESSION_HOURLY,
        _SESSION_DAILY,
        _SESSION_MODEL_DAILY,
        _SET_GONE.format(table="llm_session_hourly", unit="hour", match=_BY_MODEL[0],
                         raw_match=_BY_MODEL[1]),
        _SET_GONE.format(table="llm_session_daily", unit="day", match="", raw_match=""),
        _SET_GONE.format(table="llm_session_model_daily", unit="day", match=_BY_MODEL[0],
                         raw_match=_BY_MODEL[1]),
        _LLM_SUMMARY.replace("WHERE session_id IS NOT NULL", "WHERE session_id IS NOT NULL"
                             f" AND (project_id, session_id) NOT IN (SELECT * FROM {_TOUCHED} x)"),
        _SUMMARY_DROP,
        _LLM_SUMMARY.replace("FROM pulse_traces_new", f"FROM {raw}"),
        _COUNTS_SIGNED,
        _COUNTS_ZERO,
    ]
