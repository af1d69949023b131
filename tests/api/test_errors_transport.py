"""Ingest transport errors: bodies over the size limits (plain, chunked, inflated), unsupported
media types and encodings, corrupt compressed bodies - each a 4xx with the JSON error shape."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from tests.conftest import TEST_MAX_BODY
from tests.support.native import (
    INGEST_ROUTES,
    JSON_CT,
    assert_error,
    body_for,
    call,
    fetch,
    raw,
)

# ---- transport: size, media type, encoding -------------------------------------------------------

def big_body(route: str, size: int) -> bytes:
    item = body_for(route)[0]
    key = "output_text" if "/traces/" in route else "cwd"
    item[key] = "x" * size
    return raw([item])


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_oversized_body_413(http, project, route):
    r = await call(http, route, project.headers, content=big_body(route, TEST_MAX_BODY + 10))
    assert_error(r, 413)


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_body_just_under_limit_is_fine(http, project, route):
    body = big_body(route, 1000)
    body = big_body(route, 1000 + TEST_MAX_BODY - len(body) - 100)
    assert len(body) <= TEST_MAX_BODY
    r = await call(http, route, project.headers, content=body)
    assert r.status_code in (202, 400), r.text  # 400 only when a field length rule applies


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_oversized_chunked_body_413(server, project, route):
    async def chunks():
        for _ in range(40):
            yield b" " * 65536
        yield raw(body_for(route))

    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        try:
            r = await client.post(route, content=chunks(), headers={**JSON_CT, **project.headers})
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            pytest.fail(f"server dropped the connection instead of answering 413: {exc!r}")
    assert "content-length" not in r.request.headers
    assert_error(r, 413)


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_small_chunked_body_is_accepted(server, project, route):
    payload = raw(body_for(route))

    async def chunks():
        for i in range(0, len(payload), 50):
            yield payload[i:i + 50]

    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        r = await client.post(route, content=chunks(), headers={**JSON_CT, **project.headers})
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("ctype", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/x-protobuf", "application/xml",
])
async def test_wrong_content_type_415(http, project, route, ctype):
    r = await http.post(route, content=raw(body_for(route)),
                        headers={**project.headers, "Content-Type": ctype})
    assert_error(r, 415)


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "APPLICATION/JSON"])
async def test_json_content_type_variants_accepted(http, project, route, ctype):
    r = await http.post(route, content=raw(body_for(route)),
                        headers={**project.headers, "Content-Type": ctype})
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_body_accepted(http, project, route, encoding):
    items = body_for(route)
    data = raw(items)
    packed = gzip.compress(data) if encoding == "gzip" else zlib.compress(data)
    r = await http.post(route, content=packed, headers={
        **project.headers, **JSON_CT, "Content-Encoding": encoding})
    assert r.status_code == 202, r.text
    kind, key = ("traces", "trace_id") if "/traces/" in route else ("spans", "span_id")
    got = await fetch(http, project, kind, items[0][key])
    assert got.status_code == 200


def gzip_of_zeros(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"0" * (1024 * 1024)
    out = [packer.compress(block) for _ in range(megabytes)]
    out.append(packer.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_of_zeros(100)
    assert len(data) < TEST_MAX_BODY
    return data


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_gzip_bomb_413(http, project, route, bomb):
    r = await http.post(route, content=bomb, headers={
        **project.headers, **JSON_CT, "Content-Encoding": "gzip"})
    assert_error(r, 413)


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("packed", [
    b"not gzip at all", gzip.compress(b"[1,2,3]")[:-6], b"\x1f\x8b\x08\x00garbage",
])
async def test_corrupt_gzip_400(http, project, route, packed):
    r = await http.post(route, content=packed, headers={
        **project.headers, **JSON_CT, "Content-Encoding": "gzip"})
    assert_error(r, 400)


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
async def test_unknown_content_encoding_415(http, project, route, encoding):
    r = await http.post(route, content=raw(body_for(route)), headers={
        **project.headers, **JSON_CT, "Content-Encoding": encoding})
    assert_error(r, 415)
