"""Run blocking calls (sqlite) on a real OS thread so the hub keeps running.

Only the calling greenlet waits; every other greenlet goes on. One thread by
default, so calls into a non-thread-safe resource are serialised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from gevent.threadpool import ThreadPool

T = TypeVar("T")


class Offloader:
    """A small pool of OS threads for blocking work."""

    def __init__(self, threads: int = 1) -> None:
        self._pool = ThreadPool(threads)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` on a pool thread; the calling greenlet yields until done."""
        result: T = self._pool.apply(fn, args)
        return result

    def close(self) -> None:
        """Stop the pool's threads (after the work in flight)."""
        self._pool.join()
        self._pool.kill()
