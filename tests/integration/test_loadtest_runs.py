"""Short real load runs: every scenario against a server in its own process, two workers,
and the command line with its embedded server."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from rtm_actors.loadtest.cli import main as loadtest_main
from rtm_actors.loadtest.options import LoadOptions
from rtm_actors.loadtest.report import write_json
from rtm_actors.loadtest.runner import embedded_server, run_load
from rtm_actors.loadtest.scenario import CHANNEL, INVITE, PEER
from rtm_actors.loadtest.worker import make_plan

pytestmark = pytest.mark.integration

#: Seconds of traffic per scenario: enough for a drop and a login again where planned.
DURATIONS = {
    "peer": 1.5,
    "channel": 1.5,
    "invite": 1.5,
    "mixed": 2.0,
    "presence": 2.5,
    "storm": 3.0,
}


@pytest.fixture(scope="module")
def server_url():
    with embedded_server() as server:
        yield server.url


class Counting:
    """An observer that counts acknowledgements and deliveries on its own."""

    def __init__(self) -> None:
        self.acks: Counter[str] = Counter()
        self.deliveries: Counter[str] = Counter()

    def acked(self, user_id, key, seq):
        self.acks[key.split("/", 1)[0]] += 1

    def delivered(self, user_id, key, seq):
        self.deliveries[key.split("/", 1)[0]] += 1


def planned_sends(options):
    """Messages and invitations the plan schedules (the plan is deterministic)."""
    plan = make_plan(options)
    return sum(1 for u in plan.users for t in plan.ticks(u) if t.action in (PEER, CHANNEL, INVITE))


@pytest.mark.parametrize("scenario", sorted(DURATIONS))
def test_scenario_runs_without_losses_and_its_json_matches_the_count(
    scenario, server_url, tmp_path
):
    """Each built-in scenario with 20 users loses nothing, errs nowhere, sends what the
    plan says, and its JSON agrees with what an observer counted itself."""
    options = LoadOptions(
        scenario=scenario,
        users=20,
        duration=DURATIONS[scenario],
        rate=2.0,
        url=server_url,
        drain_timeout=5.0,
    )
    counting = Counting()
    result = run_load(options, observer=counting)
    path = tmp_path / "result.json"
    write_json(result, path)
    data = json.loads(path.read_text())
    summary = data["summary"]
    assert result.failures() == []
    assert data["warnings"] == []
    assert summary["counters"]["actions_done"] == summary["counters"]["actions_planned"]
    assert summary["logged_in"] == 20
    assert summary["lost"] == 0
    assert summary["errors"] == 0
    assert summary["duplicates"] == 0
    assert summary["sent"] == planned_sends(options)
    assert summary["acked"] == sum(counting.acks.values()) == summary["sent"]
    assert summary["delivered"] == sum(counting.deliveries.values())
    assert summary["delivered"] == summary["expected"]
    by_kind = summary["latency_ms_by_kind"]
    for kind, name in (("p", "peer"), ("c", "channel"), ("i", "invite")):
        assert by_kind.get(name, {"count": 0})["count"] == counting.deliveries[kind]
    if scenario in ("presence", "mixed"):
        assert summary["ops_ms"]["query"]["count"] > 0
    if scenario == "presence":
        assert summary["counters"]["relogins"] == 6
        assert summary["counters"]["presence_events"] > 0
    if scenario == "storm":
        assert summary["counters"]["relogins"] == 20
        assert summary["ops_ms"]["relogin"]["count"] == 20
    if scenario == "invite":
        assert summary["counters"]["invitations_accepted"] == summary["sent"]


def test_two_workers_aggregate_into_one_result(server_url):
    """--workers 2 splits 20 users over two processes; the merged result counts them all,
    including messages that crossed from one process to the other."""
    options = LoadOptions(
        scenario="channel", users=20, duration=1.5, rate=2.0, url=server_url, workers=2
    )
    result = run_load(options)
    summary = result.summary()
    assert result.failures() == []
    assert summary["users"] == summary["logged_in"] == 20
    assert summary["sent"] == summary["acked"] == planned_sends(options)
    # every channel message reaches every other member, whichever process it is in
    plan = make_plan(options)
    fanout = {c: len(m) - 1 for c, m in plan.channels.items()}
    expected = sum(
        fanout[t.target] for u in plan.users for t in plan.ticks(u) if t.action == CHANNEL
    )
    assert summary["delivered"] == summary["expected"] == expected
    assert summary["lost"] == 0
    assert summary["counters"]["logins"] == 20
    assert summary["ops_ms"]["join"]["count"] == 40


def test_command_line_with_embedded_server_writes_json_and_html(tmp_path, capsys):
    """With no --url the command starts its own server, prints the summary, writes
    both reports and exits 0."""
    json_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    argv = ["--users", "10", "--duration", "1", "--scenario", "peer", "--rate", "3"]
    argv += ["--json", str(json_path), "--html", str(html_path), "--quiet"]
    assert loadtest_main(argv) == 0
    out = capsys.readouterr().out
    assert "server: embedded ws://127.0.0.1:" in out
    assert "result       OK" in out
    data = json.loads(json_path.read_text())
    assert data["verdict"] == {"ok": True, "failures": []}
    assert data["summary"]["server"]["embedded"] is True
    assert data["summary"]["delivered"] == data["summary"]["sent"] > 0
    page = html_path.read_text()
    assert page.count("<svg") >= 4
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_tuned_run_freezes_its_logged_in_users(server_url):
    """tune_gc: once the users are logged in, they are frozen out of the collector's
    scans and collections come rarer; an untuned run leaves the collector alone."""
    import gc

    import gevent

    from rtm_actors.runtime.gctune import YOUNG_THRESHOLD

    thresholds = gc.get_threshold()
    gc.unfreeze()
    options = LoadOptions(scenario="peer", users=4, duration=0.5, rate=1.0, url=server_url)
    try:
        assert run_load(options).failures() == []
        assert gc.get_freeze_count() == 0
        assert run_load(options, tune_gc=True).failures() == []
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gevent.config.track_greenlet_tree = True
