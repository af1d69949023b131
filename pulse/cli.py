"""The ``pulse-bridge`` command: serve, migrate, projects, keys, users, dashboard-login.

Every command builds Settings once (flags > environment > otel-config.yaml > defaults) and runs
against the configured database, starting the embedded PostgreSQL when no DATABASE_URL is set.

The global options (``--config``, ``--data-dir``, ``--debug``) are accepted before or after the
subcommand and listed in every ``--help``. Every failure ends as one line on stderr that names
the cause and the setting or flag to change (``_explain``), with a non-zero exit code: 2 for a
setting or usage to change, 1 otherwise; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import socket
import sys
import uuid
from pathlib import Path

from pulse import __version__
from pulse.config import Settings, load_settings
from pulse.errors import ConfigError, PulseError


class Failure(Exception):
    """A command-line problem to report as one line (exit code 2: change the invocation)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _global_options(p: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every command takes. On subcommands their default is SUPPRESS, so that a
    value given before the subcommand is not overwritten by the subcommand's default."""
    default = None if top else argparse.SUPPRESS
    p.add_argument("--config", type=Path, default=default,
                   help="config file (default: $PULSE_CONFIG or ./otel-config.yaml)")
    p.add_argument("--data-dir", type=Path, default=default,
                   help="data directory: embedded database and ingest queue (PULSE_DATA_DIR)")
    p.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="log at debug level and show tracebacks on errors")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pulse-bridge", description="Pulse Bridge trace service")
    p.add_argument("--version", action="version", version=f"pulse-bridge {__version__}")
    _global_options(p, top=True)
    sub = p.add_subparsers(dest="command", required=True)

    def command(parent, name: str, **kw) -> argparse.ArgumentParser:
        leaf = parent.add_parser(name, **kw)
        _global_options(leaf, top=False)
        return leaf

    def group(name: str, help_text: str):
        return command(sub, name, help=help_text).add_subparsers(dest="action", required=True)

    serve = command(sub, "serve", help="run the service (HTTP API + OTLP receivers)")
    serve.add_argument(
        "--role", choices=("all", "api", "ingest", "writer"),
        help="all (default): everything; api: query API only; ingest: receivers (+ writer with"
        " the file queue); writer: the writer loop only (nats queue)",
    )
    command(sub, "migrate", help="apply pending database migrations and exit")

    projects = group("projects", "manage projects")
    create = command(projects, "create", help="create a project and its first API key")
    create.add_argument("name")
    command(projects, "list", help="list projects")

    keys = group("keys", "manage API keys")
    kc = command(keys, "create", help="create an API key for a project")
    kc.add_argument("--project", required=True, help="project id")
    kc.add_argument("--name", default="CLI Key")
    kl = command(keys, "list", help="list a project's API keys")
    kl.add_argument("--project", required=True, help="project id")
    kr = command(keys, "revoke", help="revoke an API key (takes effect immediately)")
    kr.add_argument("key_id")

    users = group("users", "manage dashboard users")
    uc = command(users, "create", help="create a user (password from a prompt or stdin)")
    uc.add_argument("--email", required=True)
    uc.add_argument("--name", required=True)
    uc.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    uc.add_argument("--project", help="project id to add the user to")
    uc.add_argument("--role", choices=("admin", "user"), default="admin")
    login = command(
        sub, "dashboard-login",
        help="print a one-time dashboard login link (2 minutes, this machine)",
    )
    login.add_argument("--email", help="sign in as this user (default: the first admin)")
    return p


def _uuid_arg(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Failure(f"{what} must be a UUID, got {value!r}") from None


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

    if args.action == "revoke":
        key_id = _uuid_arg(args.key_id, "key id")
    else:
        project_id = _uuid_arg(args.project, "--project")
    async with open_database(settings) as db:
        if args.action == "revoke":
            ok = await accounts.revoke_key(db.pool, key_id)
            print("revoked" if ok else "no such live key")
            return 0 if ok else 1
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


def _has_terminal() -> bool:
    """getpass prompts on the controlling terminal; without one it would read stdin and fail."""
    try:
        with open("/dev/tty"):
            return True
    except OSError:
        return False


def _read_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not _has_terminal():
        raise Failure(
            "no terminal to prompt for the password: pipe it in with --password-stdin"
            " (e.g. printf '%s\\n' \"$PASSWORD\" | pulse-bridge users create ... --password-stdin)"
        )
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Repeat password: ")
    except EOFError:
        raise Failure("no password entered (or use --password-stdin)") from None
    if again != first:
        raise Failure("the passwords differ")
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
    print(f"Sign in as {user['email']} (link valid for 2 minutes, once, from this machine):\n")
    print(f"    {local_url(settings)}/dashboard/login?token={token}\n", flush=True)
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


def local_url(settings: Settings) -> str:
    """This server's base URL as seen from this machine (a wildcard address -> 127.0.0.1)."""
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.http_port}"


