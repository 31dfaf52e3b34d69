"""Faults under traffic: two node processes on a Redis of their own, and what survives.

``run_faults`` starts a ``redis-server`` (append-only file) on a free port and two
``rtm-actors serve`` processes on it, logs real SDK clients in (each given both
nodes' URLs), and keeps peer messages (with and without offline messaging) and
channel messages flowing while it injects one fault after another:

- ``redis``: Redis killed (kill -9) and started again ``redis_down`` seconds later;
- ``node``: node B killed (kill -9); its clients move to node A; B is started again;
- ``slow``: the peer messages go to a receiver that logged in and stopped reading (a
  raw socket); once its session has ended, the receiver logs in again with the SDK and
  gets what was kept for it (the messages answered ``CACHED_BY_SERVER``).

Per fault and kind of traffic it counts, from the senders' receipts and the
receivers' ledgers (``bench.ledger.BitLedger``): sent, acknowledged, failures reported
to the sender, acknowledged but never delivered (lost), duplicates, and late
deliveries (more than a second after sending).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gevent
import gevent.socket

import rtm_actors as ra
from rtm_actors.bench.ledger import BitLedger
from rtm_actors.bench.servers import free_port
from rtm_actors.testing.hostile import HostileSocket
from rtm_actors.testing.redis_process import RedisProcess

ACKED = {ra.PeerMessageErrCode.OK, ra.PeerMessageErrCode.CACHED_BY_SERVER}
OFFLINE = ra.SendMessageOptions(enable_offline_messaging=True)
KINDS = ("peer", "peer offline", "channel")
#: The slow consumer's receiver number in the ledgers.
SLOW = 10_000


@dataclass
class FaultRow:
    """One kind of traffic through one fault."""

    fault: str
    kind: str
    sent: int = 0
    acked: int = 0
    failed: int = 0
    unanswered: int = 0
    deliveries: int = 0
    lost: int = 0
    duplicates: int = 0
    late: int = 0


@dataclass
class Traffic:
    """One kind of traffic's ledger, and what its senders were told."""

    ledger: BitLedger = field(default_factory=BitLedger)
    acked: set[int] = field(default_factory=set)
    failed: int = 0
    sent_at: dict[int, float] = field(default_factory=dict)
    late: int = 0

    def arrived(self, receiver: int, n: int) -> None:
        if self.ledger.deliver(receiver, n) != -1 and time.time() - self.sent_at[n] > 1.0:
            self.late += 1

    def row(self, fault: str, kind: str) -> FaultRow:
        tally = self.ledger.tally()
        return FaultRow(
            fault,
            kind,
            sent=tally.sent,
            acked=len(self.acked),
            failed=self.failed,
            unanswered=tally.sent - len(self.acked) - self.failed,
            deliveries=tally.delivered,
            lost=sum(self.ledger.owed(n) for n in self.acked),
            duplicates=tally.duplicates + tally.misrouted,
            late=self.late,
        )


