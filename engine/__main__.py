"""Command line: ``frontdesk serve | dashboard | demo | import-mail`` (PROTOCOL.md §1, §7).

Flags override the environment (``FRONTDESK_*``); see ``engine/runtime/config.py`` for every setting.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.engine.importer.command import EXIT_REFUSED, ImportRequest, import_mail
from frontdesk.engine.runtime.config import Config
from frontdesk.engine.storage import queries
from frontdesk.engine.storage.db import open_database
from frontdesk.engine.storage.demo import DEMO_PASSWORD
from frontdesk.engine.storage.embedded import EmbeddedPostgres
from frontdesk.engine.supervisor.restore import BadConfiguration
from frontdesk.engine.supervisor.run import (
    configure_logging,
    database_url,
    prepare_database,
    run_engine,
)

DEFAULT_DASHBOARD_PORT = 8501
DEFAULT_DASHBOARD_HOST = "127.0.0.1"    # the dashboard shows every conversation: reachable from afar only on request
EXIT_INTERRUPTED = 130          # the shell's status for a command stopped by SIGINT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdesk", description="Frontdesk live-chat routing engine")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the engine (HTTP + websocket)")
    serve.add_argument("--host", help="address to bind [FRONTDESK_HOST, 127.0.0.1]")
    serve.add_argument("--port", type=int, help="port to bind [FRONTDESK_PORT, 8080]")
    serve.add_argument("--database-url", help="PostgreSQL URL [FRONTDESK_DATABASE_URL, embedded]")
    serve.add_argument("--data-dir", help="data directory [FRONTDESK_DATA_DIR, ./.frontdesk]")
    serve.add_argument("--demo", action="store_true", help="load the demo data (idempotent)")
    dash = sub.add_parser("dashboard", help="start the supervisor dashboard (Streamlit)")
    dash.add_argument("--host", default=DEFAULT_DASHBOARD_HOST,
                      help=f"address to bind (Streamlit's --server.address) [{DEFAULT_DASHBOARD_HOST}]")
    dash.add_argument("--port", type=int, default=DEFAULT_DASHBOARD_PORT)
    dash.add_argument("--database-url", help="PostgreSQL URL [FRONTDESK_DATABASE_URL, embedded]")
    dash.add_argument("--data-dir", help="data directory [FRONTDESK_DATA_DIR, ./.frontdesk]")
    demo = sub.add_parser("demo", help="load the demo data and exit")
    demo.add_argument("--database-url", help="PostgreSQL URL [FRONTDESK_DATABASE_URL, embedded]")
    demo.add_argument("--data-dir", help="data directory [FRONTDESK_DATA_DIR, ./.frontdesk]")
    mail = sub.add_parser("import-mail", help="import old e-mail threads as resolved conversations and exit")
    mail.add_argument("--queue", required=True, help="the queue the conversations belong to")
    mail.add_argument("--agent-domain", action="append", default=[], metavar="D",
                      help="mail from this domain (or a subdomain) is an agent's; may be repeated "
                           "(staff members' addresses always are)")
    mail.add_argument("--database-url", help="PostgreSQL URL [FRONTDESK_DATABASE_URL, embedded]")
    mail.add_argument("--data-dir", help="data directory, whose uploads/ gets the attachments "
                                         "[FRONTDESK_DATA_DIR, ./.frontdesk]")
    mail.add_argument("paths", nargs="+", metavar="PATH", help="mbox file, .eml file, Maildir or a folder of them")
    return parser


def _config(args: argparse.Namespace) -> Config:
    try:
        config = Config.from_env()
    except ValueError as exc:
        sys.exit(f"frontdesk: {exc}")
    return config.with_overrides(
        host=getattr(args, "host", None), port=getattr(args, "port", None),
        database_url=getattr(args, "database_url", None),
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        demo=True if getattr(args, "demo", False) else None)


def _serve(config: Config) -> None:
    def ready(url: str) -> None:
        lines = [f"Frontdesk engine serving on {url}  (websocket: {url.replace('http', 'ws', 1)}/ws)"]
        if config.demo:
            lines.append(f"Demo logins (password {DEMO_PASSWORD!r}): agent1@demo.test ... agent4@demo.test, "
                         "supervisor@demo.test")
        print("\n".join(lines), flush=True)

    try:
        trio.run(lambda: run_engine(config, ready=ready, manage_gc=True),
                 restrict_keyboard_interrupt_to_checkpoints=True)
    except (BadConfiguration, DatabaseError, BaseExceptionGroup) as exc:
        sys.exit(f"frontdesk: {_startup_failure(exc)}")
    except KeyboardInterrupt:
        pass


def _startup_failure(exc: BaseException) -> BaseException:
    """The configuration or database error inside ``exc``, or re-raise what is something else."""
    if isinstance(exc, BaseExceptionGroup):
        group = exc.subgroup((BadConfiguration, DatabaseError))
        if group is None:
            raise exc
        found: BaseException = group
        while isinstance(found, BaseExceptionGroup):
            found = found.exceptions[0]
        return found
    return exc


def _demo(config: Config) -> None:
    async def main() -> None:
        embedded = EmbeddedPostgres(config.data_dir)
        try:
            url = await database_url(config, embedded)
            async with open_database(url) as db:
                await prepare_database(db, demo=True)
        finally:
            await trio.to_thread.run_sync(embedded.stop)
        print("demo data loaded", flush=True)

    trio.run(main)


def _import_mail(config: Config, request: ImportRequest) -> None:
    async def main() -> int:
        embedded = EmbeddedPostgres(config.data_dir)
        try:
            url = await database_url(config, embedded)
            async with open_database(url) as db:
                await db.apply_schema(queries.schema_sql())
                return await import_mail(db, request, config.uploads_dir)
        finally:
            await trio.to_thread.run_sync(embedded.stop)

    try:
        status = trio.run(main)
    except (DatabaseError, BaseExceptionGroup) as exc:
        print(f"frontdesk import-mail: {_startup_failure(exc)}", file=sys.stderr)
        status = EXIT_REFUSED
    except KeyboardInterrupt:
        print("frontdesk import-mail: interrupted; the batches stored so far stay, and running the import "
              "again adds the rest", file=sys.stderr)
        status = EXIT_INTERRUPTED
    sys.exit(status)


def _theme_flags(path: Path) -> list[str]:
    """The dashboard's own ``[theme]`` as Streamlit flags: Streamlit reads ``.streamlit/config.toml``
    from the working directory only, and ``frontdesk dashboard`` may be started from anywhere."""
    if not path.is_file():
        return []
    theme = tomllib.loads(path.read_text(encoding="utf-8")).get("theme", {})
    return [f"--theme.{name}={value}" for name, value in theme.items() if isinstance(value, str | int | float)]


def _dashboard(config: Config, host: str, port: int) -> None:
    # the server module wraps app.py in st.App, whose middleware adds the headers that refuse framing
    spec = importlib.util.find_spec("frontdesk.dashboard.server")
    if spec is None or spec.origin is None:
        sys.exit("frontdesk: the dashboard is not installed")
    server = Path(spec.origin)
    env = dict(os.environ)
    if config.database_url:
        env["FRONTDESK_DATABASE_URL"] = config.database_url
    env["FRONTDESK_DATA_DIR"] = str(config.data_dir)
    cmd = [sys.executable, "-m", "streamlit", "run", str(server), "--server.address", host,
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           *_theme_flags(server.with_name(".streamlit") / "config.toml")]
    sys.exit(subprocess.call(cmd, env=env))


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    configure_logging()
    config = _config(args)
    if args.command == "serve":
        _serve(config)
    elif args.command == "demo":
        _demo(config)
    elif args.command == "dashboard":
        _dashboard(config, args.host, args.port)
    elif args.command == "import-mail":
        _import_mail(config, ImportRequest(args.queue, tuple(args.paths), tuple(args.agent_domain)))


if __name__ == "__main__":
    main()
