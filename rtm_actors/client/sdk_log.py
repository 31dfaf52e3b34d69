"""One ``RtmService``'s log: Agora's ``setLogFile`` / ``setLogFilter`` / ``setLogFileSize``.

Each service has its own ``SdkLog``. Until a file is set, its lines go to the
process's structlog set-up (whatever the host application configured) under the
``rtm_actors.client`` logger name. Once a file is set, they go to that file only, as
JSON lines, through a logger made with ``structlog.wrap_logger`` and its own
processors: neither the global structlog configuration nor the stdlib ``logging``
tree is touched. The filter applies in both cases.

Actors get an ``SdkLogger`` (``bind`` like a structlog logger). It looks the
settings up at each call, so a file or filter set after ``initialize`` applies to
actors that bound their logger long before.
"""

from __future__ import annotations

import logging
import os
from enum import IntEnum
from typing import Any

import structlog

from rtm_actors.client.log_file import RotatingLineFile
from rtm_actors.protocol.codes import LogFilter

#: Agora 1.4: the size of each of the two files, in KB; range [512 KB, 1 GB].
DEFAULT_LOG_FILE_SIZE_KB = 10 * 1024
MIN_LOG_FILE_SIZE_KB = 512
MAX_LOG_FILE_SIZE_KB = 1024 * 1024
#: The largest filter value taken: Agora's masks are 16 bits (its tutorial sets 65535).
MAX_LOG_FILTER = 0xFFFF

#: Which bit of an Agora filter lets a level through (filters are cumulative masks:
#: INFO 0x0f lets info, warning, error and critical through; 0x080f adds debug).
LEVEL_BITS = {
    "debug": 0x0800,
    "info": 0x0001,
    "warning": 0x0002,
    "error": 0x0004,
    "critical": 0x0008,
}


class ParameterErr(IntEnum):
    """What ``set_log_*`` and ``set_parameters`` return (Agora: 0 or a negative code)."""

    OK = 0
    #: The setting was valid but could not be applied (e.g. the file cannot be opened).
    FAILED = -1
    #: A bad value: wrong type, out of range, invalid JSON, missing directory.
    INVALID_ARGUMENT = -2
    #: ``set_parameters`` named a key this SDK does not know.
    NOT_SUPPORTED = -4


class SdkLog:
    """An ``RtmService``'s log settings and where its lines go."""

    def __init__(self) -> None:
        self.filter = int(LogFilter.INFO)
        self.size_kb = DEFAULT_LOG_FILE_SIZE_KB
        self._file: RotatingLineFile | None = None
        self._file_logger: Any = None
        self._default: Any = structlog.get_logger("rtm_actors.client")
        #: Added to every line once known (the service sets them).
        self.context: dict[str, Any] = {}

    @property
    def path(self) -> str | None:
        """The log file, if one is set."""
        return self._file.path if self._file is not None else None

    # -- Agora's three settings --------------------------------------------------

    def check_file(self, path: object) -> ParameterErr:
        """Whether ``set_file(path)`` would be accepted (the directory must exist)."""
        if not isinstance(path, str) or not path or "\x00" in path:
            return ParameterErr.INVALID_ARGUMENT
        full = os.path.abspath(path)
        if os.path.isdir(full) or not os.path.isdir(os.path.dirname(full)):
            return ParameterErr.INVALID_ARGUMENT
        return ParameterErr.OK

    def set_file(self, path: object) -> ParameterErr:
        """Log to ``path`` (created if missing, appended to if not) from now on."""
        code = self.check_file(path)
        if code is not ParameterErr.OK:
            return code
        assert isinstance(path, str)
        full = os.path.abspath(path)
        try:
            with open(full, "ab"):  # created now, as Agora does
                pass
        except OSError:
            return ParameterErr.FAILED
        self._file = RotatingLineFile(full, self.size_kb * 1024)
        self._file_logger = structlog.wrap_logger(
            self._file,
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
            context_class=dict,
            cache_logger_on_first_use=False,
        )
        return ParameterErr.OK

    def check_filter(self, value: object) -> ParameterErr:
        """Whether ``value`` is a filter: a ``LogFilter`` or any 16-bit mask."""
        if isinstance(value, bool) or not isinstance(value, int):
            return ParameterErr.INVALID_ARGUMENT
        if not 0 <= value <= MAX_LOG_FILTER:
            return ParameterErr.INVALID_ARGUMENT
        return ParameterErr.OK

    def set_filter(self, value: object) -> ParameterErr:
        """Write only the levels ``value`` lets through (``LogFilter.OFF``: nothing)."""
        code = self.check_filter(value)
        if code is ParameterErr.OK:
            assert isinstance(value, int)
            self.filter = int(value)
        return code

    def check_size(self, size_kb: object) -> ParameterErr:
        """Whether ``size_kb`` is in Agora's range, [512, 1048576] KB."""
        if isinstance(size_kb, bool) or not isinstance(size_kb, int):
            return ParameterErr.INVALID_ARGUMENT
        if not MIN_LOG_FILE_SIZE_KB <= size_kb <= MAX_LOG_FILE_SIZE_KB:
            return ParameterErr.INVALID_ARGUMENT
        return ParameterErr.OK

    def set_size(self, size_kb: object) -> ParameterErr:
        """Each of the two files grows to ``size_kb`` KB before it rotates."""
        code = self.check_size(size_kb)
        if code is ParameterErr.OK:
            assert isinstance(size_kb, int)
            self.size_kb = size_kb
            if self._file is not None:
                self._file.max_bytes = size_kb * 1024
        return code

    # -- lines ---------------------------------------------------------------------

    def logger(self, **context: Any) -> SdkLogger:
        """A logger for this service's actors, with ``context`` on every line."""
        return SdkLogger(self, context)

    def enabled(self, level: str) -> bool:
        """Whether the filter lets ``level`` through."""
        return bool(self.filter & LEVEL_BITS[level])

    def emit(self, level: str, event: str, fields: dict[str, Any]) -> None:
        """Write one line, if the filter lets its level through."""
        if not self.filter & LEVEL_BITS[level]:
            return
        target = self._file_logger if self._file_logger is not None else self._default
        getattr(target, level)(event, **{**self.context, **fields})


class SdkLogger:
    """A structlog-like bound logger whose output follows its ``SdkLog``'s settings."""

    __slots__ = ("_context", "_sink")

    def __init__(self, sink: SdkLog, context: dict[str, Any]) -> None:
        self._sink = sink
        self._context = context

    def bind(self, **fields: Any) -> SdkLogger:
        """A logger with more fields on every line."""
        return SdkLogger(self._sink, {**self._context, **fields})

    def enabled(self, level: str) -> bool:
        """Whether a line at ``level`` would be written now (skip costly fields if not)."""
        return bool(self._sink.filter & LEVEL_BITS[level])

    def debug(self, event: str, **fields: Any) -> None:
        """Log at debug level (written only with the 0x0800 bit, e.g. 0x080f)."""
        self._log("debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log at info level."""
        self._log("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log at warning level."""
        self._log("warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Log at error level."""
        self._log("error", event, fields)

    def critical(self, event: str, **fields: Any) -> None:
        """Log at critical level."""
        self._log("critical", event, fields)

    def _log(self, level: str, event: str, fields: dict[str, Any]) -> None:
        sink = self._sink
        if sink.filter & LEVEL_BITS[level]:
            sink.emit(level, event, {**self._context, **fields} if self._context else fields)


def default_logger() -> SdkLogger:
    """The logger of actors started without a service (tests): the process's set-up."""
    return SdkLog().logger()
