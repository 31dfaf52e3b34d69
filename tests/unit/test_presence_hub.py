"""The node's presence index tells exactly the watchers of a user, found by target."""

from __future__ import annotations

from rtm_actors.protocol.codes import PeerOnlineState as S
from rtm_actors.server.messages import PresenceUpdate
from rtm_actors.server.presence import PresenceHub


class FakeRef:
    def __init__(self) -> None:
        self.told: list[object] = []

    def tell(self, message: object) -> None:
        self.told.append(message)


def test_a_change_reaches_only_the_watchers_of_that_user_in_that_app():
    """Watchers of bob in app a hear of bob; watchers of others, or of bob in app b, do not."""
    hub = PresenceHub()
    bob_watcher, carol_watcher, other_app = FakeRef(), FakeRef(), FakeRef()
    assert hub.watch(bob_watcher, "a", ["bob"]) == {"bob": S.OFFLINE}
    hub.watch(carol_watcher, "a", ["carol"])
    hub.watch(other_app, "b", ["bob"])
    hub.set_state(("a", "bob"), S.ONLINE)
    hub.set_state(("a", "bob"), S.ONLINE)  # no change: no news
    hub.set_state(("a", "bob"), S.UNREACHABLE)
    hub.set_state(("a", "bob"), S.OFFLINE)
    assert bob_watcher.told == [
        PresenceUpdate("bob", S.ONLINE),
        PresenceUpdate("bob", S.UNREACHABLE),
        PresenceUpdate("bob", S.OFFLINE),
    ]
    assert carol_watcher.told == []
    assert other_app.told == []
    assert hub.state(("a", "bob")) is S.OFFLINE


def test_unwatch_stops_notifications_and_frees_the_index():
    """After unwatch the watcher hears nothing and the index holds no empty entries."""
    hub = PresenceHub()
    watcher = FakeRef()
    hub.watch(watcher, "a", ["bob", "carol"])
    assert hub.watcher_count() == 2
    hub.unwatch(watcher, "a", {"bob", "carol"})
    assert hub.watcher_count() == 0
    hub.set_state(("a", "bob"), S.ONLINE)
    assert watcher.told == []
