"""Operator endpoints beside the websocket: ban and unban users over HTTP.

``POST <path>/admin/ban`` and ``<path>/admin/unban`` with a JSON body
``{"app_id": ..., "user_id": ...}`` and ``Authorization: Bearer <admin token>``. They
exist only when the server was given an admin token; ``rtm-actors ban`` calls them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from rtm_actors.protocol.limits import is_valid_app_id, is_valid_user_id


class BanRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of a ban or unban request."""

    app_id: str
    user_id: str


class AdminApp:
    """A tiny WSGI app for the operator's calls."""

    def __init__(
        self, token: str, ban: Callable[[str, str], None], unban: Callable[[str, str], None]
    ) -> None:
        self._token = token.encode()
        self._actions = {"ban": ban, "unban": unban}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        action = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
        if not self._authorized(environ.get("HTTP_AUTHORIZATION", "")):
            return _answer(start_response, "401 Unauthorized", b"bad or missing admin token\n")
        if environ.get("REQUEST_METHOD") != "POST" or action not in self._actions:
            return _answer(
                start_response, "404 Not Found", b"POST .../admin/ban or .../admin/unban\n"
            )
        try:
            size = min(int(environ.get("CONTENT_LENGTH") or 0), 4096)
            body = msgspec.json.decode(environ["wsgi.input"].read(size), type=BanRequest)
        except (ValueError, msgspec.DecodeError):
            return _answer(
                start_response, "400 Bad Request", b'expected {"app_id": ..., "user_id": ...}\n'
            )
        if not is_valid_app_id(body.app_id) or not is_valid_user_id(body.user_id):
            return _answer(start_response, "400 Bad Request", b"invalid app id or user id\n")
        self._actions[action](body.app_id, body.user_id)
        return _answer(start_response, "200 OK", f"{action}ned {body.user_id}\n".encode())

    def _authorized(self, header: str) -> bool:
        """``Authorization: Bearer <token>`` exactly: a bare token is refused too (it
        would let a token sent where a Bearer is not expected work here)."""
        scheme, _, given = header.partition(" ")
        # compare_digest whatever the scheme, so the answer takes the same time.
        matches = hmac.compare_digest(given.encode(), self._token)
        return scheme == "Bearer" and matches


def _answer(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
