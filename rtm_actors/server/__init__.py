"""The RTM server: gevent-websocket gateway, session actors, supervisor."""

from rtm_actors.server.config import ServerConfig
from rtm_actors.server.node import RtmServer

__all__ = ["RtmServer", "ServerConfig"]
