"""The ``pulse-bridge`` command: serve, migrate, projects, keys, users, dashboard-login.

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

    users = sub.add_parser("users", help="manage dashboard users").add_subparsers(
        dest="action", required=True
    )
    uc = users.add_parser("create", help="create a user (password from a prompt or stdin)")
    uc.add_argument("--email", required=True)
    uc.add_argument("--name", required=True)
    uc.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    uc.add_argument("--project", help="project id to add the user to")
    uc.add_argument("--role", choices=("admin", "user"), default="admin")
    login = sub.add_parser(
        "dashboard-login", help="print a one-time dashboard login link (2 minutes, this machine)"
    )
    login.add_argument("--email", help="sign in as this user (default: the first admin)")
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


def _read_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    from pulse.main import open_database
    from pulse.storage import accounts, auth_sessions

    password = _read_password(args.password_stdin)
    if not 8 <= len(password) <= 256:
        print("error: the password must have 8 to 256 characters", file=sys.stderr)
        return 1
    project_id = _uuid_arg(args.project, "--project") if args.project else None
    async with open_database(settings) as db:
        if project_id and not await accounts.project_exists(db.pool, project_id):
            print(f"error: no project {project_id}", file=sys.stderr)
            return 1
        password_hash = await auth_sessions.hash_password(password)
        try:
            user_id = await accounts.create_user(db.pool, args.email, args.name, password_hash)
        except accounts.EmailTaken:
            print(f"error: a user with email {args.email} exists", file=sys.stderr)
            return 1
        print(f"user_id: {user_id}")
        if project_id:
            await accounts.add_member(db.pool, project_id, user_id, args.role)
            print(f"added to project {project_id} as {args.role}")
    return 0


async def _dashboard_login(settings: Settings, args: argparse.Namespace) -> int:
    from pulse.main import open_database
    from pulse.storage import accounts, auth_sessions

    async with open_database(settings) as db:
        user = (
            await accounts.user_by_email(db.pool, args.email) if args.email
            else await accounts.first_admin(db.pool)
        )
        if user is None:
            print("error: no such user; create one with: pulse-bridge users create --email E"
                  " --name N --project ID --role admin", file=sys.stderr)
            return 1
        token = await auth_sessions.create_login_link(db.pool, user["id"], 120)
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    print(f"Sign in as {user['email']} (link valid for 2 minutes, once, from this machine):\n")
    print(f"    http://{host}:{settings.http_port}/dashboard/login?token={token}\n", flush=True)
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
        if args.command == "users":
            return asyncio.run(_users(settings, args))
        if args.command == "dashboard-login":
            return asyncio.run(_dashboard_login(settings, args))
        return asyncio.run(_keys(settings, args))
    except ConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
