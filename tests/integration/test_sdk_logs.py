"""SDK log settings with real clients: the file, its fields, the filter and rotation."""

from __future__ import annotations

import json

import pytest

import rtm_actors as ra
from rtm_actors.testing import EventRecorder

pytestmark = pytest.mark.integration


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_a_session(rtm, rec, user_id="alice"):
    """Log in, join a channel, send, read attributes, get refused once, log out."""
    rtm.login(None, user_id).get(timeout=5)
    channel = rtm.create_channel("lobby", ra.ChannelEventHandler())
    channel.join().get(timeout=5)
    channel.send_message(rtm.create_message("hello")).get(timeout=5)
    with pytest.raises(ra.RtmError):
        rtm.send_message_to_peer("nobody", rtm.create_message("hi")).get(timeout=5)
    rtm.get_user_attributes(user_id).get(timeout=5)
    rtm.query_peers_online_status([])  # refused locally: a warning line
    rtm.logout().get(timeout=5)


def test_a_session_is_logged_to_the_file_with_user_request_and_channel_ids(
    server, make_client, tmp_path
):
    """With a file and the debug mask, lines are JSON with user id, request ids, channel id."""
    rtm, rec = make_client(server.url)
    path = tmp_path / "alice.log"
    assert rtm.set_log_filter(ra.LogFilter.MASK) == 0
    assert rtm.set_log_file(str(path)) == 0
    assert path.exists()
    run_a_session(rtm, rec)
    lines = read(path)
    events = [x["event"] for x in lines]
    assert "connection_state_changed" in events
    assert "request_sent" in events
    assert all(x["app_id"] == "testapp" for x in lines)
    after_login = lines[events.index("connection_state_changed") :]
    assert all(x["user_id"] == "alice" for x in after_login)
    requests = [x for x in lines if x["event"] in ("request_sent", "request_answered")]
    assert all(isinstance(x["request_id"], int) for x in requests)
    joins = [x for x in requests if x["what"] == "join"]
    assert joins
    assert all(x["channel_id"] == "lobby" for x in joins)
    sends = [x for x in requests if x["what"] == "send_message"]
    assert all(x["channel_id"] == "lobby" for x in sends)
    failed = [x for x in lines if x["event"] == "request_answered" and x["code"] != 0]
    assert [x["what"] for x in failed] == ["send_message_to_peer"]
    assert failed[0]["level"] == "info"
    refused = [x for x in lines if x["event"] == "request_refused"]
    assert refused[0]["level"] == "warning"
    assert refused[0]["code"] == "INVALID_ARGUMENT"
    assert {x["level"] for x in lines} <= {"debug", "info", "warning", "error", "critical"}


def test_filter_off_writes_nothing(server, make_client, tmp_path):
    """LogFilter.OFF: a whole session leaves the file empty."""
    rtm, rec = make_client(server.url)
    path = tmp_path / "quiet.log"
    assert rtm.set_log_filter(ra.LogFilter.OFF) == 0
    assert rtm.set_log_file(str(path)) == 0
    run_a_session(rtm, rec)
    assert path.read_text() == ""


def test_warn_filter_keeps_warnings_and_drops_info(server, make_client, tmp_path):
    """LogFilter.WARN: the refused call's warning is there, the info and debug lines are not."""
    rtm, rec = make_client(server.url)
    path = tmp_path / "warn.log"
    assert rtm.set_log_filter(ra.LogFilter.WARN) == 0
    assert rtm.set_log_file(str(path)) == 0
    run_a_session(rtm, rec)
    lines = read(path)
    levels = {x["level"] for x in lines}
    assert levels <= {"warning", "error", "critical"}
    assert "request_refused" in [x["event"] for x in lines]


