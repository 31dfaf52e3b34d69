"""Locust runs with ``RtmUser`` against a real server: one headless process, then a
master with two workers, each Locust process a subprocess (Locust monkey-patches the
process it runs in, which must not happen to the test runner). The subprocesses are
gevent's, so that a relay in this process forwards their traffic while the test waits."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from gevent import subprocess

from rtm_actors.bench.servers import free_port
from rtm_actors.protocol.frames import ChannelMessage
from rtm_actors.testing import DroppingRelay
from rtm_actors.testing.process import ServerProcess, server_process

# Not importorskip: importing locust would monkey-patch the test runner itself.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        importlib.util.find_spec("locust") is None, reason='needs "rtm-actors[locust]"'
    ),
]

HERE = Path(__file__).parent
EXAMPLE = HERE.parent.parent / "examples" / "locustfile.py"
#: Seconds a Locust process may take, start to exit (runs are 4-5 s of traffic).
LOCUST_TIMEOUT = 40


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with server_process() as running:
        yield running


def _locust(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "locust", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _tally(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if '"rtm_delivery_tally"' in line:
            return dict(json.loads(line))
    pytest.fail(f"no rtm_delivery_tally line in:\n{output[-3000:]}")


def _distributed(url: str, tmp_path: Path, locustfile: Path, *extra: str) -> tuple[int, str]:
    """A master and two workers on 127.0.0.1, users of ``url``: the master's exit code
    and output."""
    port = str(free_port())
    master = _locust(
        "-f", str(locustfile), "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--headless", "--expect-workers", "2",
        "-u", "8", "-r", "8", "-t", "4s", "--host", url,
        "--exit-code-on-error", "0", "--rtm-settle", "0.5", "--only-summary", *extra,
        cwd=tmp_path,
    )  # fmt: skip
    workers = [
        _locust("-f", str(locustfile), "--worker", "--master-port", port, cwd=tmp_path)
        for _ in range(2)
    ]
    try:
        output, _ = master.communicate(timeout=LOCUST_TIMEOUT)
        for worker in workers:
            worker.communicate(timeout=10)
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()
    return master.returncode, output


def test_headless_run_reports_calls_failures_and_deliveries(server, tmp_path):
    """Every SDK call is a request with its own name, a failure names its Agora code,
    and deliveries come back as their own request type."""
    process = _locust(
        "-f", str(HERE / "locustfiles" / "probe.py"), "--headless", "-u", "13", "-r", "13",
        "-t", "4s", "--host", server.url, "--csv", "run", "--json-file", "run",
        "--exit-code-on-error", "0",
        # 3 users of each of the 4 planned classes (and Lonely): a plan of 3 each.
        "--rtm-plan-users", "3", "--rtm-settle", "0.5", "--only-summary",
        cwd=tmp_path,
    )  # fmt: skip
    output, _ = process.communicate(timeout=LOCUST_TIMEOUT)
    assert process.returncode == 0, output[-3000:]
    # The final statistics: the CSV is only rewritten every second or two, so calls
    # made as the run stops (logouts) may miss it on a busy machine.
    with open(tmp_path / "run.json") as file:
        counts = {(e["method"], e["name"]): e["num_requests"] for e in json.load(file)}
    for name in (
        "login",
        "logout",
        "send_message_to_peer",
        "channel.join",
        "channel.send_message",
        "query_peers_online_status",
        "subscribe_peers_online_status",
        "set_local_user_attributes",
        "get_user_attributes",
        "invitation",
    ):
        assert counts.get(("rtm", name), 0) > 0, name
    for kind in ("peer", "channel", "invitation"):
        assert counts.get(("delivery", kind), 0) > 0, kind
    with open(tmp_path / "run_failures.csv") as file:
        failures = list(csv.DictReader(file))
    assert any(
        f["Name"] == "send_message_to_peer"
        and "PeerMessageErrCode.PEER_UNREACHABLE (3)" in f["Error"]
        for f in failures
    ), failures
    tally = _tally(output)
    assert tally["processes"] == 1
    assert tally["expected"] > 0
    assert tally["lost"] == 0


def test_master_tallies_workers_without_loss(server, tmp_path):
    """With two workers, senders and receivers in different processes, the master's
    merged tally finds every acknowledged message delivered, once and in order."""
    code, output = _distributed(server.url, tmp_path, EXAMPLE)
    assert code == 0, output[-3000:]
    tally = _tally(output)
    assert tally["processes"] == 2
    assert tally["acked"] > 0
    assert tally["expected"] == tally["acked"]  # peer messages: one delivery each
    assert (tally["lost"], tally["duplicates"], tally["out_of_order"]) == (0, 0, 0)


def test_master_counts_what_a_relay_dropped_as_lost(server, tmp_path):
    """Through a relay that drops every 5th channel message on its way to a member, the
    master's merged tally counts exactly the dropped deliveries as lost, and exits 1.

    A channel message is not numbered per member, so one dropped on a live link is lost
    for good (a dropped peer message would be noticed by the receiver's SDK and sent
    again: ``test_dropping_relay.py``). The drops stop at 6, early in the run; the relay
    never drops a member's first message from a sender (which the tally, holding a
    member that joined during the run only to the messages between the first and the
    last it got from each sender, could not see).
    """
    port = urlsplit(server.url).port or 0
    with DroppingRelay("127.0.0.1", port, every=5, kinds=(ChannelMessage,), limit=6) as relay:
        code, output = _distributed(relay.url(), tmp_path, HERE / "locustfiles" / "relayed.py")
        dropped = relay.dropped
    tally = _tally(output)
    assert code == 1, output[-3000:]
    assert "rtm_delivery_failed" in output
    assert tally["lost"] == dropped == 6, (tally, dropped)
    assert (tally["duplicates"], tally["out_of_order"]) == (0, 0)
    assert tally["delivered"] == tally["expected"] - tally["lost"]
