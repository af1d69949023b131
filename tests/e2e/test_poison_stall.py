"""A writer that cannot commit while data waits is reported (issue 11): ``/health/ready`` answers
503 with a ``writer:`` reason and ``/metrics`` shows ``pulse_writer_stalled_seconds`` > 0, with the
database made unavailable (its own embedded PostgreSQL, stopped); once it is back, the writer
commits, the gauge returns to 0 and readiness to 200, and the span acknowledged meanwhile is
stored exactly once.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from pathlib import Path

import httpx

from pulse.config import Settings
from pulse.main import build_app, ingest_pipeline
from pulse.storage import accounts
from pulse.storage.db import EmbeddedPostgres, open_pool
from pulse.storage.migrate import migrate
from tests.e2e.test_faults import start_postgres, stop_postgres, stored_span_ids
from tests.factories import span_item
from tests.helpers import eventually
from tests.support.otlp import serve


async def stalled(http: httpx.AsyncClient) -> float:
    return stalled_seconds((await http.get("/metrics")).text)


def stalled_seconds(metrics_text: str) -> float:
    m = re.search(r"^pulse_writer_stalled_seconds (\S+)$", metrics_text, re.M)
    assert m, "pulse_writer_stalled_seconds is missing from /metrics"
    return float(m.group(1))


async def test_a_stalled_writer_is_reported_by_readiness_and_metrics(tmp_path):
    pg_home = Path(tempfile.mkdtemp(prefix="pulse-stall-"))
    embedded = EmbeddedPostgres(pg_home / "postgres")
    url = await asyncio.to_thread(embedded.start)
    await asyncio.to_thread(migrate, url, "auto")
    pool = open_pool(url, 4)
    await pool.open(wait=True)
    settings = Settings(database_url=url, writer_linger_ms=5, writer_stall_s=1,
                        shutdown_timeout_s=1)
    try:
        project_id = await accounts.create_project(pool, "stall")
        headers = {"Authorization": f"Bearer {(await accounts.create_key(pool, project_id)).key}"}
        async with ingest_pipeline(settings, pool, tmp_path / "queue") as pipeline:
            app = build_app(settings, pool, pipeline)
            async for base in serve(app):
                async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                    warm = [span_item(session_id="warm")]
                    assert (await http.post("/v1/spans/async", json=warm,
                                            headers=headers)).status_code == 202
                    idle = await eventually(lambda: stalled(http), lambda v: v == 0)
                    assert idle == 0  # the warm-up span committed: nothing waits

                    await asyncio.to_thread(stop_postgres, pg_home / "postgres")
                    item = span_item(session_id="during-outage")
                    r = await http.post("/v1/spans/async", json=[item], headers=headers)
                    assert r.status_code == 202, r.text  # the key is known: accepted from memory

                    ready = await eventually(
                        lambda: http.get("/health/ready"),
                        lambda r: any(x.startswith("writer:") for x in r.json().get("reasons", [])),
                        timeout=30)
                    assert ready.status_code == 503
                    reasons = ready.json()["reasons"]
                    assert any(x.startswith("writer: no commit for") and "1 entries queued" in x
                               for x in reasons), reasons
                    assert await stalled(http) >= 1

                    await asyncio.to_thread(start_postgres, pg_home / "postgres")
                    ready = await eventually(lambda: http.get("/health/ready"),
                                             lambda r: r.status_code == 200, timeout=60)
                    assert ready.status_code == 200, ready.text
                    idle = await eventually(lambda: stalled(http), lambda v: v == 0)
                    assert idle == 0
        ids = sorted(str(i) for i in await stored_span_ids(pool, project_id))
        assert ids == sorted([warm[0]["span_id"], item["span_id"]])
    finally:
        await pool.close()
        await asyncio.to_thread(embedded.stop)
        shutil.rmtree(pg_home, ignore_errors=True)
