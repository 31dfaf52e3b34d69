"""``rtm-actors bench`` for real: its servers, its load clients and its accounting.

Speed is never asserted here (benchmarks report it); what is asserted is that every
message a run sends is counted as delivered exactly once, or the run says it was not.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rtm_actors.bench import fanout, invite, peer, servers, sessions
from rtm_actors.bench.common import Settings
from rtm_actors.bench.results import table
from rtm_actors.bench.runner import Runner, Sizes

pytestmark = pytest.mark.integration

SHORT = Settings(warmup=0.2, measure=0.6, drain=10.0, connect_concurrency=50)


@pytest.mark.parametrize("system", servers.SYSTEMS)
def test_peer_messages_are_delivered_exactly_once(system):
    """Full load, then a fixed rate: each message arrives once, at its receiver."""
    with servers.load_pinned(), servers.running(system) as server:
        full = peer.run(system, server, 20, SHORT)
    with servers.load_pinned(), servers.running(system) as server:
        paced = peer.run(system, server, 20, SHORT, rate=500.0)
    for outcome in (full, paced):
        assert outcome.tally is not None
        assert outcome.tally.sent > 0
        assert outcome.tally.clean, outcome
        assert not outcome.errors
    assert full.metrics["delivered msg/s (full load)"] > 0
    assert paced.metrics["p99 ms (half load)"] > 0


@pytest.mark.parametrize("system", servers.SYSTEMS)
def test_channel_messages_reach_every_other_member_once(system):
    """Each channel message is delivered once to each member but the sender."""
    with servers.running(system) as server:
        outcome = fanout.run(system, server, 30, SHORT)
    assert outcome.tally is not None
    assert outcome.tally.expected == outcome.tally.sent * 29 > 0
    assert outcome.tally.clean, outcome
    assert not outcome.errors


@pytest.mark.parametrize("system", servers.SYSTEMS)
def test_invitations_are_each_accepted_once(system):
    """Every invitation a caller sends comes back accepted, once."""
    with servers.running(system) as server:
        outcome = invite.run(system, server, 5, SHORT)
    assert outcome.tally is not None
    assert outcome.tally.sent > 0
    assert outcome.tally.clean, outcome
    assert not outcome.errors


@pytest.mark.parametrize("system", servers.SYSTEMS)
def test_logins_and_idle_users(system):
    """Every login of a storm is answered; idle users have a memory figure."""
    with servers.running(system) as server:
        storm = sessions.run_login(system, server, 100, SHORT)
    with servers.running(system) as server:
        idle = sessions.run_idle(system, server, 100, SHORT)
    assert storm.metrics["logins/s"] > 0
    assert not storm.errors
    assert "server KB per user" in idle.metrics
    assert not idle.errors


def test_a_lossy_relay_is_reported():
    """A relay that drops every 10th peer message: the run reports the loss."""
    sizes = Sizes(peer_users=(10,))
    runner = Runner(
        SHORT,
        systems=["ceiling"],
        server_args={"ceiling": ("--drop-every", "10")},
        sizes=sizes,
    )
    report = runner.run(["peer"])
    rows = {(r.workload, r.metric): r for r in report.rows}
    lost = rows[("peer-10", "not delivered exactly once (full load)")].values["ceiling"]
    assert lost is not None
    assert lost > 0
    full, _half = (d for d in report.details if d["workload"] == "peer-10")
    assert full["tally"]["lost"] > 0
    assert full["tally"]["delivered"] == full["tally"]["expected"] - full["tally"]["lost"]


def test_the_sdk_workload_reports_both_clients_and_their_ratio():
    """``sdk_peer`` loads our server with the lean client, then with the SDK: both are
    counted exactly once, and the report has each one's load CPU and their ratio (in
    the JSON and in the table)."""
    runner = Runner(SHORT, systems=["ours", "ceiling"], sizes=Sizes(sdk_peer_users=(20,)))
    report = runner.run(["sdk_peer"])
    rows = {r.metric: r.values for r in report.rows if r.workload == "sdk-peer-20"}
    lean = rows["load CPU us/msg (lean client)"]["ours"]
    sdk = rows["load CPU us/msg (SDK)"]["ours"]
    assert lean is not None
    assert sdk is not None
    assert lean > 0
    assert sdk > 0
    assert rows["SDK/lean load CPU per msg"]["ours"] == pytest.approx(sdk / lean)
    assert rows["delivered msg/s (SDK)"]["ours"] > 0
    assert rows["not delivered exactly once"]["ours"] == 0
    assert [d["system"] for d in report.details] == ["ours"]  # the SDK speaks ours only
    (detail,) = report.details
    assert not detail["errors"], detail
    assert detail["tally"]["sent"] > 0
    assert detail["tally"]["delivered"] == detail["tally"]["expected"]
    ratio = next(
        r for r in report.to_json()["results"] if r["metric"] == "SDK/lean load CPU per msg"
    )
    assert ratio["ours"] == rows["SDK/lean load CPU per msg"]["ours"]
    assert "| sdk-peer-20 | SDK/lean load CPU per msg |" in table(report)


@pytest.mark.timeout(420)
def test_quick_run_writes_every_field(tmp_path):
    """``rtm-actors bench --quick --json`` runs every workload on every system and
    writes every field the issue names (the figures themselves are not judged)."""
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "rtm_actors.cli", "bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out.read_text())
    fields = {"workload", "metric", "ours", "ceiling", "socketio"}
    fields |= {"ratio_to_ceiling", "ratio_to_socketio"}
    workloads = {r["workload"] for r in data["results"]}
    assert workloads == {
        "peer-100",
        "peer-1000",
        "fanout-100",
        "fanout-1000",
        "login-2000",
        "invite",
        "idle-5000",
    }
    for row in data["results"]:
        assert set(row) == fields
        for system in servers.SYSTEMS:
            assert isinstance(row[system], int | float), row
    for detail in data["details"]:
        assert not detail["errors"], detail
        if detail["tally"] is not None:
            assert detail["tally"]["lost"] == 0, detail
            assert detail["tally"]["duplicates"] == 0, detail
    assert data["machine"]["cpus"] >= 1
    assert {t["target"] for t in data["targets"]} >= {"login vs socketio", "idle memory per user"}
    assert "| workload | metric | ours | ceiling | socketio |" in done.stdout
