"""Hostile input at a live server: random and mutated frames from many connections.

Afterwards the server must still answer, well-behaved users on it must have lost
nothing, and memory must not have grown without bound.
"""

from __future__ import annotations

import gc
import random

import gevent
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import rtm_actors as ra
from rtm_actors.client.link import ClientLink, LinkOpenError
from rtm_actors.protocol import codec, frames as f
from rtm_actors.runtime import registry
from rtm_actors.testing import running_server, settle, wait_until

pytestmark = pytest.mark.integration

CLIENT_FRAMES = [
    cls
    for cls in vars(f).values()
    if isinstance(cls, type) and issubclass(cls, f.ClientFrame) and cls is not f.ClientFrame
]
texts = st.text(max_size=80)
ids = st.one_of(st.sampled_from(["alice", "bob", "room", "x"]), st.text(max_size=70))
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def frame_strategy() -> st.SearchStrategy[f.ClientFrame]:
    """Any client frame with arbitrary field values (of the right types)."""
    wire = st.builds(
        f.WireMessage,
        id=ints,
        kind=st.integers(-5, 10),
        text=texts,
        raw=st.one_of(st.none(), st.binary(max_size=64)),
    )
    overrides = {
        "message": wire,
        "peer_ids": st.lists(ids, max_size=5),
        "channel_ids": st.lists(ids, max_size=5),
        "keys": st.one_of(st.none(), st.lists(ids, max_size=4)),
        "attributes": st.dictionaries(ids, texts, max_size=4),
    }
    options = []
    for cls in CLIENT_FRAMES:
        fields = {name: overrides.get(name, st.from_type(tp)) for name, tp in _fields(cls)}
        options.append(st.builds(cls, **fields))
    return st.one_of(options)


def _fields(cls: type) -> list[tuple[str, object]]:
    info = msgspec.inspect.type_info(cls)
    out = []
    for field in info.fields:  # type: ignore[attr-defined]
        tp = {
            msgspec.inspect.IntType: int,
            msgspec.inspect.StrType: str,
            msgspec.inspect.BoolType: bool,
            msgspec.inspect.FloatType: float,
        }.get(type(field.type), str)
        out.append((field.name, tp))
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Flip, drop or duplicate a few bytes of a valid frame."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buf:
            break
        i = rng.randrange(len(buf))
        action = rng.randrange(3)
        if action == 0:
            buf[i] = rng.randrange(256)
        elif action == 1:
            del buf[i]
        else:
            buf.insert(i, buf[i])
    return bytes(buf)


@pytest.mark.timeout(240)
def test_hostile_connections_do_not_hurt_the_server_or_its_good_users(make_client):
    """Hundreds of hostile frames from many connections; good users lose nothing."""
    with running_server(
        grace_period=0.5, login_timeout=1.0, empty_channel_ttl=0.5, channel_tick=0.1
    ) as srv:
        alice, _ = make_client(srv.url)
        bob, bob_rec = make_client(srv.url)
        alice.login(None, "good_alice").get(timeout=5)
        bob.login(None, "good_bob").get(timeout=5)
        sent: list[str] = []

        def well_behaved() -> None:
            for i in range(200):
                text = f"m{i}"
                code = alice.send_message_to_peer("good_bob", alice.create_message(text)).get(10)
                assert code is ra.PeerMessageErrCode.OK
                sent.append(text)
                gevent.sleep(0.01)  # (real time: the good traffic spans the attack)

        good = gevent.spawn(well_behaved)
        gc.collect()
        baseline_actors = len(registry)

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            batches=st.lists(
                st.tuples(
                    st.booleans(),  # log in first?
                    st.lists(st.one_of(frame_strategy(), st.binary(max_size=200)), max_size=12),
                ),
                min_size=1,
                max_size=4,
            ),
            seed=st.integers(0, 2**32 - 1),
        )
        def attack(batches, seed):
            rng = random.Random(seed)
            links = []
            for log_in, items in batches:
                try:
                    link = ClientLink.open(srv.url, timeout=5)
                except LinkOpenError:
                    continue
                link.start(on_frame=lambda _l, _f: None, on_closed=lambda _l: None)
                links.append(link)
                if log_in:
                    link.send(codec.encode(f.Login(0, "testapp", f"evil{rng.randrange(5)}")))
                for item in items:
                    data = item if isinstance(item, bytes) else codec.encode(item)
                    if isinstance(item, f.ClientFrame) and rng.random() < 0.3:
                        data = mutate(data, rng)
                    # Raw bytes on purpose: past the SDK's own encoder.
                    link.send_frame(data)
            settle()  # (the server has read what was sent before the links close)
            for link in links:
                link.close()

        attack()
        good.join(timeout=60)
        assert good.successful(), good.exception
        # Nothing the server accepted for the good users was lost, nor duplicated.
        bob_rec.wait_for("on_message_received_from_peer", count=200, timeout=30)
        got = [m.text for _, m in bob_rec.calls("on_message_received_from_peer")]
        assert got == sent
        # The server still answers a fresh user.
        carol, _ = make_client(srv.url)
        carol.login(None, "carol").get(timeout=5)
        code = alice.send_message_to_peer("carol", alice.create_message("hi")).get(5)
        assert code is ra.PeerMessageErrCode.OK
        # Sessions of the attackers end (grace period) and their actors go: no growth.
        wait_until(lambda: len(srv.context.directory) <= 3, timeout=15)
        wait_until(lambda: len(registry) <= baseline_actors + 10, timeout=15)
        ctx = srv.context
        wait_until(lambda: len(ctx.channels) == 0 and not ctx.invitations, timeout=15)
        assert ctx.presence.watcher_count() == 0
        assert srv.context.stats.protocol_errors > 0
