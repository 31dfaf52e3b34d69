"""``rtm-actors loadtest``: the command line of the load tool.

``register(subparsers)`` adds the subcommand to ``rtm_actors.cli``'s parser; its
``run`` returns the exit code: 0 within thresholds, 1 past ``--max-loss`` or
``--max-errors``, 2 when the run could not be carried out.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rtm_actors.loadtest.options import LoadOptions
from rtm_actors.loadtest.scenario import SCENARIOS

_EPILOG = """scenarios:
{scenarios}

Without --url a server is started on 127.0.0.1 in a child process (memory store) and
stopped afterwards. Every run is bounded by --users, --duration and --max-messages.
Exit status: 0 OK, 1 losses or errors past --max-loss / --max-errors, 2 run failed.
"""


def register(subparsers: Any) -> None:
    """Add the ``loadtest`` subcommand to an ``add_subparsers()`` object."""
    defaults = LoadOptions()
    scenarios = "\n".join(f"  {name:<9} {s.summary}" for name, s in SCENARIOS.items())
    p = subparsers.add_parser(
        "loadtest",
        help="simulate many users (real SDK clients) against a server and report",
        description="Simulate many users, each a real RtmService, and measure the server.",
        epilog=_EPILOG.format(scenarios=scenarios),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--users", type=int, default=defaults.users, help="simulated users (100)")
    p.add_argument(
        "--duration", type=float, default=defaults.duration, help="seconds of traffic (30)"
    )
    p.add_argument(
        "--scenario", default=defaults.scenario, choices=sorted(SCENARIOS), help="(mixed)"
    )
    p.add_argument(
        "--rate", type=float, default=defaults.rate, help="actions per user per second (1)"
    )
    p.add_argument("--seed", type=int, default=defaults.seed, help="same seed, same plan (1)")
    p.add_argument("--url", help="a running server (default: start one on 127.0.0.1)")
    p.add_argument(
        "--workers", type=int, default=defaults.workers, help="processes sharing the users (1)"
    )
    p.add_argument(
        "--max-messages",
        type=int,
        default=defaults.max_messages,
        help="hard cap on messages sent in the run (1,000,000)",
    )
    p.add_argument(
        "--wave", type=int, default=defaults.wave, help="users logging in at once (200; 0 = all)"
    )
    p.add_argument(
        "--message-size", type=int, default=defaults.message_size, help="bytes per message (64)"
    )
    p.add_argument("--app-id", default=defaults.app_id)
    p.add_argument("--prefix", default=defaults.prefix, help="user ids are <prefix><n> (lt)")
    p.add_argument(
        "--user-class",
        help="your own SimulatedUser: package.module:Class or path/to/file.py:Class",
    )
    p.add_argument("--login-timeout", type=float, default=defaults.login_timeout)
    p.add_argument("--drain-timeout", type=float, default=defaults.drain_timeout)
    p.add_argument(
        "--dedup-window",
        type=int,
        default=defaults.dedup_window,
        help="message ids each simulated user remembers (512; the SDK default is 8192)",
    )
    p.add_argument(
        "--max-loss",
        type=float,
        default=defaults.max_loss,
        help="largest share of expected deliveries that may be lost (0)",
    )
    p.add_argument(
        "--max-errors", type=int, default=defaults.max_errors, help="most errors allowed (0)"
    )
    p.add_argument("--json", dest="json_path", metavar="PATH", help="write every figure here")
    p.add_argument("--html", dest="html_path", metavar="PATH", help="write an HTML report here")
    p.add_argument(
        "--progress-interval",
        type=float,
        default=0.0,
        help="seconds between progress lines (1 on a terminal, else 5)",
    )
    p.add_argument("--quiet", action="store_true", help="no live progress")
    p.add_argument(
        "--log-level",
        default="error",
        choices=["debug", "info", "warning", "error", "critical"],
        help="the SDK's log level in the load processes (error)",
    )
    p.set_defaults(run=run)


def options_from_args(args: argparse.Namespace) -> LoadOptions:
    """The ``LoadOptions`` the parsed arguments describe."""
    return LoadOptions(
        scenario=args.scenario,
        users=args.users,
        duration=args.duration,
        rate=args.rate,
        seed=args.seed,
        url=args.url,
        workers=args.workers,
        max_messages=args.max_messages,
        wave=args.wave,
        message_size=args.message_size,
        app_id=args.app_id,
        prefix=args.prefix,
        user_class=args.user_class,
        login_timeout=args.login_timeout,
        drain_timeout=args.drain_timeout,
        dedup_window=args.dedup_window,
        max_loss=args.max_loss,
        max_errors=args.max_errors,
        progress_interval=args.progress_interval,
        log_level=args.log_level,
    )


def run(args: argparse.Namespace) -> int:
    """Run the load test the arguments describe; answer the exit code."""
    from rtm_actors.loadtest.html_report import write_html
    from rtm_actors.loadtest.progress import ProgressPrinter
    from rtm_actors.loadtest.report import format_summary, write_json
    from rtm_actors.loadtest.runner import LoadError, run_load
    from rtm_actors.log import configure_logging

    # Simulated users' failures are counted in the report, not logged one by one.
    configure_logging(args.log_level)
    options = options_from_args(args)
    printer = None
    if not args.quiet:
        printer = ProgressPrinter(
            sys.stderr, interval=options.progress_interval, workers=options.workers
        )
    try:
        result = run_load(options, progress=printer, tune_gc=True)
    except (ValueError, LoadError) as exc:
        if printer is not None:
            printer.close()
        sys.stderr.write(f"rtm-actors loadtest: {exc}\n")
        return 2
    if printer is not None:
        if printer.tty:
            printer.show()  # the final figures, in place
        printer.close()
    sys.stdout.write(format_summary(result) + "\n")
    sys.stdout.flush()
    if args.json_path:
        write_json(result, args.json_path)
    if args.html_path:
        write_html(result, args.html_path)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    """``python -m rtm_actors.loadtest.cli``: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="rtm-actors")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["loadtest", *(sys.argv[1:] if argv is None else argv)])
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
