"""A log file that rotates at a size and keeps two files, as Agora's SDK does.

The structlog "logger" behind an ``RtmService``'s own log: it receives rendered JSON
lines and appends them to ``path``; when the next line would take the file past
``max_bytes`` the file becomes ``path.1`` (replacing the older one) and a new file
starts. The file is opened for each line, so nothing stays open between lines: a
released service leaks no handle, and an operator may delete or move the file at
any time. Client log lines are few (per connection event, not per message), so the
open costs nothing that matters.
"""

from __future__ import annotations

import os
from typing import Any


class RotatingLineFile:
    """Appends lines to ``path``; at most two files of ``max_bytes`` each."""

    __slots__ = ("max_bytes", "path")

    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes

    @property
    def backup_path(self) -> str:
        """The older of the two files."""
        return self.path + ".1"

    def msg(self, line: str, *_args: Any, **_kw: Any) -> None:
        """Write one line (structlog calls this with the rendered event)."""
        data = line.encode("utf-8", "replace") + b"\n"
        try:
            with open(self.path, "ab") as f:
                size = f.tell()
                if size and size + len(data) > self.max_bytes:
                    f.close()
                    os.replace(self.path, self.backup_path)
                    with open(self.path, "ab") as fresh:
                        fresh.write(data)
                    return
                f.write(data)
        except OSError:
            # A log line must never break the SDK (disk full, directory removed).
            return

    # structlog calls the method named after the level.
    debug = info = warning = warn = error = critical = exception = fatal = msg
