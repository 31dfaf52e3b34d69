"""Attribute writes and their limits (spec 3.2), pure: user and channel attributes alike.

A write is judged on the state it would produce ("would exceed"): the count of keys
and the total size of keys and values after the write must stay within the limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from rtm_actors.protocol.codes import AttributeOperationErr

MAX_KEY_BYTES: Final = 32
MAX_VALUE_BYTES: Final = 8 * 1024
MAX_KEYS: Final = 32


@dataclass(frozen=True, slots=True)
class AttributeLimits:
    """Bounds of one attribute set (user: 16 KB in all; channel: 32 KB)."""

    max_total_bytes: int
    max_keys: int = MAX_KEYS
    max_key_bytes: int = MAX_KEY_BYTES
    max_value_bytes: int = MAX_VALUE_BYTES


USER_LIMITS: Final = AttributeLimits(max_total_bytes=16 * 1024)
CHANNEL_LIMITS: Final = AttributeLimits(max_total_bytes=32 * 1024)


class AttributeOp(Enum):
    """The four writes Agora has, for user and for channel attributes."""

    SET = "set"
    ADD_OR_UPDATE = "add_or_update"
    DELETE = "delete"
    CLEAR = "clear"


def is_valid_key(key: object, limits: AttributeLimits = USER_LIMITS) -> bool:
    """A key is 1-32 bytes of visible ASCII (no spaces or control characters)."""
    return (
        isinstance(key, str)
        and 0 < len(key.encode("utf-8")) <= limits.max_key_bytes
        and key.isascii()
        and key.isprintable()
        and " " not in key
    )


def total_size(attributes: Mapping[str, str]) -> int:
    """Bytes of every key and value together, in UTF-8."""
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in attributes.items())


def apply_write(
    current: Mapping[str, str],
    op: AttributeOp,
    attributes: Mapping[str, str] | None = None,
    keys: Sequence[str] | None = None,
    limits: AttributeLimits = USER_LIMITS,
) -> tuple[AttributeOperationErr, dict[str, str]]:
    """Apply a write; answer the code and the state after it (unchanged on error)."""
    attributes = attributes or {}
    keys = keys or []
    if op in (AttributeOp.SET, AttributeOp.ADD_OR_UPDATE):
        for key, value in attributes.items():
            if not is_valid_key(key, limits) or not isinstance(value, str) or not value:
                return AttributeOperationErr.INVALID_ARGUMENT, dict(current)
            if len(value.encode("utf-8")) > limits.max_value_bytes:
                return AttributeOperationErr.SIZE_OVERFLOW, dict(current)
    if op is AttributeOp.DELETE and not all(is_valid_key(k, limits) for k in keys):
        return AttributeOperationErr.INVALID_ARGUMENT, dict(current)
    if op is AttributeOp.SET:
        after = dict(attributes)
    elif op is AttributeOp.ADD_OR_UPDATE:
        after = {**current, **attributes}
    elif op is AttributeOp.DELETE:
        gone = set(keys)
        after = {k: v for k, v in current.items() if k not in gone}
    else:
        after = {}
    if len(after) > limits.max_keys or total_size(after) > limits.max_total_bytes:
        return AttributeOperationErr.SIZE_OVERFLOW, dict(current)
    return AttributeOperationErr.OK, after


def select(attributes: Mapping[str, str], keys: Sequence[str] | None) -> dict[str, str]:
    """The attributes named by ``keys`` (all of them when ``keys`` is None)."""
    if keys is None:
        return dict(attributes)
    return {k: attributes[k] for k in keys if k in attributes}
