"""A C++/Java app sees only its own CHANNEL_MESSAGE_ERR_CODE values."""

from __future__ import annotations

import pytest

from rtm_actors import ChannelMessageErrCode, RtmError
from rtm_actors.client.channel_requests import ChannelMessageRequest
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.requests import ClientState
from rtm_actors.protocol.frames import Reply


def test_the_servers_not_in_channel_reaches_the_app_as_failure():
    """A server that answers 5 (the Web SDK's NOT_IN_CHANNEL, e.g. a leave raced the send)
    fails the future and the callback with FAILURE (1)."""
    calls = []
    request = ChannelMessageRequest(7, b"", RtmFuture(7), 0.0, message_id=42, channel_id="room")
    request.settle(
        Reply(7, ChannelMessageErrCode.NOT_IN_CHANNEL), ClientState(), lambda *a: calls.append(a)
    )
    assert calls == [("on_send_message_result", 42, ChannelMessageErrCode.FAILURE)]
    with pytest.raises(RtmError) as caught:
        request.future.get(timeout=1)
    assert caught.value.code is ChannelMessageErrCode.FAILURE


def test_other_codes_pass_through():
    """Codes the C++ enum has are reported as the server sent them."""
    calls = []
    request = ChannelMessageRequest(8, b"", RtmFuture(8), 0.0, message_id=43, channel_id="room")
    request.settle(
        Reply(8, ChannelMessageErrCode.TOO_OFTEN), ClientState(), lambda *a: calls.append(a)
    )
    assert calls == [("on_send_message_result", 43, ChannelMessageErrCode.TOO_OFTEN)]
