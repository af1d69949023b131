"""Responses assembled from row JSON produced by PostgreSQL (see ``storage.queries``)."""

from __future__ import annotations

from fastapi.responses import Response


def json_response(body: str, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


def json_page(kind: str, rows: list[str], total: int, limit: int, offset: int) -> Response:
    return json_response(
        f'{{"{kind}":[{",".join(rows)}],"total":{total},"limit":{limit},"offset":{offset}}}'
    )
