"""``EventRecorder``: an event handler that records every callback and lets you wait for one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

from rtm_actors.client.handlers import RtmServiceEventHandler
from rtm_actors.protocol.errors import RtmTimeoutError


class EventRecorder(RtmServiceEventHandler):
    """Records ``(callback name, args)`` for every ``on_*`` callback, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = gevent.event.Event()

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):

            def record(*args: Any) -> None:
                self.events.append((name, args))
                self._changed.set()

            return record
        return super().__getattribute__(name)

    def calls(self, name: str) -> list[tuple[Any, ...]]:
        """The argument tuples of every call of callback ``name``."""
        return [args for event, args in self.events if event == name]

    def wait_for(
        self,
        name: str,
        predicate: Callable[..., bool] | None = None,
        timeout: float = 5.0,
        count: int = 1,
    ) -> list[tuple[Any, ...]]:
        """Wait until ``name`` was called ``count`` times (with args matching ``predicate``)."""

        def matching() -> list[tuple[Any, ...]]:
            return [a for a in self.calls(name) if predicate is None or predicate(*a)]

        wait_until(
            lambda: len(matching()) >= count,
            timeout,
            f"{count} x {name}",
            self._changed,
        )
        return matching()


def wait_until(
    condition: Callable[[], bool],
    timeout: float = 5.0,
    what: str = "condition",
    event: gevent.event.Event | None = None,
) -> None:
    """Yield until ``condition()`` holds; raise ``RtmTimeoutError`` after ``timeout`` s."""
    deadline = gevent.get_hub().loop.now() + timeout
    while not condition():
        left = deadline - gevent.get_hub().loop.now()
        if left <= 0:
            msg = f"timed out after {timeout} s waiting for {what}"
            raise RtmTimeoutError(msg)
        if event is not None:
            event.clear()
            event.wait(min(left, 0.05))
        else:
            gevent.sleep(min(left, 0.01))
