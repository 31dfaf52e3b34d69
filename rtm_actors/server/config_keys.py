"""The config file's keys: where each lives, what it takes, its default and meaning.

Everything here is derived, so nothing can drift: the keys and defaults from
``ServeSettings`` and ``ServerConfig``, their sections from ``config.SECTIONS``, their
meanings from the ``#:`` comments, and what values they take from their types
(``float``: seconds, ``int``: a count, ``tuple[int, float]``: a rate...).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from rtm_actors.server.config import SECTIONS, ServerConfig
from rtm_actors.server.config_values import (
    Parser,
    count,
    flag,
    log_level,
    optional_path,
    pair,
    port,
    seconds,
    secret,
    secrets_by_app,
    text,
)
from rtm_actors.server.field_docs import field_docs
from rtm_actors.server.settings import ServeSettings

#: ``RTM_ACTORS_<SECTION>_<KEY>`` (``RTM_ACTORS_<KEY>`` before the first section).
ENV_PREFIX = "RTM_ACTORS_"


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


# -- the keys -------------------------------------------------------------------------

#: How the top-level keys (``ServeSettings``' fields but ``config``) are parsed.
_TOP: dict[str, Parser] = {
    "host": text,
    "port": port,
    "store": text,
    "log_level": log_level,
    "certfile": optional_path,
    "keyfile": optional_path,
    "admin_token": secret,
    "metrics": flag,
    "app_certificates": secrets_by_app,
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


def _kind(name: str, kind: object) -> tuple[Parser, tuple[str, str] | None]:
    """How a ``ServerConfig`` field of this type is parsed (and a pair's names)."""
    if kind is float:
        return seconds, None
    if kind is bool:
        return flag, None
    if kind is int:
        return count(0 if name in _ZERO_ALLOWED else 1), None
    if kind in _PAIRS:
        names, first, second, expected = _PAIRS[kind]
        return pair(names, first, second, expected), names
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
        parse, pair_names = _kind(name, hints[name])
        keys.append(Key(section, name, (*path, name), value, docs.get(name, ""), parse, pair_names))
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
            secret=name in _SECRETS,
        )
        for name, parse in _TOP.items()
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
