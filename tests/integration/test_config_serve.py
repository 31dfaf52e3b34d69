"""``rtm-actors serve --config FILE`` as an operator runs it: the file's values apply,
flags override it, and a refused file stops it before it listens."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.testing.hostile import HostileSocket
from rtm_actors.testing.process import serve_process

pytestmark = pytest.mark.integration

#: The file's login deadline: far below the default 10 s, so only the file explains it.
LOGIN_TIMEOUT = 1.0
#: How late a deadline may fire on a loaded 2-core machine.
SLACK = 2.0


def test_a_server_started_from_a_file_uses_its_login_timeout(tmp_path):
    """A socket that upgrades and never logs in is closed with 3009 at the file's
    login_timeout, not the default's 10 s; --port 0 overrides the file's port."""
    config = tmp_path / "rtm.toml"
    config.write_text(
        f'port = 8700\nstore = "memory"\n[transport]\nlogin_timeout = {LOGIN_TIMEOUT}\n'
    )
    with serve_process("--config", str(config), "--port", "0") as server:
        assert ":8700/" not in server.url
        sock = HostileSocket(server.url)
        try:
            assert "101" in sock.upgrade()
            began = time.monotonic()
            assert sock.is_open_after(LOGIN_TIMEOUT / 2)
            assert sock.close_code(LOGIN_TIMEOUT + SLACK) == DisconnectCode.STALE
            assert time.monotonic() - began >= LOGIN_TIMEOUT * 0.9
        finally:
            sock.close()


def test_a_refused_file_exits_2_before_listening(tmp_path):
    """`rtm-actors serve` with a bad file names the file and key on stderr and exits 2."""
    config = tmp_path / "rtm.toml"
    config.write_text("[sessions]\ngrace_period = -5\n")
    done = subprocess.run(
        [sys.executable, "-m", "rtm_actors.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert f"{config}: sessions.grace_period: expected a number of seconds > 0, got -5" in (
        done.stderr
    )
    assert done.stdout == ""
