"""Mount the RTM server in your own gevent WSGI service, beside your own HTTP routes.

    python examples/embed_in_gevent_service.py                 # serve on :8080 until Ctrl-C
    python examples/embed_in_gevent_service.py --demo --port 0  # self-test, then exit

One ``gevent.pywsgi.WSGIServer`` (with geventwebsocket's handler) serves:

    ws   /rtm                  the RTM server (clients use ws://host:port/rtm)
    GET  /health               200 "ok"
    GET  /stats                JSON: {"users_online": N}
    POST /notify?user=X&text=Y the service's own "system" user sends X a peer message;
                               the body is the PeerMessageErrCode name (OK, CACHED_BY_SERVER)

Nothing is monkey-patched. So inside this process, do network IO with gevent
(``gevent.socket``, the SDK) rather than urllib/requests, which would block every
greenlet, and wait with ``gevent.sleep``, not ``time.sleep``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, quote

import gevent.event
import gevent.queue
import gevent.socket
from gevent.pywsgi import WSGIServer
from geventwebsocket.handler import WebSocketHandler

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.server import RtmServer

APP_ID = "notifydemo"
TIMEOUT = 10.0
# Notifications are cached by the server for users who are offline.
NOTIFY_OPTIONS = ra.SendMessageOptions(enable_offline_messaging=True)
BAD_INPUT = (ra.PeerMessageErrCode.INVALID_USERID, ra.PeerMessageErrCode.INVALID_MESSAGE)


class Service:
    """The WSGI app: ``/rtm`` goes to the RTM server, everything else to our routes."""

    def __init__(self, server: RtmServer, system: ra.RtmService) -> None:
        self.server = server
        self.rtm_app = server.wsgi_app  # first use starts the server's store and actors
        self.system = system

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        # gevent.pywsgi runs each request (and each websocket) on its own greenlet.
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if path == self.server.path:
            return self.rtm_app(environ, start_response)
        if method == "GET" and path == "/health":
            return reply(start_response, "200 OK", "ok")
        if method == "GET" and path == "/stats":
            stats = {"users_online": len(self.server.context.directory)}
            return reply(start_response, "200 OK", json.dumps(stats), "application/json")
        if method == "POST" and path == "/notify":
            return self.notify(environ, start_response)
        return reply(start_response, "404 Not Found", "not found")

    def notify(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        user, text = query.get("user", [""])[0], query.get("text", [""])[0]
        if not user or not text:
            return reply(start_response, "400 Bad Request", "need ?user=...&text=...")
        message = self.system.create_message(text)
        try:
            # Waiting here blocks only this request's greenlet, never the server.
            code = self.system.send_message_to_peer(user, message, NOTIFY_OPTIONS).get(TIMEOUT)
        except ra.RtmError as exc:  # .code: Agora's code; None when no answer came in time
            if exc.code is None:
                return reply(start_response, "504 Gateway Timeout", str(exc))
            status = "400 Bad Request" if exc.code in BAD_INPUT else "502 Bad Gateway"
            return reply(start_response, status, exc.code.name)
        return reply(start_response, "200 OK", code.name)


def reply(
    start_response: Callable[..., Any], status: str, body: str, kind: str = "text/plain"
) -> list[bytes]:
    data = body.encode()
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(data)))])
    return [data]


def http_request(host: str, port: int, method: str, target: str) -> tuple[int, str]:
    """A minimal HTTP/1.0 client on gevent.socket (cooperative without monkey patching)."""
    with gevent.socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(f"{method} {target} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


class Inbox(ra.RtmServiceEventHandler):
    """The demo user's handler: queues what arrives (callbacks run on the SDK's greenlet)."""

    def __init__(self) -> None:
        self.messages: gevent.queue.Queue[tuple[str, ra.Message]] = gevent.queue.Queue()

    def on_message_received_from_peer(self, peer_id: str, message: ra.Message) -> None:
        self.messages.put((peer_id, message))


def client(url: str, user_id: str, handler: ra.RtmServiceEventHandler) -> ra.RtmService:
    """A client logged in as ``user_id``."""
    rtm = ra.create_agora_service().create_rtm_service()
    rtm.initialize(APP_ID, handler, server_url=url)
    rtm.login(None, user_id).get(timeout=TIMEOUT)
    return rtm


def demo(host: str, port: int) -> bool:
    """Log bob in, notify him through the HTTP API, check that he got it."""
    inbox = Inbox()
    bob = client(f"ws://{host}:{port}/rtm", "bob", inbox)
    try:
        print("GET /health ->", *http_request(host, port, "GET", "/health"))
        print("GET /stats ->", *http_request(host, port, "GET", "/stats"))
        text = "your order has shipped"
        result = http_request(host, port, "POST", "/notify?user=bob&text=" + quote(text))
        print("POST /notify (bob) ->", *result)
        peer_id, message = inbox.messages.get(timeout=TIMEOUT)
        print(f"bob received from {peer_id}: {message.text}")
        # carol is not logged in: the server keeps the notification for her.
        cached = http_request(host, port, "POST", "/notify?user=carol&text=hi")
        print("POST /notify (carol) ->", *cached)
        bob.logout().get(timeout=TIMEOUT)
    finally:
        bob.release()
    return result == (200, "OK") and message.text == text and cached == (200, "CACHED_BY_SERVER")


def main(argv: list[str] | None = None) -> int:
    """Run the service (or the demo); answer the process exit code."""
    parser = argparse.ArgumentParser(description="An HTTP service with the RTM server inside.")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    parser.add_argument(
        "--store", default="memory", help="offline store: memory (default) or sqlite:///rtm.db"
    )
    parser.add_argument("--demo", action="store_true", help="run a self-test, then exit")
    args = parser.parse_args(argv)
    configure_logging("warning")

    stopping = gevent.event.Event()
    if not args.demo:  # Ctrl-C or SIGTERM stops the service (the handlers run on the hub)
        gevent.signal_handler(signal.SIGINT, stopping.set)
        gevent.signal_handler(signal.SIGTERM, stopping.set)

    # The RTM server is not start()ed: our WSGIServer does the listening.
    server = RtmServer(store=args.store)
    system = ra.create_agora_service().create_rtm_service()
    service = Service(server, system)
    http = WSGIServer((args.host, args.port), service, handler_class=WebSocketHandler, log=None)
    http.start()
    port = int(http.server_port or args.port)
    host = "127.0.0.1" if args.host in ("", "0.0.0.0") else args.host  # to reach ourselves
    print(f"serving http://{args.host}:{port}/ (RTM: ws://{args.host}:{port}{server.path})")
    ok = True
    try:
        # The "system" user that /notify sends as, logged in against our own /rtm.
        url = f"ws://{host}:{port}{server.path}"
        system.initialize(APP_ID, ra.RtmServiceEventHandler(), server_url=url)
        system.login(None, "system").get(timeout=TIMEOUT)
        if args.demo:
            ok = demo(host, port)
        else:
            stopping.wait()
        system.logout().get(timeout=TIMEOUT)
    finally:
        system.release()
        http.close()  # accept no new connections (clients would reconnect at once)
        server.stop()  # closes RTM sessions, stops the server's actors, closes the store
        http.stop(timeout=1)  # ends what is left of the requests
        print("stopped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
