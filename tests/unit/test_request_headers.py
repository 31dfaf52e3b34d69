"""The upgrade request's headers, parsed without email.parser: what pywsgi needs, with
http.client's limits; and a real server answering bad header sections with 400."""

from __future__ import annotations

import io
import urllib.parse

import gevent.socket

from rtm_actors.server.wsio import MAX_HEADER_LINE, MAX_HEADERS, RequestHeaders
from rtm_actors.testing import running_server


def parse(raw: bytes) -> RequestHeaders:
    return RequestHeaders.read(io.BytesIO(raw))


def test_headers_are_read_up_to_the_blank_line_case_insensitively():
    raw = b"Host: a\r\nUpgrade: websocket\r\nConnection:  Upgrade \r\n\r\nnot a header"
    headers = parse(raw)
    assert headers.status == ""
    assert headers.get("upgrade") == "websocket"
    assert headers.get("CONNECTION") == "Upgrade"
    assert headers.get("missing", "x") == "x"
    assert headers.headers == ["Host: a\r\n", "Upgrade: websocket\r\n", "Connection: Upgrade\r\n"]
    del headers["host"]
    assert headers.get("Host") is None


def test_bad_header_sections_get_a_status_that_pywsgi_answers_with_400():
    assert parse(b"X: " + b"a" * MAX_HEADER_LINE + b"\r\n\r\n").status == "Line too long"
    many = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n"
    assert parse(many).status == "Too many headers"
    assert parse(b"Host: a\r\n folded\r\n\r\n").status == "Invalid header line"
    assert parse(b"no colon here\r\n\r\n").status == "Invalid header line"
    assert parse(b"Bad name : v\r\n\r\n").status == "Invalid header line"


def request(url: str, head: bytes) -> bytes:
    parts = urllib.parse.urlsplit(url)
    with gevent.socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head)
        return sock.recv(4096)


def test_a_real_server_refuses_a_bad_header_section_and_still_upgrades_good_ones():
    with running_server() as server:
        bad = request(server.url, b"GET /rtm HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400")
        good = request(
            server.url,
            b"GET /rtm HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        assert good.startswith(b"HTTP/1.1 101")
        assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in good  # RFC 6455's example accept key
