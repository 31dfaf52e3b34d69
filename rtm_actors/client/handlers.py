"""Event handler base classes: no-op methods; override the ones you need.

Callbacks of one ``RtmService`` (and its channels and call manager) run one at a
time, in order, on one greenlet of their own, never on the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rtm_actors.client.values import ChannelAttribute, ChannelMember, Message
from rtm_actors.protocol.codes import (
    ChannelMessageErrCode,
    ConnectionChangeReason,
    ConnectionState,
    GetMembersErr,
    JoinChannelErr,
    LeaveChannelErr,
    LoginErrCode,
    LogoutErrCode,
    PeerMessageErrCode,
    PeerOnlineState,
    RenewTokenErrCode,
)


class RtmServiceEventHandler:
    """Agora ``IRtmServiceEventHandler``."""

    def on_login_success(self) -> None:
        """Login succeeded (not called again after an automatic reconnect)."""

    def on_login_failure(self, error_code: LoginErrCode) -> None:
        """Login failed."""

    def on_logout(self, error_code: LogoutErrCode) -> None:
        """Logout finished."""

    def on_connection_state_changed(
        self, state: ConnectionState, reason: ConnectionChangeReason
    ) -> None:
        """The connection state changed, and why."""

    def on_renew_token_result(self, token: str, error_code: RenewTokenErrCode) -> None:
        """The outcome of ``renew_token``."""

    def on_token_expired(self) -> None:
        """The token expired: call ``renew_token``."""

    def on_token_privilege_will_expire(self) -> None:
        """The token expires in 30 s."""

    def on_send_message_result(self, message_id: int, error_code: PeerMessageErrCode) -> None:
        """The outcome of ``send_message_to_peer``."""

    def on_message_received_from_peer(self, peer_id: str, message: Message) -> None:
        """A peer message arrived."""

    def on_query_peers_online_status_result(
        self,
        request_id: int,
        peers_status: Mapping[str, PeerOnlineState],
        error_code: Any,
    ) -> None:
        """The outcome of ``query_peers_online_status``."""

    def on_subscription_request_result(self, request_id: int, error_code: Any) -> None:
        """The outcome of a subscribe or unsubscribe."""

    def on_query_peers_by_subscription_option_result(
        self, request_id: int, peer_ids: Sequence[str], error_code: Any
    ) -> None:
        """The outcome of ``query_peers_by_subscription_option``."""

    def on_peers_online_status_changed(self, peers_status: Mapping[str, PeerOnlineState]) -> None:
        """Subscribed peers changed state."""

    def on_set_local_user_attributes_result(self, request_id: int, error_code: Any) -> None:
        """The outcome of ``set_local_user_attributes``."""

    def on_add_or_update_local_user_attributes_result(
        self, request_id: int, error_code: Any
    ) -> None:
        """The outcome of ``add_or_update_local_user_attributes``."""

    def on_delete_local_user_attributes_result(self, request_id: int, error_code: Any) -> None:
        """The outcome of ``delete_local_user_attributes_by_keys``."""

    def on_clear_local_user_attributes_result(self, request_id: int, error_code: Any) -> None:
        """The outcome of ``clear_local_user_attributes``."""

    def on_get_user_attributes_result(
        self,
        request_id: int,
        user_id: str,
        attributes: Mapping[str, str],
        error_code: Any,
    ) -> None:
        """The outcome of ``get_user_attributes`` / ``get_user_attributes_by_keys``."""

    def on_set_channel_attributes_result(self, request_id: int, error_code: Any) -> None:
        """The outcome of ``set_channel_attributes``."""

    def on_add_or_update_channel_attributes_result(self, request_id: int, error_code: Any) -> None:
        """The outcome of ``add_or_update_channel_attributes``."""

    def on_delete_channel_attributes_result(self, request_id: int, error_code: Any) -> None:
        """The outcome of ``delete_channel_attributes_by_keys``."""

    def on_clear_channel_attributes_result(self, request_id: int, error_code: Any) -> None:
        """The outcome of ``clear_channel_attributes``."""

    def on_get_channel_attributes_result(
        self, request_id: int, attributes: Sequence[Any], error_code: Any
    ) -> None:
        """The outcome of ``get_channel_attributes`` / ``..._by_keys``."""

    def on_get_channel_member_count_result(
        self, request_id: int, counts: Mapping[str, int], error_code: Any
    ) -> None:
        """The outcome of ``get_channel_member_count``."""


class ChannelEventHandler:
    """Agora ``IChannelEventHandler``: events of one ``Channel``."""

    def on_join_success(self) -> None:
        """The join succeeded (not called again when the SDK re-joins by itself)."""

    def on_join_failure(self, error_code: JoinChannelErr) -> None:
        """The join failed."""

    def on_leave(self, error_code: LeaveChannelErr) -> None:
        """The leave finished."""

    def on_message_received(self, user_id: str, message: Message) -> None:
        """Another member sent a message to the channel."""

    def on_send_message_result(self, message_id: int, error_code: ChannelMessageErrCode) -> None:
        """The server accepted (or refused) a message this client sent."""

    def on_member_joined(self, member: ChannelMember) -> None:
        """A user joined (not sent above 512 members)."""

    def on_member_left(self, member: ChannelMember) -> None:
        """A user left, or its grace period ran out (not sent above 512 members)."""

    def on_get_members(self, members: Sequence[ChannelMember], error_code: GetMembersErr) -> None:
        """The outcome of ``get_members``."""

    def on_attributes_updated(self, attributes: Sequence[ChannelAttribute]) -> None:
        """The channel's attributes, all of them, after a notified write."""

    def on_member_count_updated(self, member_count: int) -> None:
        """The channel's member count (once after join, then at most once a second)."""


class RtmCallEventHandler:
    """Agora ``IRtmCallEventHandler``: the caller's and the callee's invitation events."""

    def on_local_invitation_received_by_peer(self, local_invitation: Any) -> None:
        """The callee's SDK has the invitation."""

    def on_local_invitation_canceled(self, local_invitation: Any) -> None:
        """The invitation was canceled (the callee was told first)."""

    def on_local_invitation_failure(self, local_invitation: Any, error_code: Any) -> None:
        """The invitation failed (``LocalInvitationErrCode``)."""

    def on_local_invitation_accepted(self, local_invitation: Any, response: str) -> None:
        """The callee accepted."""

    def on_local_invitation_refused(self, local_invitation: Any, response: str) -> None:
        """The callee refused."""

    def on_remote_invitation_received(self, remote_invitation: Any) -> None:
        """An invitation arrived for this user."""

    def on_remote_invitation_accepted(self, remote_invitation: Any) -> None:
        """This user's acceptance is confirmed: the caller knows."""

    def on_remote_invitation_refused(self, remote_invitation: Any) -> None:
        """This user's refusal is confirmed."""

    def on_remote_invitation_canceled(self, remote_invitation: Any) -> None:
        """The caller canceled."""

    def on_remote_invitation_failure(self, remote_invitation: Any, error_code: Any) -> None:
        """The invitation failed (``RemoteInvitationErrCode``)."""
