"""The node's live channels: (app id, channel id) to its ``ChannelActor``, and counts.

A channel actor starts on first use (a join, or an attribute write, which needs no
membership) and stops itself once empty for a while. Counts are kept here so that
``get_channel_member_count`` answers without asking each actor.

Channels nobody is in cost a live actor each for ``empty_channel_ttl`` (Agora keeps a
channel's attributes until it has had no members for a couple of minutes), so an app
may have at most ``max_empty_channels_per_app`` of them: past that, an attribute write
does not start another one (``start_for_write`` answers None). Joins are never refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pykka

from rtm_actors.runtime import Adopt, ChildSpec
from rtm_actors.server.channel_actor import (
    ChannelAcrossNodes,
    ChannelActor,
    ChannelServices,
    start_channel,
)

if TYPE_CHECKING:
    from rtm_actors.runtime import Supervisor
    from rtm_actors.server.config import ServerConfig
    from rtm_actors.server.metrics import ServerMetrics

ChannelKey = tuple[str, str]


class ChannelsAcrossNodes(ChannelAcrossNodes, Protocol):
    """What the node's channels do with the other nodes (the node's ``Cluster``)."""

    def channel_opened(self, app_id: str, channel_id: str) -> None:
        """A channel's actor started here: receive the channel's traffic."""

    def channel_closed(self, app_id: str, channel_id: str) -> None:
        """The channel's actor here stopped."""

    def counts(self, app_id: str, channel_ids: list[str]) -> dict[str, int]:
        """Member counts across the cluster."""


class Channels:
    """Live channel actors and their member counts."""

    def __init__(
        self,
        config: ServerConfig,
        supervisor: pykka.ActorRef[Supervisor] | None = None,
        *,
        metrics: ServerMetrics | None = None,
        cluster: ChannelsAcrossNodes | None = None,
    ) -> None:
        self._config = config
        #: Watches each channel actor (set by the node once its supervisor runs).
        self.supervisor = supervisor
        #: The node's ``Cluster`` when several nodes share Redis, else None.
        self._cluster = cluster
        #: What each channel actor is given (``metrics``: channels count the frames
        #: they write straight to members' sockets there).
        self._for_channels = ChannelServices(config, self, metrics, cluster)
        self._actors: dict[ChannelKey, pykka.ActorRef[ChannelActor]] = {}
        self._counts: dict[ChannelKey, int] = {}
        #: Per app, its live channels with no member here.
        self._empty: dict[str, set[ChannelKey]] = {}

    def get(self, app_id: str, channel_id: str) -> pykka.ActorRef[ChannelActor] | None:
        """The live channel's actor, if any."""
        ref = self._actors.get((app_id, channel_id))
        return ref if ref is not None and ref.is_alive() else None

    def get_or_start(self, app_id: str, channel_id: str) -> pykka.ActorRef[ChannelActor]:
        """The channel's actor, started if the channel is not live."""
        ref = self.get(app_id, channel_id)
        if ref is None:
            key = (app_id, channel_id)
            if self._cluster is not None:
                self._cluster.channel_opened(app_id, channel_id)
            ref = start_channel(self.supervisor, self._for_channels, app_id, channel_id)
            self._actors[key] = ref
            self._mark_empty(key, empty=True)  # until a member joins
            if self.supervisor is not None:

                def cleanup(
                    _error: BaseException | None, r: pykka.ActorRef[ChannelActor] = ref
                ) -> None:
                    self.forget(app_id, channel_id, r)

                spec = ChildSpec(f"channel:{channel_id}", on_exit=cleanup)
                self.supervisor.tell(Adopt(ref, spec))
        return ref

    def start_for_write(self, app_id: str, channel_id: str) -> pykka.ActorRef[ChannelActor] | None:
        """The channel's actor for a write that needs no membership; None (and no new
        actor) when the channel is not live and the app has its cap of empty ones."""
        ref = self.get(app_id, channel_id)
        if ref is not None:
            return ref
        if len(self._empty.get(app_id, ())) >= self._config.max_empty_channels_per_app:
            return None
        return self.get_or_start(app_id, channel_id)

    def empty_channels(self, app_id: str) -> int:
        """Live channels of the app with no member on this node."""
        return len(self._empty.get(app_id, ()))

    def set_count(self, app_id: str, channel_id: str, count: int) -> None:
        """A channel reports its member count."""
        key = (app_id, channel_id)
        self._counts[key] = count
        self._mark_empty(key, empty=count == 0)

    def _mark_empty(self, key: ChannelKey, *, empty: bool) -> None:
        app_id = key[0]
        if empty:
            self._empty.setdefault(app_id, set()).add(key)
            return
        empties = self._empty.get(app_id)
        if empties is not None:
            empties.discard(key)
            if not empties:
                del self._empty[app_id]

    def count(self, app_id: str, channel_id: str) -> int:
        """Members of a channel (0 if it is not live)."""
        return self._counts.get((app_id, channel_id), 0)

    def counts(self, app_id: str, channel_ids: list[str]) -> dict[str, int]:
        """Members of each channel, on every node of the cluster."""
        if self._cluster is not None:
            return self._cluster.counts(app_id, channel_ids)
        return {c: self._counts.get((app_id, c), 0) for c in channel_ids}

    def actors(self) -> list[pykka.ActorRef[ChannelActor]]:
        """Every live channel actor (a snapshot)."""
        return list(self._actors.values())

    def members(self) -> int:
        """Members of every live channel, added up."""
        return sum(self._counts.values())

    def forget(self, app_id: str, channel_id: str, ref: pykka.ActorRef[ChannelActor]) -> None:
        """A channel actor stopped: drop it (unless a newer one took its place)."""
        key = (app_id, channel_id)
        if self._actors.get(key) is ref:
            del self._actors[key]
            self._counts.pop(key, None)
            self._mark_empty(key, empty=False)
            if self._cluster is not None:
                self._cluster.channel_closed(app_id, channel_id)

    def __len__(self) -> int:
        return len(self._actors)
