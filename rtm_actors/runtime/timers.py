"""Timers for actors: a message told to an actor after a delay, without a greenlet.

A loop timer's callback runs on the hub and only puts a message in the actor's inbox,
so a timer costs a few hundred bytes, not a greenlet.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import gevent


def call_later(delay: float, callback: Callable[..., Any], *args: Any) -> Any:
    """Run ``callback(*args)`` on the hub after ``delay`` seconds; ``.close()`` cancels."""
    timer = gevent.get_hub().loop.timer(max(0.0, delay))
    timer.start(callback, *args)
    return timer


def now() -> float:
    """The loop's monotonic clock (cheap: cached once per loop iteration)."""
    return float(gevent.get_hub().loop.now())


class NamedTimers:
    """An actor's timers by name: starting one that runs restarts it."""

    __slots__ = ("_ref", "_timers")

    def __init__(self, actor_ref: Any) -> None:
        self._ref = actor_ref
        self._timers: dict[Hashable, Any] = {}

    def start(self, name: Hashable, delay: float, message: object) -> None:
        """Tell ``message`` to the actor after ``delay`` seconds, replacing ``name``."""
        self.cancel(name)
        self._timers[name] = call_later(delay, self._fire, name, message)

    def cancel(self, name: Hashable) -> None:
        """Stop timer ``name`` if it runs."""
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.close()

    def cancel_all(self) -> None:
        """Stop every timer (on actor stop)."""
        for timer in self._timers.values():
            timer.close()
        self._timers.clear()

    def is_running(self, name: Hashable) -> bool:
        """Whether timer ``name`` is pending."""
        return name in self._timers

    def _fire(self, name: Hashable, message: object) -> None:
        self._timers.pop(name, None)
        if self._ref.is_alive():
            self._ref.tell(message)
