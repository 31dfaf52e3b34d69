"""The ``rtm-actors`` command: ``serve``, ``config``, ``top``, ``token``, ``ban`` and more.

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
from typing import TYPE_CHECKING

import gevent
import gevent.event

from rtm_actors.log import LOG_LEVELS, configure_logging

if TYPE_CHECKING:
    from rtm_actors.server.settings import ServeSettings


def _serve(args: argparse.Namespace) -> int:
    from rtm_actors.runtime.gctune import tune_for_server
    from rtm_actors.server import RtmServer

    settings = _settings(args.config, _flags(args))
    if settings is None:
        return _EXIT_BAD_CONFIG
    configure_logging(settings.log_level)
    tune_for_server()
    server = RtmServer(
        host=settings.host,
        port=settings.port,
        store=settings.store,
        app_certificates=settings.app_certificates or None,
        certfile=settings.certfile,
        keyfile=settings.keyfile,
        admin_token=settings.admin_token,
        metrics=settings.metrics,
        config=settings.config,
    )
    server.start()
    print(f"rtm-actors serving on {server.url} (store: {settings.store})", flush=True)
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


#: ``serve``'s flags that set a config-file key, by their ``argparse`` dest.
_FLAG_KEYS = {
    "host": "host",
    "port": "port",
    "store": "store",
    "log_level": "log_level",
    "certfile": "certfile",
    "keyfile": "keyfile",
    "admin_token": "admin_token",
    "metrics": "metrics",
    "assume_redis_durable": "cluster.assume_redis_durable",
}


def _flags(args: argparse.Namespace) -> dict[str, object]:
    """The flags given on the command line (unset ones are ``None``), by config key."""
    given = {key: getattr(args, dest) for dest, key in _FLAG_KEYS.items()}
    return {key: value for key, value in given.items() if value is not None}


def _settings(path: str | None, flags: dict[str, object]) -> ServeSettings | None:
    """The checked settings, or ``None`` once every problem is on stderr."""
    from rtm_actors.server.config_file import ConfigError, load_settings

    try:
        return load_settings(path, flags)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"rtm-actors: {problem}", file=sys.stderr)
        return None


def _config_defaults(args: argparse.Namespace) -> int:
    from rtm_actors.server.config_render import render_settings

    sys.stdout.write(render_settings())
    return 0


def _config_check(args: argparse.Namespace) -> int:
    if _settings(args.file, {}) is None:
        return _EXIT_BAD_CONFIG
    print(f"{args.file}: ok")
    return 0


#: Exit status for settings refused before anything starts (as argparse's usage errors).
_EXIT_BAD_CONFIG = 2

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
    serve = sub.add_parser(
        "serve",
        help="run an RTM server",
        description="Run an RTM server. Settings come from --config FILE (TOML; "
        "`rtm-actors config defaults` prints every key), then these flags, then "
        "RTM_ACTORS_<SECTION>_<KEY> environment variables (RTM_ACTORS_<KEY> for keys "
        "outside a section, e.g. RTM_ACTORS_PORT): each overrides the one before. "
        "Bad settings exit with status 2 before anything starts.",
    )
    serve.add_argument("--config", metavar="FILE", help="a TOML config file (docs/operations.md)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default 8700; 0 = any free port)")
    serve.add_argument(
        "--store",
        help="store: sqlite:///path.db (default sqlite:///rtm.db), memory, or "
        "redis://host:port/db (several nodes on one Redis are one system: docs/cluster.md)",
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="default info")
    serve.add_argument("--certfile", help="TLS certificate (PEM): serve wss://")
    serve.add_argument("--keyfile", help="the certificate's private key (PEM)")
    serve.add_argument(
        "--admin-token",
        help="enable the operator endpoints (ban, unban) with this bearer token "
        "(or set RTM_ACTORS_ADMIN_TOKEN, which wins over the flag)",
    )
    serve.add_argument(
        "--metrics",
        action=argparse.BooleanOptionalAction,
        help="serve Prometheus metrics on /metrics (default on; /healthz and /readyz stay)",
    )
    serve.add_argument(
        "--assume-redis-durable",
        action=argparse.BooleanOptionalAction,
        help="with a redis:// store whose Redis has no append-only file: keep offline "
        "messages there anyway (a Redis restart then loses them; docs/cluster.md)",
    )
    serve.set_defaults(run=_serve)

    config = sub.add_parser("config", help="print or check a server config file")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    config_sub.add_parser(
        "defaults", help="print a config file of every key with its default and meaning"
    ).set_defaults(run=_config_defaults)
    check = config_sub.add_parser(
        "check",
        help="check a config file (and the RTM_ACTORS_* environment) as serve would, "
        "without starting anything; exit 2 if refused",
    )
    check.add_argument("file")
    check.set_defaults(run=_config_check)

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
