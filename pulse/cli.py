"""The ``pulse-bridge`` command: serve, migrate, projects, keys.

Every command builds Settings once (flags > environment > otel-config.yaml > defaults) and runs
against the configured database, starting the embedded PostgreSQL when no DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from pathlib import Path

from pulse import __version__
from pulse.config import Settings, load_settings
from pulse.errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pulse-bridge", description="Pulse Bridge trace service")
    p.add_argument("--version", action="version", version=f"pulse-bridge {__version__}")
    p.add_argument("--config", type=Path, help="config file (default: ./otel-config.yaml)")
    p.add_argument("--data-dir", type=Path, help="data directory (embedded database, queue)")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service (HTTP API + OTLP receivers)")
    serve.add_argument(
        "--role", choices=("all", "api", "ingest"),
        help="all (default): everything; api: query API only; ingest: receivers + writer",
    )
    sub.add_parser("migrate", help="apply pending database migrations and exit")

    projects = sub.add_parser("projects", help="manage projects").add_subparsers(
        dest="action", required=True
    )
    create = projects.add_parser("create", help="create a project and its first API key")
    create.add_argument("name")
    projects.add_parser("list", help="list projects")

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    kc = keys.add_parser("create", help="create an API key for a project")
    kc.add_argument("--project", required=True, help="project id")
    kc.add_argument("--name", default="CLI Key")
    kl = keys.add_parser("list", help="list a project's API keys")
    kl.add_argument("--project", required=True, help="project id")
    kr = keys.add_parser("revoke", help="revoke an API key (takes effect immediately)")
    kr.add_argument("key_id")
    return p


def _uuid_arg(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise SystemExit(f"error: {what} must be a UUID, got {value!r}") from None


async def _projects(settings: Settings, args: argparse.Namespace) -> int:
    from pulse.main import open_database
    from pulse.storage import accounts

    async with open_database(settings) as db:
        if args.action == "create":
            project_id = await accounts.create_project(db.pool, args.name)
            key = await accounts.create_key(db.pool, project_id, "Default Key")
            print(f"project_id: {project_id}\napi_key:    {key.key}\n(the key is shown only once)")
        else:
            for row in await accounts.list_projects(db.pool):
                print(
                    f"{row['id']}  {row['name']}  created {row['created_at']:%Y-%m-%d}"
                    f"  active keys: {row['active_keys']}"
                )
    return 0


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    from pulse.main import open_database
    from pulse.storage import accounts

    async with open_database(settings) as db:
        if args.action == "revoke":
            ok = await accounts.revoke_key(db.pool, _uuid_arg(args.key_id, "key id"))
            print("revoked" if ok else "no such live key")
            return 0 if ok else 1
        project_id = _uuid_arg(args.project, "--project")
        if not await accounts.project_exists(db.pool, project_id):
            print(f"error: no project {project_id}", file=sys.stderr)
            return 1
        if args.action == "create":
            key = await accounts.create_key(db.pool, project_id, args.name)
            print(f"key_id:  {key.id}\napi_key: {key.key}\n(the key is shown only once)")
        else:
            for row in await accounts.list_keys(db.pool, project_id):
                state = "revoked" if row["revoked_at"] else "active"
                used = row["last_used_at"].isoformat() if row["last_used_at"] else "never"
                print(
                    f"{row['id']}  {row['display_prefix']}...  {row['name']!r}  {state}"
                    f"  last used: {used}"
                )
    return 0


async def _migrate(settings: Settings) -> int:
    from pulse.main import open_database

    async with open_database(settings) as db:
        report = db.migrations
        flavour = (
            f"TimescaleDB {report.timescaledb_version}"
            if report.timescaledb
            else "plain PostgreSQL"
        )
        print(f"applied {len(report.applied)} migration(s) {report.applied} on {flavour}")
    return 0


def _run_fast(coroutine) -> None:
    """Run the service on uvloop when available (faster HTTP and socket handling than asyncio's
    default loop; uvicorn only picks it itself when it owns the loop, which it does not here)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on Linux/macOS
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, object] = {}
    if args.data_dir:
        overrides["data_dir"] = args.data_dir.expanduser()
    if getattr(args, "role", None):
        overrides["role"] = args.role
    try:
        settings = load_settings(config_file=args.config, overrides=overrides)
    except ConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "serve":
            from pulse.main import serve

            _run_fast(serve(settings))
            return 0
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "projects":
            return asyncio.run(_projects(settings, args))
        return asyncio.run(_keys(settings, args))
    except ConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