def test_error_filter_keeps_a_failed_login(make_client, tmp_path):
    """LogFilter.ERROR: a login that times out is logged at error level, nothing below."""
    rtm, _rec = make_client("ws://127.0.0.1:9/rtm", login_timeout=0.5)
    path = tmp_path / "error.log"
    assert rtm.set_log_filter(ra.LogFilter.ERROR) == 0
    assert rtm.set_log_file(str(path)) == 0
    with pytest.raises(ra.RtmError):
        rtm.login(None, "alice").get(timeout=5)
    lines = read(path)
    assert [x["event"] for x in lines] == ["login_failed"]
    assert lines[0]["code"] == "TIMEOUT"
    assert lines[0]["level"] == "error"
    assert lines[0]["user_id"] == "alice"


def test_info_is_the_default_filter(server, make_client, tmp_path):
    """Without set_log_filter, info lines are written and debug lines are not."""
    rtm, rec = make_client(server.url)
    path = tmp_path / "info.log"
    assert rtm.set_log_file(str(path)) == 0
    run_a_session(rtm, rec)
    levels = {x["level"] for x in read(path)}
    assert "info" in levels
    assert "debug" not in levels


def test_the_file_rotates_at_the_set_size(make_client, tmp_path):
    """set_log_file_size(512): past 512 KB the file moves to .1; two files, each within size."""
    rtm, _rec = make_client("ws://127.0.0.1:9/rtm")
    path = tmp_path / "big.log"
    assert rtm.set_log_file_size(512) == 0
    assert rtm.set_log_file(str(path)) == 0
    for _ in range(6000):  # each refused call writes one warning line of ~200 bytes
        rtm.get_user_attributes("bob")
    backup = tmp_path / "big.log.1"
    assert backup.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.log", "big.log.1"]
    assert 500 * 1024 < backup.stat().st_size <= 512 * 1024
    assert path.stat().st_size <= 512 * 1024
    assert read(backup)[-1]["event"] == "request_refused"


def test_log_settings_are_refused_with_agora_codes(make_client, tmp_path):
    """Bad settings give non-zero codes, change nothing, and are themselves logged."""
    rtm, _rec = make_client("ws://127.0.0.1:9/rtm")
    path = tmp_path / "rtm.log"
    assert rtm.set_log_file(str(path)) == 0
    assert rtm.set_log_file(str(tmp_path / "no" / "such.log")) == -2
    assert rtm.set_log_file_size(100) == -2
    assert rtm.set_log_file_size(2 * 1024 * 1024) == -2
    assert rtm.set_log_filter(-3) == -2
    refused = [x for x in read(path) if x["event"] == "log_setting_refused"]
    assert [x["setting"] for x in refused] == [
        "log_file",
        "log_file_size",
        "log_file_size",
        "log_filter",
    ]
    assert not (tmp_path / "no").exists()


def test_two_services_write_their_own_users_to_their_own_files(server, make_client, tmp_path):
    """Two RtmServices in one process keep separate files, each with its own user."""
    alice, _alice_rec = make_client(server.url)
    bob, _bob_rec = make_client(server.url)
    assert alice.set_log_file(str(tmp_path / "alice.log")) == 0
    assert bob.set_log_file(str(tmp_path / "bob.log")) == 0
    alice.login(None, "alice").get(timeout=5)
    bob.login(None, "bob").get(timeout=5)
    alice.logout().get(timeout=5)
    bob.logout().get(timeout=5)
    for user in ("alice", "bob"):
        users = {x.get("user_id") for x in read(tmp_path / f"{user}.log")}
        assert users - {None} == {user}


def test_set_log_file_before_initialize_applies(server, tmp_path):
    """Log settings made right after create_rtm_service apply once initialized."""
    agora = ra.create_agora_service()
    rtm = agora.create_rtm_service()
    path = tmp_path / "early.log"
    assert rtm.set_log_file(str(path)) == 0
    rec = EventRecorder()
    assert rtm.initialize("testapp", rec, server_url=server.url) == 0
    try:
        rtm.login(None, "carol").get(timeout=5)
        rtm.logout().get(timeout=5)
    finally:
        agora.release()
    events = [x["event"] for x in read(path)]
    assert "connection_state_changed" in events
