"""Reports of a run (summary table, JSON, HTML), its verdict, and the live progress line."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from rtm_actors.loadtest.html_report import render_html
from rtm_actors.loadtest.options import LoadOptions
from rtm_actors.loadtest.planned import PlannedUser
from rtm_actors.loadtest.progress import ProgressBoard, ProgressPrinter
from rtm_actors.loadtest.report import format_summary, generator_warning, write_json
from rtm_actors.loadtest.runner import LoadResult, _meta, check_options
from rtm_actors.loadtest.stats import PEER_STREAM, Stats, stream_key
from rtm_actors.loadtest.worker import resolve_user_class


def make_result(lost: int = 0, errors: int = 0, **options) -> LoadResult:
    stats = Stats(origin=0.0)
    key = stream_key(PEER_STREAM, "a", "b")
    for seq in range(1, 101):
        t = 1.0 + seq / 20
        stats.record_sent(t)
        stats.record_acked(key, seq, t + 0.001)
        if seq > lost:
            stats.record_delivered(key, seq, t, t + 0.002 + seq / 10000)
    for i in range(errors):
        stats.record_error("PeerMessageErrCode.PEER_UNREACHABLE", 2.0 + i)
    for t, (connected, connecting) in enumerate([(0, 2), (1, 1), (2, 0), (2, 0), (2, 0), (2, 0)]):
        stats.sample_states(float(t), {"CONNECTED": connected, "CONNECTING": connecting})
    stats.record_state("CONNECTED", "LOGIN_SUCCESS")
    stats.record_op("login", 0.02)
    stats.mark("go", 1.0)
    stats.mark("end", 6.0)
    meta = {
        "users": 2,
        "logged_in": 2,
        "workers": 1,
        "client_rss_kib": 40000,
        "client_kib_per_user": 60.0,
        "client_cpu_s_traffic": 0.1,
        "server": {
            "embedded": True,
            "url": "ws://127.0.0.1:1/rtm",
            "rss_kib": 30000,
            "cpu_s_traffic": 0.05,
            "cpu_us_per_delivery": 50.0,
        },
        "capped": False,
        "wall_s": 7.0,
    }
    return LoadResult(LoadOptions(scenario="peer", users=2, duration=5, **options), stats, meta)


def test_a_clean_run_passes_and_exits_zero():
    """No loss and no error: no failures, exit code 0, OK in the table."""
    result = make_result()
    assert result.failures() == []
    assert result.exit_code == 0
    table = format_summary(result)
    assert "result       OK" in table
    assert "losses       0 of 100 expected" in table
    assert "end-to-end" in table
    assert "login" in table


def test_losses_past_max_loss_fail_the_run():
    """3 lost of 100 fails by default and at --max-loss 0.01, and passes at 0.05."""
    assert make_result(lost=3).exit_code == 1  # the default --max-loss is 0
    failing = make_result(lost=3, max_loss=0.01)
    assert failing.exit_code == 1
    assert "lost 3 of 100" in failing.failures()[0]
    assert make_result(lost=3, max_loss=0.05).exit_code == 0


def test_errors_past_max_errors_fail_the_run():
    """2 errors fail the default --max-errors 0 and pass --max-errors 2."""
    assert make_result(errors=2).failures() == ["2 errors > --max-errors 0"]
    assert make_result(errors=2, max_errors=2).exit_code == 0
    assert "PeerMessageErrCode.PEER_UNREACHABLE 2" in format_summary(make_result(errors=2))


def test_json_report_has_every_figure(tmp_path):
    """The JSON file carries options, summary, verdict, series, spectrum and histograms."""
    path = tmp_path / "r.json"
    write_json(make_result(lost=1), path)
    data = json.loads(path.read_text())
    assert set(data) >= {"options", "summary", "verdict", "series", "latency_spectrum_ms"}
    assert data["summary"]["lost"] == 1
    assert data["summary"]["delivered"] == 99
    assert data["verdict"]["ok"] is False
    assert data["options"]["scenario"] == "peer"
    assert len(data["series"]) == 7
    assert data["series"][3]["states"] == {"CONNECTED": 2, "CONNECTING": 0}
    assert data["histograms"]["latency"]


def test_html_report_is_self_contained_svg():
    """The HTML has the five plots as well-formed inline SVG and nothing to fetch."""
    page = render_html(make_result(errors=3))
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 5
    for svg in svgs:
        ET.fromstring(svg)  # well-formed XML
    assert "<polyline" in page
    assert "<polygon" in page
    assert "<rect" in page
    assert "<script" not in page
    assert "src=" not in page
    for title in ("latency per second", "Latency distribution", "Messages per second"):
        assert title in page
    assert "Users per connection state" in page
    assert "Errors per second" in page


def test_progress_line_merges_workers():
    """The board sums the latest snapshot of each worker and reports rates between lines."""
    board = ProgressBoard(workers=2)
    base = {"users": 10, "logged_in": 10, "acked": 0, "errors": 0, "latency": []}
    board.update({**base, "worker": 0, "t": 1.0, "phase": "traffic", "sent": 10, "delivered": 8})
    board.update({**base, "worker": 1, "t": 1.0, "phase": "traffic", "sent": 10, "delivered": 9})
    first = board.line()
    assert "users 20/20" in first
    assert "delivered 17" in first
    board.update({**base, "worker": 0, "t": 2.0, "phase": "traffic", "sent": 30, "delivered": 28})
    assert "sent 40 (20/s)" in board.line()


def test_progress_rewrites_in_place_on_a_tty_and_prints_lines_otherwise():
    """On a TTY the line is rewritten with a carriage return; elsewhere one line each."""
    snap = {"worker": 0, "t": 1.0, "users": 1, "logged_in": 1, "sent": 1, "delivered": 1}
    tty = io.StringIO()
    printer = ProgressPrinter(tty, tty=True, interval=1.0, clock=iter([0.0, 2.0]).__next__)
    printer(snap)
    printer(snap)
    printer.close()
    assert tty.getvalue().count("\r") == 2
    assert "\x1b[K" in tty.getvalue()
    plain = io.StringIO()
    printer = ProgressPrinter(plain, tty=False, interval=5.0, clock=iter([0.0, 1.0, 6.0]).__next__)
    for _ in range(3):
        printer(snap)
    assert plain.getvalue().count("\n") == 2
    assert "\r" not in plain.getvalue()


def test_out_of_bounds_options_are_refused():
    """Runs must be bounded and well-formed."""
    with pytest.raises(ValueError, match="--users"):
        check_options(LoadOptions(users=0))
    with pytest.raises(ValueError, match="--duration"):
        check_options(LoadOptions(duration=0))
    with pytest.raises(ValueError, match="--workers"):
        check_options(LoadOptions(users=2, workers=3))
    with pytest.raises(ValueError, match="unknown scenario"):
        check_options(LoadOptions(scenario="nope"))
    with pytest.raises(ValueError, match="--message-size"):
        check_options(LoadOptions(message_size=100_000))
    with pytest.raises(ValueError, match="--url"):
        check_options(LoadOptions(url="http://example.invalid/"))


def test_user_classes_resolve_from_a_module_or_a_file(tmp_path):
    """module:Class and file.py:Class name a SimulatedUser; anything else is refused."""
    assert resolve_user_class(None) is PlannedUser
    assert resolve_user_class("rtm_actors.loadtest.planned:PlannedUser") is PlannedUser
    path = tmp_path / "mine.py"
    path.write_text(
        "from rtm_actors.loadtest import SimulatedUser, task\n"
        "class Mine(SimulatedUser):\n"
        "    @task\n"
        "    def hello(self):\n"
        "        pass\n"
    )
    cls = resolve_user_class(f"{path}:Mine")
    assert cls.__name__ == "Mine"
    assert [w for _, w in cls._tasks] == [1]
    with pytest.raises(ValueError, match="not a SimulatedUser"):
        resolve_user_class("rtm_actors.loadtest.worker:LoadOptions")
    with pytest.raises(ValueError, match="module:Class"):
        resolve_user_class("nocolon")


def test_a_lagging_load_generator_is_called_out():
    """Planned actions left undone, or a median schedule lag over 100 ms, warn in the
    table and the JSON; a generator on schedule does not."""
    result = make_result()
    result.stats.counters.update({"actions_planned": 10, "actions_done": 10})
    assert generator_warning(result.summary()) is None
    result.stats.record_op("schedule_lag", 0.5)
    warning = generator_warning(result.summary())
    assert warning is not None
    assert "schedule lag p50 500 ms" in warning
    assert "WARNING      the load generator fell behind" in format_summary(result)
    assert result.to_json()["warnings"] == [warning]
    behind = make_result()
    behind.stats.counters.update({"actions_planned": 10, "actions_done": 7})
    assert "7 of 10 planned actions" in (generator_warning(behind.summary()) or "")


def test_client_and_server_cpu_per_delivery_sit_side_by_side_in_the_summary():
    """The run's metadata carries both sides' CPU per delivery and their ratio."""
    stats = Stats(0.0)
    for seq in range(4):
        stats.record_delivered(stream_key(PEER_STREAM, "a", "b"), seq, 1.0, 1.001)
    stats.counters["cpu_ms_traffic"] = 2
    server = SimpleNamespace(embedded=True, url="ws://127.0.0.1:1/rtm")
    meter = SimpleNamespace(cpu_at_go=1.0, cpu_at_drained=1.001)
    meta = _meta(LoadOptions(scenario="peer"), stats, server, meter, 0, 0.0)  # type: ignore[arg-type]
    assert meta["client_cpu_us_per_delivery"] == 500.0
    assert meta["server_cpu_us_per_delivery"] == 250.0
    assert meta["client_server_cpu_ratio"] == 2.0
    assert "500 us per delivery (2.00x the server's)" in format_summary(
        LoadResult(LoadOptions(scenario="peer"), stats, {**make_result().meta, **meta})
    )
