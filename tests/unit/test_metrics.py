"""Server metrics pieces without sockets: counts, histograms, names, probes, the top view."""

from __future__ import annotations

import io

from rtm_actors.protocol import frames as f
from rtm_actors.runtime import Adopt, ChildSpec, GeventActor, Supervisor
from rtm_actors.runtime.messages import Census
from rtm_actors.server.metrics import LATENCY_BUCKETS, RequestClock, ServerMetrics
from rtm_actors.server.ops import OpsApp
from rtm_actors.server.prometheus import code_name, kind_name, node_registry, render
from rtm_actors.testing import wait_until
from rtm_actors.top import figures, metrics_url, parse, quantile, render_line, run


def test_request_clock_times_a_request_to_its_reply():
    """A reply ends its request's clock: one duration, counted under the request's kind."""
    metrics = ServerMetrics()
    clock = RequestClock(metrics)
    clock.received(f.QueryPresence(5, ["bob"]), at=1e-9)
    clock.sent(f.PresenceReply(5, 0, {"bob": 0}))
    assert metrics.frames_in[f.QueryPresence] == 1
    assert metrics.frames_out[f.PresenceReply] == 1
    assert metrics.latency[f.QueryPresence].count == 1
    assert not metrics.request_errors


def test_request_clock_counts_failed_replies_by_code_but_not_cached_messages():
    """A non-zero result is an error by (kind, code), except a peer message cached offline."""
    metrics = ServerMetrics()
    clock = RequestClock(metrics)
    message = f.WireMessage(id=1, kind=1, text="hi")
    clock.received(f.SendPeerMessage(1, "bob", message), at=1.0)
    clock.sent(f.Reply(1, 3))  # PEER_UNREACHABLE
    clock.received(f.SendPeerMessage(2, "bob", message), at=1.0)
    clock.sent(f.Reply(2, 4))  # CACHED_BY_SERVER
    assert metrics.request_errors == {(f.SendPeerMessage, 3): 1}
    assert code_name(f.SendPeerMessage, 3) == "PEER_UNREACHABLE"
    assert code_name(f.JoinChannel, 999) == "999"
    assert kind_name(f.SendPeerMessage) == "send_peer"
    assert kind_name("login") == "login"


def test_request_clock_forgets_requests_past_its_bound():
    """Requests never answered cannot grow a session's clock without bound."""
    clock = RequestClock(ServerMetrics())
    for rid in range(10_000):
        clock.received(f.GetMembers(rid, "c"), at=1.0)
    assert len(clock._open) <= 4096


def test_histogram_buckets_are_cumulative_in_the_exposition():
    """Durations land in the first bucket whose bound is not below them; +Inf has them all."""
    metrics = ServerMetrics()
    for seconds in (0.0001, 0.003, 0.003, 20.0):
        metrics.observe("login", seconds)
    text, _ = render(node_registry(lambda: _FakeContext(metrics), lambda: True))
    body = text.decode()
    assert 'rtm_request_duration_seconds_bucket{kind="login",le="0.0005"} 1.0' in body
    assert 'rtm_request_duration_seconds_bucket{kind="login",le="0.005"} 3.0' in body
    assert 'rtm_request_duration_seconds_bucket{kind="login",le="10.0"} 3.0' in body
    assert 'rtm_request_duration_seconds_bucket{kind="login",le="+Inf"} 4.0' in body
    assert 'rtm_request_duration_seconds_count{kind="login"} 4.0' in body
    assert len(LATENCY_BUCKETS) == 14


def test_two_registries_never_share_figures():
    """Each node's registry reads only its own context."""
    first, second = ServerMetrics(), ServerMetrics()
    first.invitations["accepted"] += 2
    one, _ = render(node_registry(lambda: _FakeContext(first), lambda: True))
    two, _ = render(node_registry(lambda: _FakeContext(second), lambda: True))
    assert b'rtm_invitations_total{outcome="accepted"} 2.0' in one
    assert b"rtm_invitations_total{" not in two


def test_openmetrics_is_served_when_asked_for():
    """A scraper that accepts OpenMetrics gets it; others get the Prometheus text format."""
    registry = node_registry(lambda: None, lambda: True)
    _, plain = render(registry)
    body, open_metrics = render(registry, "application/openmetrics-text; version=1.0.0")
    assert plain.startswith("text/plain")
    assert open_metrics.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def call(app, path, method="GET"):
    seen = {}

    def start_response(status, headers):
        seen["status"] = status

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": method}, start_response))
    return seen["status"], body


