"""The ``rtm-actors`` command: ``serve`` (and more as the project grows).

A process entry point: the only place besides the test runner that may
monkey-patch, and it does not need to: the server and SDK use gevent directly.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Sequence

import gevent
import gevent.event

from rtm_actors.log import configure_logging


def _serve(args: argparse.Namespace) -> int:
    from rtm_actors.runtime.gctune import tune_for_server
    from rtm_actors.server import RtmServer, ServerConfig

    configure_logging(args.log_level)
    tune_for_server()
    server = RtmServer(
        host=args.host,
        port=args.port,
        store=args.store,
        certfile=args.certfile,
        keyfile=args.keyfile,
        admin_token=args.admin_token or os.environ.get("RTM_ACTORS_ADMIN_TOKEN"),
        metrics=not args.no_metrics,
        config=ServerConfig(assume_redis_durable=args.assume_redis_durable),
    )
    server.start()
    print(f"rtm-actors serving on {server.url} (store: {args.store})", flush=True)
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    gevent.signal_handler(signal.SIGINT, stopping.set)
    stopping.wait()
    # A bounded exit whatever happens: an OS thread, so it fires even if the hub hangs.
    bound = server.config.shutdown_timeout + _EXIT_GRACE
    watchdog = threading.Timer(bound, os._exit, (_EXIT_FORCED,))
    watchdog.daemon = True
    watchdog.start()
    server.stop()
    watchdog.cancel()
    return 0


#: Seconds past the server's shutdown timeout before the process exits regardless.
_EXIT_GRACE = 5.0
_EXIT_FORCED = 70  # EX_SOFTWARE


def _top(args: argparse.Namespace) -> int:
    from rtm_actors.top import run

    try:
        return run(args.url, args.interval, args.count)
    except KeyboardInterrupt:
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rtm-actors",
        description="Self-hostable real-time messaging with the Agora RTM API.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run an RTM server")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=8700,
        help="TCP port (default 8700; 0 = any free port)",
    )
    serve.add_argument(
        "--store",
        default="sqlite:///rtm.db",
        help="store: sqlite:///path.db (default sqlite:///rtm.db), memory, or "
        "redis://host:port/db (several nodes on one Redis are one system: docs/cluster.md)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error", "critical"],
    )
    serve.add_argument("--certfile", help="TLS certificate (PEM): serve wss://")
    serve.add_argument("--keyfile", help="the certificate's private key (PEM)")
    serve.add_argument(
        "--admin-token",
        help="enable the operator endpoints (ban, unban) with this bearer token "
        "(or set RTM_ACTORS_ADMIN_TOKEN)",
    )
    serve.add_argument(
        "--no-metrics",
        action="store_true",
        help="do not serve Prometheus metrics on /metrics (/healthz and /readyz stay)",
    )
    serve.add_argument(
        "--assume-redis-durable",
        action="store_true",
        help="with a redis:// store whose Redis has no append-only file: keep offline "
        "messages there anyway (a Redis restart then loses them; docs/cluster.md)",
    )
    serve.set_defaults(run=_serve)

    top = sub.add_parser("top", help="a live view of a running server's figures")
    top.add_argument(
        "--url",
        default="http://127.0.0.1:8700/rtm",
        help="the server (ws://, http:// or its /metrics URL; default http://127.0.0.1:8700/rtm)",
    )
    top.add_argument(
        "--interval", type=float, default=1.0, help="seconds between refreshes (default 1)"
    )
    top.add_argument("--count", type=int, help="stop after this many refreshes (default: never)")
    top.set_defaults(run=_top)

    token = sub.add_parser("token", help='print an Agora AccessToken2 ("007") for RTM login')
    token.add_argument("--app-id", required=True)
    token.add_argument("--app-certificate", required=True)
    token.add_argument("--user-id", required=True)
    token.add_argument(
        "--expire", type=int, default=3600, help="seconds of validity (at most 86400; default 3600)"
    )
    token.set_defaults(run=_token)

    for action in ("ban", "unban"):
        ban = sub.add_parser(action, help=f"{action} a user on a running server")
        ban.add_argument("--url", required=True, help="the server's http(s)://host:port/rtm")
        ban.add_argument("--admin-token", default=os.environ.get("RTM_ACTORS_ADMIN_TOKEN"))
        ban.add_argument("--app-id", required=True)
        ban.add_argument("--user-id", required=True)
        ban.set_defaults(run=_ban, action=action)

    from rtm_actors.loadtest.cli import register as register_loadtest

    register_loadtest(sub)
    from rtm_actors.bench.cli import register as register_bench

    register_bench(sub)
    return parser


def _token(args: argparse.Namespace) -> int:
    from rtm_actors.protocol.tokens import build_token_007

    print(
        build_token_007(
            args.app_id,
            args.app_certificate,
            args.user_id,
            args.expire,
            issued_at=int(time.time()),
            salt=secrets.randbelow(99_999_999) + 1,
        )
    )
    return 0


def _ban(args: argparse.Namespace) -> int:
    # A separate, short-lived process: plain blocking HTTP is fine here.
    import json
    import urllib.error
    import urllib.request

    url = args.url.replace("ws://", "http://").replace("wss://", "https://").rstrip("/")
    body = json.dumps({"app_id": args.app_id, "user_id": args.user_id}).encode()
    request = urllib.request.Request(
        f"{url}/admin/{args.action}",
        data=body,
        headers={"Authorization": f"Bearer {args.admin_token or ''}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.read().decode().strip())
    except urllib.error.HTTPError as exc:
        print(f"{exc.code}: {exc.read().decode().strip()}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rtm-actors`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
