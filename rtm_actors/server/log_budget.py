"""Log lines an unauthenticated flood must not multiply.

Whatever a client can cause before it has logged in (a bad upgrade, a refused login,
a broken frame, a garbled HTTP request, an eviction) is logged through a ``LogBudget``:
at most ``lines`` lines per ``every`` seconds for that event, the rest counted. Each
line carries ``count``, the events since the previous line including this one, so
nothing is hidden: a line with ``count=5000`` says a flood went by. Without a budget a
client opening a thousand bad connections a second writes a thousand lines a second:
gigabytes a day of disk, and the logging CPU, paid by everyone else.
"""

from __future__ import annotations

import time
from typing import Any


class LogBudget:
    """At most ``lines`` log lines per ``every`` seconds for ``event``; the rest counted."""

    __slots__ = (
        "_event",
        "_fixed",
        "_level",
        "_log",
        "_since",
        "_used",
        "_window_start",
        "every",
        "lines",
        "total",
    )

    def __init__(
        self,
        logger: Any,
        event: str,
        *,
        lines: int = 1,
        every: float = 10.0,
        level: str = "info",
        **fixed: Any,
    ) -> None:
        self._log = logger
        #: Fields every line carries (``why``, say).
        self._fixed = fixed
        self._event = event
        self._level = level
        self.lines = lines
        self.every = every
        #: Events since the last line, and lines written in the current window.
        self._since = 0
        self._used = 0
        self._window_start = float("-inf")
        #: Every event noted, logged or not.
        self.total = 0

    def note(self, **context: Any) -> None:
        """Count one event; log it, with ``count``, if the budget has a line left."""
        self.total += 1
        self._since += 1
        clock = time.monotonic()
        if clock - self._window_start >= self.every:
            self._window_start = clock
            self._used = 0
        if self._used >= self.lines:
            return
        self._used += 1
        getattr(self._log, self._level)(self._event, count=self._since, **self._fixed, **context)
        self._since = 0


#: The budget for each kind of pre-login line: enough to see who, never a flood.
PRE_LOGIN_LINES = 20