def test_probes_answer_from_the_node_state():
    """/healthz and /readyz answer 200 or 503 from their callbacks; only GET is served."""
    state = {"healthy": True, "ready": False}
    app = OpsApp(None, lambda: state["healthy"], lambda: state["ready"])
    assert call(app, "/healthz")[0].startswith("200")
    assert call(app, "/readyz")[0].startswith("503")
    state["ready"] = True
    assert call(app, "/readyz")[0].startswith("200")
    state["healthy"] = False
    assert call(app, "/healthz")[0].startswith("503")
    assert call(app, "/metrics")[0].startswith("404")  # metrics off
    assert call(app, "/healthz", "POST")[0].startswith("405")


class Crasher(GeventActor):
    def on_receive(self, message):
        raise RuntimeError(message)


def test_supervisor_reports_crashes():
    """The supervisor tells its observer each crash (the actor metrics)."""
    metrics = ServerMetrics()
    sup = Supervisor.start(name="test", on_event=metrics.actor_event)
    child = Crasher.start_under(sup)
    sup.tell(Adopt(child, ChildSpec("crasher")))
    child.tell("boom")
    wait_until(lambda: sup.ask(Census()).children == 0, timeout=2)
    assert metrics.actor_events["crashed"] == 1


def test_metrics_url_accepts_the_forms_an_operator_types():
    """ws://, wss://, http:// and bare host:port all lead to /metrics on that server."""
    assert metrics_url("ws://127.0.0.1:8700/rtm") == "http://127.0.0.1:8700/metrics"
    assert metrics_url("wss://rtm.example.com/rtm") == "https://rtm.example.com/metrics"
    assert metrics_url("http://127.0.0.1:8700/rtm") == "http://127.0.0.1:8700/metrics"
    assert metrics_url("127.0.0.1:8700") == "http://127.0.0.1:8700/metrics"
    assert metrics_url("http://h:1/metrics") == "http://h:1/metrics"


def test_quantiles_come_from_the_buckets():
    """Quantiles are interpolated within the bucket that holds them."""
    buckets = {0.001: 50.0, 0.01: 100.0, float("inf"): 100.0}
    assert quantile(0.5, buckets) == 0.001
    assert abs(quantile(0.75, buckets) - 0.0055) < 1e-9
    assert quantile(0.5, {float("inf"): 0.0}) is None
    assert quantile(0.99, {0.1: 0.0, float("inf"): 5.0}) == 0.1


SCRAPE_1 = """
rtm_users_online 2.0
rtm_messages_in_total{kind="send_peer"} 10.0
rtm_messages_in_total{kind="ping"} 5.0
rtm_request_duration_seconds_bucket{kind="send_peer",le="0.001"} 0.0
rtm_request_duration_seconds_bucket{kind="send_peer",le="+Inf"} 0.0
"""
SCRAPE_2 = """
rtm_users_online 3.0
rtm_messages_in_total{kind="send_peer"} 30.0
rtm_messages_in_total{kind="ping"} 5.0
rtm_request_duration_seconds_bucket{kind="send_peer",le="0.001"} 20.0
rtm_request_duration_seconds_bucket{kind="send_peer",le="+Inf"} 20.0
"""


def test_figures_show_gauges_and_rates_over_the_interval():
    """The view shows gauges as they are and counters as rates between two scrapes."""
    first = parse(SCRAPE_1, at=10.0)
    second = parse(SCRAPE_2, at=12.0)
    rows = dict(figures(second, first))
    assert rows["users"] == "3"
    assert rows["in/s"] == "10.0"
    assert rows["peer_p99_ms"] == "1.0"
    assert dict(figures(first, None))["in/s"] == "-"
    assert "users=3" in render_line(figures(second, first))


def test_top_reports_an_unreachable_server_and_fails():
    """With no server, each refresh says so and the exit code is 1."""
    out = io.StringIO()
    assert run("http://127.0.0.1:9/rtm", interval=0.01, count=2, out=out) == 1
    assert out.getvalue().count("unreachable") == 2


class _FakeContext:
    """Just what the collector reads."""

    def __init__(self, metrics: ServerMetrics) -> None:
        from rtm_actors.server.context import ServerStats
        from rtm_actors.server.directory import Directory

        self.metrics = metrics
        self.stats = ServerStats()
        self.directory = Directory()
        self.channels = _Channels()
        self.invitation_desk = None
        self.bans: set = set()
        self.store = object()


class _Channels:
    def __len__(self) -> int:
        return 0

    def members(self) -> int:
        return 0
