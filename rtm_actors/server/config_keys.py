"""The config file's keys: where each lives, what it takes, its default and meaning.

Everything here is derived, so nothing can drift: the keys and defaults from
``ServeSettings`` and ``ServerConfig``, their sections from ``config.SECTIONS``, their
meanings from the ``#:`` comments, and what values they take from their types
(``float``: seconds, ``int``: a count, ``tuple[int, float]``: a rate...).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from rtm_actors.log import LOG_LEVELS
from rtm_actors.server.config import SECTIONS, ServerConfig
from rtm_actors.server.field_docs import field_docs
from rtm_actors.server.settings import ServeSettings

#: ``RTM_ACTORS_<SECTION>_<KEY>`` (``RTM_ACTORS_<KEY>`` before the first section).
ENV_PREFIX = "RTM_ACTORS_"


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


# eq=False: keys are compared and hashed by identity (there is one of each, and some
# defaults, such as the certificates' dict, are not hashable).
@dataclass(frozen=True, slots=True, eq=False)
class Key:
    """One key of the config file."""

    section: str  #: "" for the keys before the first section
    name: str
    #: Where the value goes in ``ServeSettings``: ("config", "grace_period").
    path: tuple[str, ...]
    default: object
    doc: str
    parse: Parser
    #: What the key takes, for error messages and the docs.
    expected: str
    #: Element names of a pair, written as an inline table: ("count", "window").
    pair: tuple[str, str] | None = None
    #: Never echoed in an error message.
    secret: bool = False

    @property
    def dotted(self) -> str:
        """``section.name``, or ``name`` at the top."""
        return f"{self.section}.{self.name}" if self.section else self.name

    @property
    def env(self) -> str:
        """The environment variable that overrides this key."""
        return ENV_PREFIX + self.dotted.replace(".", "_").upper()


# -- what values keys take ------------------------------------------------------------


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


# -- the keys -------------------------------------------------------------------------

#: The kinds of the top-level keys (``ServeSettings``' fields but ``config``).
_TOP: dict[str, tuple[Parser, str]] = {
    "host": (text, "a host name or address"),
    "port": (port, "a port number from 0 to 65535"),
    "store": (text, 'a store URL ("memory", "sqlite:///path.db", "redis://host:port/db")'),
    "log_level": (log_level, "one of " + ", ".join(LOG_LEVELS)),
    "certfile": (optional_path, "a file path"),
    "keyfile": (optional_path, "a file path"),
    "admin_token": (secret, SECRET_SHAPE),
    "metrics": (flag, "true or false"),
    "app_certificates": (secrets_by_app, f"a table of app id = {SECRET_SHAPE}"),
}
_SECRETS = frozenset({"admin_token", "app_certificates"})

#: Counts for which 0 means something (here: "derive it", as the field's comment says).
_ZERO_ALLOWED = frozenset({"max_connections"})

#: What a pair's elements are called, by its type. A pair with a new meaning but the
#: same type would need its own entry here, keyed by field name.
_PAIRS: dict[object, tuple[tuple[str, str], Parser, Parser, str]] = {
    tuple[int, float]: (
        ("count", "window"),
        count(1),
        seconds,
        "{ count = <integer >= 1>, window = <seconds > 0> }",
    ),
    tuple[int, int]: (
        ("messages", "bytes"),
        count(1),
        count(1),
        "{ messages = <integer >= 1>, bytes = <integer >= 1> }",
    ),
}


def _kind(name: str, kind: object) -> tuple[Parser, str, tuple[str, str] | None]:
    """How a ``ServerConfig`` field of this type is parsed, by its type."""
    if kind is float:
        return seconds, "a number of seconds > 0", None
    if kind is bool:
        return flag, "true or false", None
    if kind is int:
        minimum = 0 if name in _ZERO_ALLOWED else 1
        return count(minimum), f"an integer >= {minimum}", None
    if kind in _PAIRS:
        names, first, second, expected = _PAIRS[kind]
        return pair(names, first, second, expected), expected, names
    msg = f"ServerConfig.{name}: no config-file kind for {kind}"
    raise TypeError(msg)


def _section_keys(section: str, owner: type, default: object, path: tuple[str, ...]) -> list[Key]:
    """The keys of ``default``'s fields listed in ``section``; a dataclass field's
    own fields become keys of the section."""
    hints = typing.get_type_hints(owner)
    docs = field_docs(owner)
    names = (
        SECTIONS[section] if owner is ServerConfig else [f.name for f in dataclasses.fields(owner)]
    )
    keys: list[Key] = []
    for name in names:
        value = getattr(default, name)
        if dataclasses.is_dataclass(value):
            keys += _section_keys(section, type(value), value, (*path, name))
            continue
        parse, expected, names_of_pair = _kind(name, hints[name])
        keys.append(
            Key(
                section,
                name,
                (*path, name),
                value,
                docs.get(name, ""),
                parse,
                expected,
                names_of_pair,
            )
        )
    return keys


@cache
def all_keys() -> tuple[Key, ...]:
    """Every key, in the order the file lists them: top-level keys, then each section."""
    docs = field_docs(ServeSettings)
    defaults = ServeSettings()
    keys = [
        Key(
            "",
            name,
            (name,),
            getattr(defaults, name),
            docs.get(name, ""),
            parse,
            expected,
            secret=name in _SECRETS,
        )
        for name, (parse, expected) in _TOP.items()
    ]
    for section in SECTIONS:
        keys += _section_keys(section, ServerConfig, defaults.config, ("config",))
    return tuple(keys)


def keys_by_section() -> Mapping[str, Mapping[str, Key]]:
    """``{section: {name: key}}``, ``""`` being the top level."""
    grouped: dict[str, dict[str, Key]] = {"": {}}
    for key in all_keys():
        grouped.setdefault(key.section, {})[key.name] = key
    return grouped
