"""What a node's parts are given: routes, token checks, and bundles that share one set
of services (no part builds its own copy of the node's state)."""

from __future__ import annotations

from rtm_actors.protocol.codes import LoginErrCode
from rtm_actors.server.context import ServerContext
from rtm_actors.server.directory import Directory, Routes
from rtm_actors.server.services import Tokens
from rtm_actors.store.memory import MemoryOfflineStore
from rtm_actors.testing import fast_server_config


class Stand:
    """Stands in for a session (here, or on another node)."""

    def tell(self, message: object) -> None:
        raise AssertionError("routing never tells")


def test_routes_answer_the_session_here_first_then_another_nodes_then_none():
    """A user logged in here routes to its session without asking the other nodes;
    one logged in elsewhere to the cluster's stand-in; anyone else to None."""
    directory = Directory()
    here, elsewhere = Stand(), Stand()
    asked: list[tuple[str, str]] = []

    def remote(key):
        asked.append(key)
        return elsewhere if key == ("app", "bob") else None

    directory.register(("app", "alice"), here, "sk")
    routes = Routes(directory, remote)
    assert routes.route(("app", "alice")) is here
    assert asked == []
    assert routes.route(("app", "bob")) is elsewhere
    assert routes.route(("app", "carol")) is None
    assert asked == [("app", "bob"), ("app", "carol")]


def test_routes_of_a_single_node_know_only_its_directory():
    """With no other nodes, a user not logged in here is nowhere."""
    directory = Directory()
    routes = Routes(directory)
    assert routes.route(("app", "bob")) is None
    directory.register(("app", "bob"), Stand(), "sk")
    assert routes.route(("app", "bob")) is not None


def test_tokens_accept_anything_in_testing_mode_and_refuse_an_unknown_app():
    """No certificate at all: any token; with certificates, an app without one is refused."""
    assert Tokens({}).check("any", "u", "whatever").code is LoginErrCode.OK
    refused = Tokens({"app": "0" * 32}).check("other", "u", "whatever")
    assert refused.code is LoginErrCode.INVALID_APP_ID


def test_every_bundle_hands_out_the_nodes_own_services():
    """The sessions' and the gateway's bundles hold the very objects the node keeps, so
    a login registered by the gateway is the one a session routes to and unregisters."""
    ctx = ServerContext(config=fast_server_config(), store=MemoryOfflineStore())
    sessions, gateway = ctx.sessions, ctx.gateway_services()
    assert gateway.sessions is sessions
    assert gateway.directory is sessions.directory is ctx.directory
    assert gateway.rates is sessions.rates is ctx.rates
    assert gateway.bans is ctx.bans
    assert sessions.channels is ctx.channels
    assert sessions.presence is ctx.presence
    assert sessions.offline.store is ctx.store
    assert sessions.offline.quota is ctx.offline_quota
    assert sessions.invitations.invitation_desk is ctx.invitation_desk
    assert gateway.claim is None  # a single node claims users from nobody
    user = Stand()
    ctx.directory.register(("app", "alice"), user, "sk")
    assert sessions.routes.route(("app", "alice")) is user
