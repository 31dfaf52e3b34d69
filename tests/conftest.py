"""Shared fixtures: quiet logs, a real server on loopback, clients that clean up."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
import structlog
from hypothesis import settings

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.runtime import registry
from rtm_actors.testing import EventRecorder, fast_client_config, running_server

settings.register_profile("gevent", deadline=None, max_examples=200)
settings.load_profile("gevent")

APP_ID = "testapp"


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    configure_logging("warning", json=False, force=True)
    logging.getLogger("pykka").setLevel(logging.CRITICAL)
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _stop_all_actors() -> Iterator[None]:
    """Every test ends with no live actor (pykka's _stop_all idea, on our registry)."""
    yield
    registry.shutdown(timeout=5.0)


@pytest.fixture
def server() -> Iterator[Any]:
    """A real RtmServer on 127.0.0.1, ephemeral port, memory store, short timings."""
    with running_server() as srv:
        yield srv


@pytest.fixture
def make_client() -> Iterator[Callable[..., tuple[ra.RtmService, EventRecorder]]]:
    """Make initialised clients against a URL; all are released after the test."""
    made: list[ra.RtmService] = []

    def make(url: str, app_id: str = APP_ID, **config: Any) -> tuple[ra.RtmService, EventRecorder]:
        rtm = ra.create_agora_service().create_rtm_service()
        recorder = EventRecorder()
        assert (
            rtm.initialize(app_id, recorder, server_url=url, config=fast_client_config(**config))
            == 0
        )
        made.append(rtm)
        return rtm, recorder

    yield make
    for rtm in made:
        rtm.release()
    gevent.sleep(0.05)


@pytest.fixture
def logged_in(server, make_client):
    """Log in a user on the ``server`` fixture: ``logged_in("alice") -> (rtm, recorder)``."""

    def login(user_id: str, **config: Any) -> tuple[ra.RtmService, EventRecorder]:
        rtm, rec = make_client(server.url, **config)
        rtm.login(None, user_id).get(timeout=5)
        return rtm, rec

    return login
