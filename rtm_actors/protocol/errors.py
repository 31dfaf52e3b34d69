"""The exception hierarchy, kept in the sans-IO layer so every layer can share it.

``RtmError`` is the root. Inside ``protocol/`` only ``LocalProtocolError`` is raised;
``codec.decode_*`` turns anything the peer sent wrong into ``RemoteProtocolError``
at that one boundary (the h11 trick).
"""

from __future__ import annotations

from enum import IntEnum

from rtm_actors.protocol.codes import ConnectionChangeReason, DisconnectCode


class RtmError(Exception):
    """Root of every error rtm_actors raises.

    Attributes:
        code: the Agora error code of the failed operation, when there is one.
    """

    def __init__(self, message: str, code: IntEnum | None = None) -> None:
        super().__init__(message)
        self.code = code


class ProtocolError(RtmError):
    """A frame or a call broke the protocol. Not raised itself: see the two kinds."""

    def __init__(
        self,
        message: str,
        disconnect_code: DisconnectCode = DisconnectCode.PROTOCOL_ERROR,
    ) -> None:
        if type(self) is ProtocolError:
            msg = "raise LocalProtocolError or RemoteProtocolError"
            raise TypeError(msg)
        super().__init__(message)
        self.disconnect_code = disconnect_code


class LocalProtocolError(ProtocolError):
    """We asked for something the protocol does not allow in this state."""


class RemoteProtocolError(ProtocolError):
    """The other side sent something malformed or out of place."""


class RequestError(RtmError):
    """The server, or the SDK's local checks, answered a request with an error code."""


class ConnectionAbortedByServer(RtmError):  # noqa: N818 - named in STYLE.md
    """The server ended the session for good (remote login, ban, token expiry)."""

    def __init__(self, message: str, reason: ConnectionChangeReason) -> None:
        super().__init__(message, reason)
        self.reason = reason


class RtmTimeoutError(RtmError, TimeoutError):
    """A wait for a result ran past its timeout."""


class ClosedError(RtmError, RuntimeError):
    """The object was used after ``release()`` or ``stop()``."""


class StoreError(RtmError):
    """A storage backend failed."""
