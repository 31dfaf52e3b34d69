"""``RtmFuture``: what every asynchronous SDK method returns."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Generic, TypeVar, cast

import gevent
import gevent.event

from rtm_actors.protocol.errors import RequestError, RtmError, RtmTimeoutError

T = TypeVar("T")


class RtmFuture(Generic[T]):
    """The result of an SDK call: ``get()`` it, or react in the matching callback.

    Attributes:
        request_id: Agora's request id for methods that have one, else ``None``.
    """

    __slots__ = ("_result", "request_id")

    def __init__(self, request_id: int | None = None) -> None:
        self.request_id = request_id
        self._result: gevent.event.AsyncResult[Any] = gevent.event.AsyncResult()

    def get(self, timeout: float | None = None) -> T:
        """Wait for the result (yielding to other greenlets).

        Raises:
            RtmError: the call failed; ``.code`` is the Agora error code.
            RtmTimeoutError: nothing came within ``timeout`` seconds.
        """
        try:
            value = cast(T, self._result.get(timeout=timeout))
        except gevent.Timeout:
            msg = f"no result within {timeout} s"
            raise RtmTimeoutError(msg) from None
        return value

    def done(self) -> bool:
        """Whether the result (or the failure) is in."""
        return bool(self._result.ready())

    def failed(self) -> bool:
        """Whether the call failed."""
        return bool(self._result.ready() and not self._result.successful())

    # -- for the SDK ---------------------------------------------------------------

    def resolve(self, value: T) -> None:
        """Succeed with ``value`` (ignored if already settled)."""
        if not self._result.ready():
            self._result.set(value)

    def fail(self, code: IntEnum, what: str = "") -> None:
        """Fail with Agora error ``code`` (ignored if already settled)."""
        if not self._result.ready():
            text = f"{what or 'request'} failed: {type(code).__name__}.{code.name} ({int(code)})"
            self._result.set_exception(RequestError(text, code))

    def fail_with(self, error: RtmError) -> None:
        """Fail with a given error (ignored if already settled)."""
        if not self._result.ready():
            self._result.set_exception(error)

    @classmethod
    def failed_with(
        cls, code: IntEnum, what: str = "", request_id: int | None = None
    ) -> RtmFuture[T]:
        """An already-failed future (a local check refused the call)."""
        future: RtmFuture[T] = cls(request_id)
        future.fail(code, what)
        return future