@contextmanager
def node_process(port: int, store: str, logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``rtm-actors serve`` on ``port``; the list holds the current process (restartable)."""
    procs = [start_node(port, store, logs)]
    try:
        yield procs
    finally:
        procs[0].kill()
        procs[0].wait()


def start_node(port: int, store: str, logs: Path) -> subprocess.Popen[bytes]:
    """Start a node (its log appended to ``logs``) and wait until it listens."""
    command = [sys.executable, "-m", "rtm_actors.cli", "serve", "--port", str(port)]
    with logs.open("ab") as log_file:
        proc = subprocess.Popen(
            [*command, "--store", store, "--log-level", "info", "--no-metrics"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 20
    while True:
        try:
            gevent.socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if time.monotonic() > deadline:
                msg = f"node did not listen on {port}"
                raise RuntimeError(msg) from None
            gevent.sleep(0.05)


class TwoNodeCluster:
    """Users on two nodes: senders on A, peer receivers on B, a channel across both."""

    def __init__(self, urls: list[str], pairs: int, service: Any) -> None:
        self.urls = urls
        self.pairs = pairs
        self.service = service
        #: Per fault (in order), per kind of traffic: what was sent and what arrived.
        self.phases: list[dict[str, Traffic]] = []
        #: Sender i's peer messages go to (user id, receiver number).
        self.peer_to: Callable[[int], tuple[str, int]] = lambda i: (f"r{i}", i)
        self.senders = [self.client(f"s{i}", [urls[0], urls[1]]) for i in range(pairs)]
        self.receivers = [self.client(f"r{i}", [urls[1], urls[0]], i) for i in range(pairs)]
        self.channels = []
        for i, rtm in enumerate([*self.senders, *self.receivers]):
            channel = rtm.create_channel("faults", self._member(i))
            channel.join().get(30)
            self.channels.append((rtm, channel))

    @property
    def traffic(self) -> dict[str, Traffic]:
        """The current fault's ledgers."""
        return self.phases[-1]

    def begin(self) -> None:
        """Count from now on into fresh ledgers (what arrives late for an earlier
        fault still counts there: each message names its fault)."""
        self.phases.append({kind: Traffic() for kind in KINDS})

    def settled(self, *, delivered: bool = True) -> bool:
        """Every message answered, and (``delivered``) every acknowledged one fully
        delivered."""
        for phase in self.phases:
            for t in phase.values():
                if len(t.acked) + t.failed < t.ledger.sent:
                    return False
                if delivered and any(t.ledger.owed(n) for n in t.acked):
                    return False
        return True

    def client(self, user_id: str, urls: list[str], receiver: int = -1) -> Any:
        outer = self

        class Peer(ra.RtmServiceEventHandler):
            def on_message_received_from_peer(self, peer_id: str, message: Any) -> None:
                phase, kind, n = message.text.split(" ")
                outer.phases[int(phase)][kind.replace("_", " ")].arrived(receiver, int(n))

        rtm = self.service.create_rtm_service()
        rtm.initialize("faults", Peer(), server_url=urls)
        rtm.login(None, user_id).get(30)
        return rtm

    def _member(self, index: int) -> Any:
        outer = self

        class Member(ra.ChannelEventHandler):
            def on_message_received(self, user_id: str, message: Any) -> None:
                phase, n = message.text.split(" ")
                outer.phases[int(phase)]["channel"].arrived(index, int(n))

        return Member()

    def send_peer(self, i: int, *, offline: bool) -> None:
        kind = "peer offline" if offline else "peer"
        traffic = self.traffic[kind]
        to, receiver = self.peer_to(i)
        n = traffic.ledger.send(1, receiver)
        traffic.sent_at[n] = time.time()
        rtm = self.senders[i]
        text = f"{len(self.phases) - 1} {kind.replace(' ', '_')} {n}"
        future = rtm.send_message_to_peer(
            to, rtm.create_message(text), OFFLINE if offline else None
        )
        gevent.spawn(self._outcome, traffic, n, lambda: future.get(40) in ACKED)

    def send_channel(self, member: int) -> None:
        traffic = self.traffic["channel"]
        n = traffic.ledger.send(len(self.channels) - 1)
        traffic.sent_at[n] = time.time()
        rtm, channel = self.channels[member]
        future = channel.send_message(rtm.create_message(f"{len(self.phases) - 1} {n}"))
        gevent.spawn(self._outcome, traffic, n, lambda: future.get(40) is None)

    @staticmethod
    def _outcome(traffic: Traffic, n: int, acked: Callable[[], bool]) -> None:
        try:
            ok = acked()
        except ra.RtmError:  # the SDK's failure (a code) or timeout: reported to the sender
            ok = False
        if ok:
            traffic.acked.add(n)
        else:
            traffic.failed += 1


def traffic_loop(cluster: TwoNodeCluster, rate: float) -> None:
    """Each round: a peer message per pair (alternately offline), two channel messages
    (one from each node)."""
    round_no = 0
    while True:
        for i in range(cluster.pairs):
            cluster.send_peer(i, offline=bool((round_no + i) % 2))
        cluster.send_channel(0)
        cluster.send_channel(len(cluster.channels) - 1)
        round_no += 1
        gevent.sleep(1.0 / rate)


def run_faults(
    directory: Path,
    pairs: int = 10,
    rate: float = 10.0,
    redis_down: float = 8.0,
    before: float = 2.0,
    after: float = 3.0,
    settle: float = 20.0,
    slow_consumer: bool = True,
) -> list[FaultRow]:
    """Run every fault in turn under traffic; answer the table's rows."""
    rows: list[FaultRow] = []
    redis_server = RedisProcess(directory, appendonly=True, appendfsync="always")
    redis_server.start()
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        stack.callback(redis_server.kill)
        logs = [directory / "node-a.log", directory / "node-b.log"]
        stack.enter_context(node_process(ports[0], redis_server.url, logs[0]))
        b = stack.enter_context(node_process(ports[1], redis_server.url, logs[1]))
        service = ra.create_agora_service()
        stack.callback(service.release)
        urls = [f"ws://127.0.0.1:{p}/rtm" for p in ports]
        cluster = TwoNodeCluster(urls, pairs, service)

        faults: list[str] = []

        def under_traffic(fault: str, inject: Callable[[], None]) -> None:
            faults.append(fault)
            cluster.begin()
            loop = gevent.spawn(traffic_loop, cluster, rate)
            gevent.sleep(before)
            inject()
            gevent.sleep(after)
            loop.kill()
            deadline = time.monotonic() + settle
            while time.monotonic() < deadline and not cluster.settled():
                gevent.sleep(0.2)

        def redis_restart() -> None:
            redis_server.kill()
            gevent.sleep(redis_down)
            redis_server.start()

        def node_kill() -> None:
            b[0].kill()
            b[0].wait()
            gevent.sleep(2.0)
            b[0] = start_node(ports[1], redis_server.url, logs[1])

        under_traffic(f"redis kill -9, down {redis_down:g} s, AOF", redis_restart)
        under_traffic("node kill -9, restarted after 2 s", node_kill)
        if slow_consumer:
            faults.append("slow consumer (stops reading)")
            cluster.begin()
            _slow_consumer(cluster, rate, before + after)
        for fault, phase in zip(faults, cluster.phases, strict=True):
            rows.extend(t.row(fault, kind) for kind, t in phase.items())
    return rows


def _slow_consumer(cluster: TwoNodeCluster, rate: float, seconds: float) -> None:
    """Peer messages to a receiver that stops reading, until every sender has an
    answer (its session ends after the server's idle timeout and grace period); then
    it logs in again and gets what was kept for it."""
    slow = HostileSocket(cluster.urls[0])
    slow.upgrade()
    slow.login("slow", app_id="faults")
    gevent.sleep(0.5)
    cluster.peer_to = lambda _i: ("slow", SLOW)
    loop = gevent.spawn(traffic_loop, cluster, rate)
    gevent.sleep(seconds)
    loop.kill()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not cluster.settled(delivered=False):
        gevent.sleep(0.5)
    slow.close()
    cluster.senders.append(cluster.client("slow", cluster.urls, SLOW))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not cluster.settled():
        gevent.sleep(0.2)


def as_dicts(rows: list[FaultRow]) -> list[dict[str, Any]]:
    """The rows for JSON."""
    return [asdict(r) for r in rows]
