"""Custom model prices (``pulse.model_prices``) for models genai-prices does not know.

Prices are USD per million tokens. A row with a project id applies to that project; a row
without one (``project_id`` None - loaded from the configuration file at start-up) applies to
every project; a project's own row wins. The writer applies them when a trace arrives without a
cost but with tokens (storage/rollups.py ``PRICE_STAGE``), under ``model_used``,
``model_requested``, then the normalised ``metadata.price_model`` (pulse/mapping/cost.py); a
client- or provider-reported cost and a genai-prices cost always come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import yaml
from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True, slots=True)
class ModelPrice:
    model: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    provider: str | None = None  # None: any provider
    cache_read_per_mtok: Decimal | None = None  # None: priced as input
    cache_write_per_mtok: Decimal | None = None


_COLUMNS = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok")
_ZERO = "'00000000-0000-0000-0000-000000000000'::uuid"


async def set_price(pool: AsyncConnectionPool, project_id: UUID | None, p: ModelPrice) -> None:
    """Create or replace the price of ``p.model`` (for one project, or globally with None)."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO pulse.model_prices (project_id, provider, model, input_per_mtok,"
            " output_per_mtok, cache_read_per_mtok, cache_write_per_mtok)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)"
            f" ON CONFLICT (coalesce(project_id, {_ZERO}), coalesce(provider, ''), model)"
            " DO UPDATE SET input_per_mtok = excluded.input_per_mtok,"
            " output_per_mtok = excluded.output_per_mtok,"
            " cache_read_per_mtok = excluded.cache_read_per_mtok,"
            " cache_write_per_mtok = excluded.cache_write_per_mtok",
            (project_id, p.provider, p.model, p.input_per_mtok, p.output_per_mtok,
             p.cache_read_per_mtok, p.cache_write_per_mtok),
        )


async def list_prices(pool: AsyncConnectionPool, project_id: UUID) -> list[ModelPrice]:
    """The prices that apply to a project (its own and the global ones)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT model, {', '.join(_COLUMNS[:2])}, provider, {', '.join(_COLUMNS[2:])}"
            " FROM pulse.model_prices WHERE project_id = %s OR project_id IS NULL"
            " ORDER BY model, provider NULLS LAST",
            (project_id,),
        )
        return [ModelPrice(*row) for row in await cur.fetchall()]


async def delete_price(
    pool: AsyncConnectionPool, project_id: UUID | None, model: str, provider: str | None = None
) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM pulse.model_prices WHERE project_id IS NOT DISTINCT FROM %s"
            " AND provider IS NOT DISTINCT FROM %s AND model = %s",
            (project_id, provider, model),
        )
        return cur.rowcount > 0


def load_prices_file(path: Path) -> list[ModelPrice]:
    """Parse a YAML/JSON list: ``[{model, input_per_mtok, output_per_mtok, provider?, ...}]``."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ValueError("the prices file must hold a list of prices")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("model"):
            raise ValueError(f"price {i}: needs at least model, input_per_mtok, output_per_mtok")
        values = {c: Decimal(str(entry[c])) for c in _COLUMNS if entry.get(c) is not None}
        if "input_per_mtok" not in values or "output_per_mtok" not in values:
            raise ValueError(f"price {i}: input_per_mtok and output_per_mtok are required")
        out.append(ModelPrice(model=str(entry["model"]), provider=entry.get("provider"), **values))
    return out


async def sync_config_prices(pool: AsyncConnectionPool, entries: list[ModelPrice]) -> None:
    """Make the global (project-less) prices exactly ``entries`` (called at start-up)."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("DELETE FROM pulse.model_prices WHERE project_id IS NULL")
    for entry in entries:
        await set_price(pool, None, entry)
