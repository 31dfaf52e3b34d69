"""Shared fixtures: quiet logs, a real server on loopback, clients that clean up."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from hypothesis import settings

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.runtime import registry
from rtm_actors.testing import (
    EventRecorder,
    FakeClock,
    fast_client_config,
    running_server,
    settle,
)

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
    settle()  # (the released clients' closes reach the server before it stops)


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    """The runtime's clock, by hand, for the test (timers set before it keep real time)."""
    with FakeClock() as clock:
        yield clock


@pytest.fixture
def logged_in(server, make_client):
    """Log in a user on the ``server`` fixture: ``logged_in("alice") -> (rtm, recorder)``."""

    def login(user_id: str, **config: Any) -> tuple[ra.RtmService, EventRecorder]:
        rtm, rec = make_client(server.url, **config)
        rtm.login(None, user_id).get(timeout=5)
        return rtm, rec

    return login


@pytest.fixture
def own_redis_dir(tmp_path) -> Any:
    """A directory for a ``redis-server`` of the test's own (fault tests kill it).

    Skipped when redis-server is not installed, unless ``CI`` is set: there it must run.
    """
    import os
    import shutil

    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    return tmp_path


@pytest.fixture(scope="session")
def redis_db() -> Iterator[int]:
    """A Redis database of our own (1-15) for this test run, claimed with a lock key.

    Skipped when Redis is not reachable, unless ``CI`` is set: there it must run.
    """
    import os

    import redis

    admin = redis.Redis(host="127.0.0.1", port=6379, db=0, socket_connect_timeout=1)
    try:
        admin.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    token = f"{os.getpid()}"
    for db in range(1, 16):
        if admin.set(f"rtm-actors-test-lock:{db}", token, nx=True, ex=1800):
            break
    else:
        pytest.fail("no free Redis database: every lock key rtm-actors-test-lock:1..15 is taken")
    try:
        yield db
    finally:
        if admin.get(f"rtm-actors-test-lock:{db}") == token.encode():
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
            admin.delete(f"rtm-actors-test-lock:{db}")
        admin.close()


@pytest.fixture
def redis_url(redis_db: int) -> str:
    """The URL of this run's Redis database, flushed for the test."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=redis_db)
    client.flushdb()
    client.close()
    return f"redis://127.0.0.1:6379/{redis_db}"
