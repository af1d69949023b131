from tests.factories import trace_item
from tests.helpers import get_when


async def test_health(http):
    r = await http.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "service": "pulse"}


async def test_async_trace_roundtrip(http, project):
    item = trace_item()
    r = await http.post("/v1/traces/async", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "queued", "count": 1}
    got = await get_when(http, f"/v1/traces/{item['trace_id']}", project.headers)
    assert got.status_code == 200
    assert got.json()["costCents"] == 0.75
