"""The RTM server: gevent-websocket gateway, session actors, supervisor."""

from rtm_actors.server.config import ServerConfig
from rtm_actors.server.config_file import ConfigError, load_settings
from rtm_actors.server.node import RtmServer
from rtm_actors.server.settings import ServeSettings

__all__ = ["ConfigError", "RtmServer", "ServeSettings", "ServerConfig", "load_settings"]
