"""Event handler base classes: no-op methods; override the ones you need.

Callbacks of one ``RtmService`` (and its channels and call manager) run one at a
time, in order, on one greenlet of their own, never on the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rtm_actors.client.values import Message
from rtm_actors.protocol.codes import (
    ConnectionChangeReason,
    ConnectionState,
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
