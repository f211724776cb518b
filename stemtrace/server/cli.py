"""The ``stemtrace`` command: ``server``, ``consume``, ``demo`` and ``version``.

Every option is also a ``STEMTRACE_*`` environment variable; the CLI turns flags into those variables
and starts uvicorn on the app factory, so ``--reload`` works the same as a plain run.
"""

from __future__ import annotations

import argparse
import os
import sys

from stemtrace._version import __version__


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"STEMTRACE_{name}", default)


def _add_serving_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="bind address (STEMTRACE_HOST)")
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8000") or 8000), help="port (STEMTRACE_PORT)")
    parser.add_argument("--reload", action="store_true", help="restart when stemtrace's code changes (development)")
    parser.add_argument("--root-path", default=_env("ROOT_PATH", ""), help="ASGI root path behind a reverse proxy")
    parser.add_argument(
        "--access-log",
        action="store_true",
        default=_env("ACCESS_LOG") == "1",
        help="log every request (STEMTRACE_ACCESS_LOG=1); off by default: the UI polls, and a line per request "
        "costs ~45 µs of the server's time",
    )


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker-url", default=_env("BROKER_URL"), help="Redis or RabbitMQ URL (STEMTRACE_BROKER_URL)")
    parser.add_argument("--transport-url", default=_env("TRANSPORT_URL"), help="overrides --broker-url for events")
    parser.add_argument("-A", "--app", default=_env("APP"), help="Celery app (module:attr) to read broker_url from")
    parser.add_argument("--prefix", default=_env("PREFIX", "stemtrace"), help="event stream prefix")
    parser.add_argument("--max-tasks", type=int, default=int(_env("MAX_TASKS", "1000000") or 0))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stemtrace", description="Celery task-flow visualizer.")
    commands = parser.add_subparsers(dest="command", required=True)

    server = commands.add_parser("server", help="serve the API and UI, following the broker's event stream")
    _add_serving_options(server)
    _add_source_options(server)
    server.add_argument(
        "--shared",
        action="store_true",
        default=_env("SHARED") == "1",
        help="hold nothing: ask `stemtrace consume` on this Redis and prefix (STEMTRACE_SHARED=1)",
    )
    server.add_argument("--login-user", default=_env("LOGIN_USER"), help="require sign-in (form, or HTTP Basic)")
    server.add_argument("--login-password", default=_env("LOGIN_PASSWORD"))
    server.add_argument("--api-key", default=_env("API_KEY"), help="require this API key (X-API-Key or Bearer)")

    consume = commands.add_parser(
        "consume", help="high-scale mode: follow the stream and answer any number of `stemtrace server --shared`"
    )
    _add_source_options(consume)
    consume.add_argument("--threads", type=int, default=4, help="calls answered at once")

    demo = commands.add_parser("demo", help="run the server with an in-process worker and sample flows, no Redis")
    _add_serving_options(demo)

    commands.add_parser("version", help="print the version")
    return parser


def _broker_from_app(spec: str) -> str | None:
    """The URL the app's workers send events to (``stemtrace.init`` reads its settings the same way)."""
    from celery.app.utils import find_app  # type: ignore[import-untyped]

    from stemtrace.config import celery_broker_url

    return celery_broker_url(find_app(spec))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"stemtrace {__version__}")
        return 0
    if args.command == "consume":
        return _consume(args)
    settings: dict[str, str] = {"ROOT_PATH": args.root_path}
    if args.command == "demo":
        settings.update(TRANSPORT_URL="memory://", DEMO="1")
    else:
        broker = _source(args)
        if broker:
            settings["TRANSPORT_URL"] = broker
        settings.update(PREFIX=args.prefix, MAX_TASKS=str(args.max_tasks), SHARED="1" if args.shared else "0")
        if args.login_user and args.login_password:
            settings.update(LOGIN_USER=args.login_user, LOGIN_PASSWORD=args.login_password)
        if args.api_key:
            settings["API_KEY"] = args.api_key
    for key, value in settings.items():
        os.environ[f"STEMTRACE_{key}"] = value

    import uvicorn

    print(f"stemtrace {__version__}: http://{args.host}:{args.port}/stemtrace/", file=sys.stderr)
    uvicorn.run(
        "stemtrace.server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        reload_dirs=[os.path.dirname(os.path.dirname(__file__))] if args.reload else None,
        log_level="info",
        access_log=args.access_log,
    )
    return 0


def _source(args: argparse.Namespace) -> str | None:
    return args.transport_url or args.broker_url or (_broker_from_app(args.app) if args.app else None)


def _consume(args: argparse.Namespace) -> int:
    """Follow the stream and answer web servers' engine calls until SIGTERM or Ctrl-C."""
    import signal
    import threading

    from stemtrace.engine import create_engine
    from stemtrace.server.extension import DEFAULT_BROKER_URL
    from stemtrace.server.shared import calls_key, serve_engine
    from stemtrace.transport import is_redis_url

    url = _source(args) or DEFAULT_BROKER_URL
    if not is_redis_url(url):
        print("stemtrace consume: web servers reach the consumer through Redis; give a redis:// URL", file=sys.stderr)
        return 2
    engine = create_engine(url, args.prefix, args.max_tasks)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    engine.start()
    print(f"stemtrace {__version__} consume: following {args.prefix}:events, answering {calls_key(args.prefix)}",
          file=sys.stderr)  # fmt: skip
    try:
        serve_engine(engine, url, args.prefix, stop, threads=args.threads)
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
