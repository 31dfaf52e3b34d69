"""The ``rtm-actors`` command: ``serve`` (and more as the project grows).

A process entry point: the only place besides the test runner that may
monkey-patch, and it does not need to: the server and SDK use gevent directly.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

import gevent
import gevent.event

from rtm_actors.log import configure_logging


def _serve(args: argparse.Namespace) -> int:
    from rtm_actors.server import RtmServer

    configure_logging(args.log_level)
    server = RtmServer(host=args.host, port=args.port, store=args.store)
    server.start()
    print(f"rtm-actors serving on {server.url} (store: {args.store})", flush=True)
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    gevent.signal_handler(signal.SIGINT, stopping.set)
    stopping.wait()
    server.stop()
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
        help="offline message store: sqlite:///path.db (default sqlite:///rtm.db) or memory",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error", "critical"],
    )
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rtm-actors`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
