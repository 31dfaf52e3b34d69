"""The exception hierarchy (defined in the sans-IO layer, re-exported here)."""

from rtm_actors.protocol.errors import (
    ClosedError,
    ConnectionAbortedByServer,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    RequestError,
    RtmError,
    RtmTimeoutError,
    StoreError,
)

__all__ = [
    "ClosedError",
    "ConnectionAbortedByServer",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "RequestError",
    "RtmError",
    "RtmTimeoutError",
    "StoreError",
]
