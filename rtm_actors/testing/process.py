"""A server in a process of its own, for tests that measure what it holds (its RSS).

``server_process(**config)`` starts ``python -m rtm_actors.testing.process`` with the
given ``ServerConfig`` fields, waits for the URL it prints, and stops it after. The
fields travel as a config file, read by the loader ``rtm-actors serve --config`` uses
(``server/config_file.py``): one way to configure a server from outside Python. The
child runs the server as ``rtm-actors serve`` does (GC tuning, SIGTERM stops it), on
127.0.0.1, an ephemeral port and the memory store.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rtm_actors.testing.http import http_get
from rtm_actors.top import Snapshot, parse

#: Printed by the child once it listens; the URL follows.
READY_PREFIX = "rtm-actors-test-server "


@dataclass
class ServerProcess:
    """A running server process: its URL, pid, and what it holds."""

    url: str
    proc: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mib(self) -> float:
        """The process's resident memory now, in MiB (from /proc)."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        msg = "no VmRSS line"
        raise RuntimeError(msg)

    def open_fds(self) -> int:
        """File descriptors the process holds now."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        """An HTTP GET on the server: (status, body). On a gevent socket: a probe pair
        in this process keeps running while it waits."""
        parts = urlsplit(self.url)
        return http_get(int(parts.port or 0), path, parts.hostname or "127.0.0.1", timeout)

    def metrics(self) -> Snapshot:
        """The server's /metrics now (``.value(name, **labels)``, ``.total``)."""
        status, body = self.get("/metrics")
        if status != 200:
            msg = f"/metrics answered {status}"
            raise RuntimeError(msg)
        return parse(body, 0.0)


@contextmanager
def server_process(
    extra_env: dict[str, str] | None = None,
    startup_timeout: float = 20.0,
    *,
    nofile: int | None = None,
    log_path: str | None = None,
    **config: Any,
) -> Iterator[ServerProcess]:
    """Run a server process with these ``ServerConfig`` fields; stop it after.

    ``nofile``: the child's open-file limit (RLIMIT_NOFILE), set before it listens.
    ``log_path``: a file for the child's log (stderr, warnings and up); else discarded.
    """
    with tempfile.TemporaryDirectory(prefix="rtm-server-") as folder:
        config_path = os.path.join(folder, "rtm.toml")
        with open(config_path, "w") as file:
            file.write(config_toml(**config))
        command = [sys.executable, "-m", "rtm_actors.testing.process", "--config", config_path]
        if nofile is not None:
            command += ["--nofile", str(nofile)]
        env = {**os.environ, **(extra_env or {})}
        with contextlib.ExitStack() as files:
            stderr: Any = (
                files.enter_context(open(log_path, "w")) if log_path else subprocess.DEVNULL
            )
            proc = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
            )
        try:
            url = _wait_ready(proc, startup_timeout)
            yield ServerProcess(url, proc)
        finally:
            _stop(proc)


@contextmanager
def serve_process(
    *args: str, extra_env: dict[str, str] | None = None, startup_timeout: float = 20.0
) -> Iterator[ServerProcess]:
    """Run ``rtm-actors serve *args`` itself (flags, ``--config``, the environment
    as an operator gives them); stop it after. Its log is discarded."""
    command = [sys.executable, "-m", "rtm_actors.cli", "serve", *args]
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        yield ServerProcess(_wait_ready(proc, startup_timeout, SERVE_READY_PREFIX), proc)
    finally:
        _stop(proc)


#: What ``rtm-actors serve`` prints once it listens; the URL follows.
SERVE_READY_PREFIX = "rtm-actors serving on "


def _wait_ready(proc: subprocess.Popen[str], timeout: float, prefix: str = READY_PREFIX) -> str:
    import gevent

    assert proc.stdout is not None
    with gevent.Timeout(timeout, RuntimeError("the server process did not start")):
        while True:
            line = proc.stdout.readline()
            if not line:
                msg = f"the server process exited with {proc.wait()}"
                raise RuntimeError(msg)
            if line.startswith(prefix):
                return line[len(prefix) :].split()[0]


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.stdout is not None:
        proc.stdout.close()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def config_toml(**fields: Any) -> str:
    """A config file setting these ``ServerConfig`` fields (lists as tuples).

    Raises:
        TypeError: a field ``ServerConfig`` does not have.
    """
    from rtm_actors.server import ServerConfig
    from rtm_actors.server.config_render import render_settings
    from rtm_actors.server.settings import ServeSettings

    typed: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return render_settings(ServeSettings(config=ServerConfig(**typed)), only_changed=True)


def main(argv: Sequence[str] | None = None) -> int:
    import gevent
    import gevent.event

    from rtm_actors.log import configure_logging
    from rtm_actors.runtime.gctune import tune_for_server
    from rtm_actors.server import RtmServer
    from rtm_actors.server.config_file import load_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="a config file (its [sections]; rtm-actors serve's)")
    parser.add_argument("--store", default="memory")
    parser.add_argument("--nofile", type=int, help="open-file limit (RLIMIT_NOFILE) to run with")
    args = parser.parse_args(argv)
    if args.nofile:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))
    configure_logging("warning")
    tune_for_server()
    # The test's environment may set RTM_ACTORS_* for other servers: this one's
    # settings are the file's alone.
    settings = load_settings(args.config, environ={})
    server = RtmServer(host="127.0.0.1", port=0, store=args.store, config=settings.config)
    server.start()
    sys.stdout.write(f"{READY_PREFIX}{server.url}\n")
    sys.stdout.flush()
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    stopping.wait()
    server.stop(timeout=2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
