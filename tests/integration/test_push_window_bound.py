"""A client that never acknowledges cannot make its session keep pushes without bound."""

from __future__ import annotations

import pytest

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.protocol.frames import SendInvitation
from rtm_actors.protocol.invitation import InvitationTimings
from rtm_actors.testing import running_server
from rtm_actors.testing.hostile import HostileSocket, client_frame

pytestmark = pytest.mark.integration


def test_invitation_pushes_count_against_max_unacked():
    """100 invitations end (callees offline) while the caller acknowledges nothing: past
    ``max_unacked`` pushes the caller is cut off as slow, and keeps no more than that."""
    timings = InvitationTimings(offline_retry=0.2, no_ack=0.2, expire=0.5)
    with running_server(
        max_unacked=20,
        invitation_timings=timings,
        invitation_rate=(1000, 1.0),
        max_live_invitations=1000,
    ) as srv:
        sock = HostileSocket(srv.url)
        assert "101" in sock.upgrade()
        sock.login("caller")
        frames = [SendInvitation(i, i, f"offline{i}", "hello") for i in range(1, 101)]
        sock.send(b"".join(client_frame(codec.encode(f)) for f in frames))
        assert sock.close_code(timeout=5.0) == DisconnectCode.SLOW_CONSUMER
        session = srv._ctx.directory.route(("testapp", "caller"))
        if session is not None:  # (still in its grace period)
            actor = session._actor_weakref()
            assert actor is None or len(actor._window) <= 20