def _announce_first_key(settings: Settings, flags: str, key) -> None:
    """What the first start prints: the key (once), the dashboard and how to get in."""
    print(
        f'\nCreated project "Default" ({key.project_id}).\n'
        f"Its API key, shown only this once - store it now:\n\n    {key.key}\n\n"
        f"Web dashboard: {local_url(settings)}/dashboard\n"
        "  1. create your account in this project:\n"
        f"       pulse-bridge{flags} users create --email you@example.com --name You"
        f" --project {key.project_id} --role admin\n"
        "  2. sign in there, or print a one-time sign-in link (from this machine):\n"
        f"       pulse-bridge{flags} dashboard-login\n",
        flush=True,
    )


def _check_ports(settings: Settings) -> None:
    """Fail before starting anything (the embedded database takes seconds) when a port we are
    about to listen on is taken. ``main.serve`` reports a bind failure the same way."""
    from pulse.main import listen_failure

    wanted = [("HTTP", settings.http_host, settings.http_port, "PULSE_HTTP_ENDPOINT", "")]
    if settings.role in ("all", "ingest") and settings.grpc_enabled:
        wanted.append(("OTLP gRPC", settings.grpc_host, settings.grpc_port,
                       "PULSE_GRPC_ENDPOINT", "or PULSE_GRPC_ENABLED=false"))
    for what, host, port, setting, alternative in wanted:
        if port == 0:
            continue
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
                probe.bind(address)
        except OSError as exc:
            raise ConfigError(listen_failure(what, host, port, setting, alternative)) from exc


def _run_fast(coroutine) -> None:
    """Run the service on uvloop when available (faster HTTP and socket handling than asyncio's
    default loop; uvicorn only picks it itself when it owns the loop, which it does not here)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on Linux/macOS
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _explain(exc: Exception, settings: Settings | None) -> tuple[str, int]:
    """(message, exit code) for a failure: the cause, and the setting or flag to change."""
    if isinstance(exc, Failure):
        return exc.message, exc.code
    if isinstance(exc, ConfigError):
        message = exc.message
        if "config file" in message.lower():
            message += " (fix the file, or choose another with --config or PULSE_CONFIG)"
        return message, 2
    if isinstance(exc, PulseError):
        return exc.message, 1
    import psycopg

    if isinstance(exc, psycopg.Error) and settings is not None:
        cause = _one_line(exc) or exc.__class__.__name__
        if settings.embedded:
            return (f"the embedded PostgreSQL in {settings.pg_data_dir} failed: {cause}"
                    f" (see {settings.pg_data_dir / 'log'}; or set DATABASE_URL)"), 1
        from pulse.storage.db import describe_url

        return (f"cannot use the database {describe_url(settings.database_url or '')}: {cause}"
                " (check DATABASE_URL, or exporters.postgres.endpoint in otel-config.yaml)"), 1
    if isinstance(exc, OSError) and exc.filename is not None:
        return (f"{exc.strerror or exc}: {exc.filename}"
                " (check the data directory: --data-dir or PULSE_DATA_DIR)"), 1
    return (f"unexpected {exc.__class__.__name__}: {_one_line(exc)}"
            " (run with --debug for the traceback)"), 1


def _load(args: argparse.Namespace) -> Settings:
    if args.config is not None and not args.config.expanduser().is_file():
        raise Failure(f"no config file {args.config} (--config)")
    overrides: dict[str, object] = {}
    if args.data_dir:
        overrides["data_dir"] = args.data_dir.expanduser()
    if getattr(args, "role", None):
        overrides["role"] = args.role
    if args.debug:
        overrides["log_level"] = "debug"
    config = args.config.expanduser() if args.config is not None else None
    return load_settings(config_file=config, overrides=overrides)


def _global_flags(args: argparse.Namespace) -> str:
    """The global options this command was given, to repeat in the commands we suggest."""
    flags = ""
    if args.config is not None:
        flags += f" --config {shlex.quote(str(args.config))}"
    if args.data_dir is not None:
        flags += f" --data-dir {shlex.quote(str(args.data_dir))}"
    return flags


def _dispatch(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "serve":
        from functools import partial

        from pulse.main import serve

        _check_ports(settings)
        _run_fast(serve(settings, partial(_announce_first_key, settings, _global_flags(args))))
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = _load(args)
        level = getattr(logging, settings.log_level.upper())
        if args.command != "serve" and not args.debug:
            level = max(level, logging.WARNING)  # one-shot commands print their own results
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return _dispatch(settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one place where a failure becomes one line
        if args.debug:
            raise
        message, code = _explain(exc, settings)
        print(f"error: {_one_line(message)}", file=sys.stderr, flush=True)
        return code


if __name__ == "__main__":
    sys.exit(main())
