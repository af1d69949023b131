"""Acceptance 3: every Grafana panel's SQL (and every variable query) runs against a seeded
database, with Grafana's macros and variables expanded, as the read-only role."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from pulse.records import SpanRecord, TraceRecord
from pulse.storage import writer
from tests.conftest import make_project

GRAFANA = Path(__file__).resolve().parent.parent / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
T0 = datetime(2026, 2, 10, 8, tzinfo=UTC)
FROM, TO = T0 - timedelta(days=1), T0 + timedelta(days=1)
INTERVAL = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(interval: str) -> int:
    m = re.fullmatch(r"'?(\d+)([smhd])'?", interval.strip())
    assert m, f"unsupported interval {interval!r}"
    return int(m.group(1)) * INTERVAL[m.group(2)]


def _time_group(col: str, interval: str, alias: bool) -> str:
    s = _seconds(interval)
    expr = f"to_timestamp(floor(extract(epoch from {col}) / {s}) * {s})"
    return f'{expr} AS "time"' if alias else expr


def expand(sql: str, variables: dict[str, list[str]]) -> str:
    """Grafana's PostgreSQL macros and (multi-value) template variables, as Grafana renders."""
    iso = lambda t: f"'{t.isoformat()}'"  # noqa: E731
    sql = sql.replace("$__interval", "1h")
    sql = re.sub(r"\$__timeFilter\(([^)]*)\)",
                 lambda m: f"{m.group(1)} BETWEEN {iso(FROM)} AND {iso(TO)}", sql)
    sql = re.sub(r"\$__timeGroupAlias\(([^,]*),([^)]*)\)",
                 lambda m: _time_group(m.group(1), m.group(2), True), sql)
    sql = re.sub(r"\$__timeGroup\(([^,]*),([^)]*)\)",
                 lambda m: _time_group(m.group(1), m.group(2), False), sql)
    sql = sql.replace("$__timeFrom()", iso(FROM)).replace("$__timeTo()", iso(TO))
    for name, values in variables.items():
        rendered = ",".join("'" + v.replace("'", "''") + "'" for v in values)
        sql = re.sub(r"\$\{" + name + r"(:[a-z]+)?\}|\$" + name + r"\b", rendered, sql)
    assert "$" not in sql, f"unexpanded macro or variable in {sql}"
    return sql


def _panels(dashboard: dict) -> list[tuple[str, str]]:
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["rawSql"]))
    return out


@pytest_asyncio.fixture(loop_scope="session")
async def seeded(pool):
    p = await make_project(pool, "grafana")
    records: list = []
    for i in range(40):
        ts = T0 + timedelta(minutes=17 * i)
        records.append(TraceRecord(
            uuid.uuid4(), ts, ["openai", "anthropic"][i % 2], ["gpt-4o", "claude-x"][i % 2],
            {"messages": [{"role": "user", "content": f"q{i}"}]},
            "error" if i % 5 == 0 else "success", 100.0 + i, input_tokens=10, output_tokens=5,
            cost_cents=Decimal("0.5"), session_id=f"chat-{i % 4}", error={"m": "x"}))
        records.append(SpanRecord(
            uuid.uuid4(), f"agent-{i % 3}", ts, "claude_code", "tool_use",
            "pre_tool_use" if i % 2 == 0 else "post_tool_use", tool_use_id=f"tu-{i // 2}",
            tool_name=["Bash", "Read"][(i // 2) % 2], status="success"))
    records.append(SpanRecord(uuid.uuid4(), "agent-0", T0, "claude_code", "agent_run", "stop",
                              duration_ms=5000.0, status="success"))
    await writer.write_records(pool, [(p.id, r) for r in records])
    return p


def _variables(project_id) -> dict[str, list[str]]:
    return {"project": [str(project_id)], "provider": ["openai", "anthropic"],
            "model": ["gpt-4o", "claude-x"], "source": ["claude_code"]}


async def _run_readonly(pool, sql: str) -> list[tuple]:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE pulse_readonly")
        cur = await conn.execute(sql)
        return await cur.fetchall()


def test_datasource_and_dashboards_are_well_formed():
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/pulse.yaml").read_text())
    assert ds["datasources"][0]["uid"] == "pulse"
    assert {d.name for d in DASHBOARDS} >= {"llm.json", "agents.json"}
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert _panels(dashboard), path.name
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "pulse"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
async def test_every_panel_runs_and_returns_rows(pool, seeded, path):
    dashboard = json.loads(path.read_text())
    variables = _variables(seeded.id)
    for var in dashboard["templating"]["list"]:
        rows = await _run_readonly(pool, expand(var["query"], variables))
        assert rows, f"variable {var['name']} has no values"
    for title, sql in _panels(dashboard):
        rows = await _run_readonly(pool, expand(sql, variables))
        assert rows, f"panel {title!r} returned no rows"
        assert all(v is not None for v in rows[0][:1]), title


async def test_numbers_match_the_seed(pool, seeded):
    llm = json.loads((GRAFANA / "dashboards/llm.json").read_text())
    sql = dict(_panels(llm))
    variables = _variables(seeded.id)
    (cost,), = await _run_readonly(pool, expand(sql["Total cost (USD)"], variables))
    (requests,), = await _run_readonly(pool, expand(sql["Requests"], variables))
    (errors,), = await _run_readonly(pool, expand(sql["Error rate"], variables))
    assert (cost, requests, errors) == (Decimal("0.2"), 40, 20)
    only_openai = {**variables, "provider": ["openai"]}
    (requests,), = await _run_readonly(pool, expand(sql["Requests"], only_openai))
    assert requests == 20
    agents = dict(_panels(json.loads((GRAFANA / "dashboards/agents.json").read_text())))
    (calls,), = await _run_readonly(pool, expand(agents["Tool calls"], variables))
    assert calls == 20  # 40 hook events, paired by tool_use_id


def test_expand_renders_macros_and_multi_values():
    sql = expand("SELECT $__timeGroupAlias(ts, $__interval) WHERE $__timeFilter(ts)"
                 " AND p IN ($provider) AND q IN (${model:sqlstring})",
                 {"provider": ["a", "b'c"], "model": ["m"]})
    assert "floor(extract(epoch from ts) / 3600) * 3600) AS \"time\"" in sql
    assert "p IN ('a','b''c')" in sql and "q IN ('m')" in sql and "BETWEEN" in sql
