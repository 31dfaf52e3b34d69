"""What the config file's keys take: each parser checks a TOML value and converts it.

A parser raises ``InvalidValueError`` whose message says what was expected; the loader
(``config_file``) adds the file, the key and what was given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rtm_actors.log import LOG_LEVELS


class InvalidValueError(ValueError):
    """A value a key does not take; the message says what the key expects."""


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A secret as the file gives it: itself, a file holding it, or an environment variable."""

    value: str | None = None
    file: str | None = None
    env: str | None = None


#: Turns a TOML value into the setting's value, or raises ``InvalidValueError``.
Parser = Callable[[object], object]


def seconds(value: object) -> float:
    """A duration: a finite number of seconds above 0."""
    # bool is an int in Python, never a number in TOML.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValueError("a number of seconds > 0")
    if not 0 < value < math.inf:
        raise InvalidValueError("a number of seconds > 0")
    return float(value)


def count(minimum: int) -> Parser:
    """An integer of at least ``minimum``."""

    def parse(value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise InvalidValueError(f"an integer >= {minimum}")
        return value

    return parse


def flag(value: object) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise InvalidValueError("true or false")
    return value


def text(value: object) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise InvalidValueError("a non-empty string")
    return value


def port(value: object) -> int:
    """A TCP port, 0 for any free one."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise InvalidValueError("a port number from 0 to 65535")
    return value


def log_level(value: object) -> str:
    """One of ``LOG_LEVELS``."""
    if not isinstance(value, str) or value not in LOG_LEVELS:
        raise InvalidValueError("one of " + ", ".join(f'"{level}"' for level in LOG_LEVELS))
    return value


def pair(names: tuple[str, str], first: Parser, second: Parser, expected: str) -> Parser:
    """An inline table of two named elements, as a tuple: ``{ count = 5, window = 1.0 }``."""

    def parse(value: object) -> tuple[object, object]:
        if not isinstance(value, dict) or set(value) != set(names):
            raise InvalidValueError(expected)
        try:
            return first(value[names[0]]), second(value[names[1]])
        except InvalidValueError:
            raise InvalidValueError(expected) from None

    return parse


SECRET_SHAPE = 'a string, { file = "path" } or { env = "VARIABLE" }'


def secret(value: object) -> SecretRef:
    """A secret, or where to read it: a file (its text, stripped) or an environment variable."""
    if isinstance(value, str) and value:
        return SecretRef(value=value)
    if isinstance(value, dict) and len(value) == 1:
        ((where, name),) = value.items()
        if where in ("file", "env") and isinstance(name, str) and name:
            return SecretRef(**{where: name})
    raise InvalidValueError(SECRET_SHAPE)


def secrets_by_app(value: object) -> dict[str, SecretRef]:
    """``{ "app id" = <secret>, ... }``."""
    if not isinstance(value, dict):
        raise InvalidValueError(f"a table of app id = {SECRET_SHAPE}")
    refs: dict[str, SecretRef] = {}
    for app_id, each in value.items():
        try:
            refs[app_id] = secret(each)
        except InvalidValueError:
            raise InvalidValueError(f"{app_id} = {SECRET_SHAPE}") from None
    return refs


def optional_path(value: object) -> str:
    """A file path (relative ones from the working directory)."""
    if not isinstance(value, str) or not value:
        raise InvalidValueError("a file path")
    return value
