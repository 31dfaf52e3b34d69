"""Which connection states let requests go out (Agora: logged in, or reconnecting)."""

from rtm_actors.protocol.codes import ConnectionState

#: While RECONNECTING requests are kept and sent once the link is back.
SENDING_STATES = (ConnectionState.CONNECTED, ConnectionState.RECONNECTING)
