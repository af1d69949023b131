"""Print what each captured export request holds: spans, log events, metrics, and their ids.

    python scripts/capture/summarize.py tests/data/otlp/captures/<scenario> [--attrs]

One line per span / log record / metric, with the short ids that join them
(trace id, span id, parent span id) and, with --attrs, every attribute key
(and short values). Used to write the captures README.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def value(v: dict):
    if not v:
        return None
    (kind, val), = v.items()
    if kind == "arrayValue":
        return [value(x) for x in val.get("values", [])]
    if kind == "kvlistValue":
        return {kv["key"]: value(kv.get("value", {})) for kv in val.get("values", [])}
    return val


def attrs(items: list) -> dict:
    return {a["key"]: value(a.get("value", {})) for a in items or []}


def short(v, n: int = 70) -> str:
    s = v if isinstance(v, str) else json.dumps(v)
    return s if len(s) <= n else s[:n] + f"...({len(s)})"


def show(a: dict, full: bool) -> str:
    if not full:
        return ""
    return "".join(f"\n        {k} = {short(v)}" for k, v in a.items())


def summarize(path: Path, full: bool) -> None:
    doc = json.loads(path.read_text())
    print(f"== {path.name}")
    for rs in doc.get("resourceSpans", []):
        print(f"  resource: {short(attrs(rs.get('resource', {}).get('attributes')), 300)}")
        for ss in rs.get("scopeSpans", []):
            print(f"  scope {ss['scope'].get('name')} {ss['scope'].get('version', '')}")
            for s in ss.get("spans", []):
                print(f"    span {s['name']!r} t={s['traceId'][:8]} s={s['spanId'][:8]} "
                      f"p={s.get('parentSpanId', '')[:8]} kind={s.get('kind')} "
                      f"status={s.get('status', {}).get('code', 0)}"
                      f" events={[e['name'] for e in s.get('events', [])]}"
                      + show(attrs(s.get("attributes")), full))
    for rl in doc.get("resourceLogs", []):
        print(f"  resource: {short(attrs(rl.get('resource', {}).get('attributes')), 300)}")
        for sl in rl.get("scopeLogs", []):
            print(f"  scope {sl['scope'].get('name')} {sl['scope'].get('version', '')}")
            for r in sl.get("logRecords", []):
                a = attrs(r.get("attributes"))
                name = r.get("eventName") or a.get("event.name")
                print(f"    log {name!r} t={r.get('traceId', '')[:8]} s={r.get('spanId', '')[:8]}"
                      f" body={short(value(r.get('body', {})), 60)}" + show(a, full))
    for rm in doc.get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            print(f"  scope {sm['scope'].get('name')}: "
                  + ", ".join(m["name"] for m in sm.get("metrics", [])))


def main(argv: list[str]) -> None:
    full = "--attrs" in argv
    for arg in (a for a in argv if a != "--attrs"):
        p = Path(arg)
        for f in sorted(p.glob("[0-9][0-9]-*.json")) if p.is_dir() else [p]:
            summarize(f, full)


if __name__ == "__main__":
    main(sys.argv[1:])
