"""``ServeSettings`` from a TOML file, command-line flags and the environment, checked.

Each layer overrides the one before: defaults < file < flags < ``RTM_ACTORS_*``
environment variables. Every value is checked where it came from, and every problem
is collected, so one run names them all (``ConfigError``; the CLI exits with 2).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Mapping
from typing import Any

from rtm_actors.server.config_keys import ENV_PREFIX, Key, all_keys, keys_by_section
from rtm_actors.server.config_values import InvalidValueError, SecretRef
from rtm_actors.server.settings import ServeSettings


class ConfigError(ValueError):
    """The settings were refused: ``problems`` has one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


#: A value as given, and where: a file's path, ``--flag`` or an environment variable.
Given = dict[Key, tuple[object, str]]


def load_settings(
    path: str | None = None,
    flags: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServeSettings:
    """The settings from a config file, then ``flags`` (``{dotted key: value}``), then
    the environment (``os.environ`` by default).

    Raises:
        ConfigError: naming every bad key, where it came from and what it expects.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    given: Given = {}
    if path is not None:
        given |= read_file(path, problems)
    known = {key.dotted: key for key in all_keys()}
    for dotted, value in (flags or {}).items():
        key = known[dotted]
        given[key] = (value, "--" + key.name.replace("_", "-"))
    given |= read_environment(environ, problems)
    values = _parse(given, environ, problems)
    _check_together(values, given, problems)
    if problems:
        raise ConfigError(problems)
    settings: ServeSettings = _assemble(
        ServeSettings(), {key.path: value for key, value in values.items()}
    )
    return settings


def read_file(path: str, problems: list[str]) -> Given:
    """The keys a TOML file sets; unknown ones (with the closest known name) and bad
    TOML are added to ``problems``."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        problems.append(f"{path}: cannot read it: {exc.strerror}")
        return {}
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
        return {}
    sections = keys_by_section()
    top = sections[""]
    given: Given = {}
    for name, value in document.items():
        if name in top:
            given[top[name]] = (value, path)
        elif name in sections:
            if not isinstance(value, dict):
                problems.append(f"{path}: {name}: expected a section [{name}], got {_show(value)}")
                continue
            for inner, inner_value in value.items():
                if inner in sections[name]:
                    given[sections[name][inner]] = (inner_value, path)
                else:
                    problems.append(f"{path}: {name}.{inner}: {_unknown(inner, name)}")
        elif isinstance(value, dict):
            tables = [s for s in sections if s] + [k for k in top if top[k].default == {}]
            close = difflib.get_close_matches(name, tables, n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            problems.append(f"{path}: [{name}]: unknown section{hint}")
        else:
            problems.append(f"{path}: {name}: {_unknown(name, '')}")
    return given


def read_environment(environ: Mapping[str, str], problems: list[str]) -> Given:
    """The keys ``RTM_ACTORS_*`` variables set. A variable named after a section but no
    key of it is a problem (a typo); others (the SDK's ``RTM_ACTORS_SERVER_URL``) are not
    ours to judge."""
    given: Given = {}
    by_env = {key.env: key for key in all_keys()}
    prefixes = [f"{ENV_PREFIX}{section.upper()}_" for section in keys_by_section() if section]
    for name, raw in environ.items():
        if name in by_env:
            key = by_env[name]
            given[key] = (_env_value(key, raw), f"environment variable {name}")
        elif any(name.startswith(prefix) for prefix in prefixes):
            close = difflib.get_close_matches(name, by_env, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"environment variable {name}: not a setting{hint}")
    return given


def _env_value(key: Key, raw: str) -> object:
    """A variable's text as the key's TOML value: strings as they are (no quotes
    needed), anything else parsed as a TOML value (``30``, ``true``, ``{ count = 5,
    window = 1.0 }``)."""
    if isinstance(key.default, str) or key.default is None:
        return raw  # host, store, paths, the admin token: text
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw  # the key's check refuses it, with what it expects


def _unknown(name: str, section: str) -> str:
    """Why ``name`` is refused: the section it belongs in, or the closest known name."""
    sections = keys_by_section()
    home = [s for s, keys in sections.items() if name in keys and s != section]
    if home:
        where = f"[{home[0]}]" if home[0] else "the top of the file, before any section"
        return f"unknown key here; {name} belongs in {where}"
    close = difflib.get_close_matches(name, list(sections[section]), n=1)
    return "unknown key" + (f" (did you mean {close[0]}?)" if close else "")


def _parse(given: Given, environ: Mapping[str, str], problems: list[str]) -> dict[Key, object]:
    """Each given value checked and converted; secrets read from where they are."""
    values: dict[Key, object] = {}
    for key, (value, origin) in given.items():
        try:
            parsed = _reveal_all(key.parse(value), environ)
        except InvalidValueError as exc:
            problems.append(f"{origin}: {key.dotted}: expected {exc}, got {_shown(key, value)}")
            continue
        values[key] = parsed
    return values


def _reveal_all(parsed: object, environ: Mapping[str, str]) -> object:
    """``parsed`` with each secret reference in it (a table's too) read."""
    if isinstance(parsed, SecretRef):
        return _reveal(parsed, environ)
    if isinstance(parsed, dict):
        return {name: _reveal_all(each, environ) for name, each in parsed.items()}
    return parsed


def _reveal(ref: SecretRef, environ: Mapping[str, str]) -> str:
    """The secret itself."""
    if ref.value is not None:
        return ref.value
    if ref.env is not None:
        if not environ.get(ref.env):
            raise InvalidValueError(f"the environment variable {ref.env} to be set")
        return environ[ref.env]
    assert ref.file is not None
    try:
        with open(ref.file) as file:
            # Secret files usually end with a newline that is not part of the secret.
            content = file.read().strip()
    except OSError as exc:
        raise InvalidValueError(f"a readable file at {ref.file} ({exc.strerror})") from None
    if not content:
        raise InvalidValueError(f"a secret in {ref.file}, which is empty")
    return content


def _check_together(values: dict[Key, object], given: Given, problems: list[str]) -> None:
    """Rules across keys."""
    final = {key.dotted: value for key, value in values.items()}
    defaults = {key.dotted: key.default for key in all_keys()}

    def get(dotted: str) -> Any:
        return final.get(dotted, defaults[dotted])

    def origin(*dotted: str) -> str:
        """Where the first of these keys that was given came from."""
        return next(o for name in dotted for k, (_, o) in given.items() if k.dotted == name)

    if get("keyfile") and not get("certfile"):
        problems.append(f"{origin('keyfile')}: keyfile: expected certfile to be set too")
    heartbeat, expiry = get("cluster.node_heartbeat"), get("cluster.node_expiry")
    if expiry < heartbeat:
        problems.append(
            f"{origin('cluster.node_expiry', 'cluster.node_heartbeat')}: cluster.node_expiry: "
            f"expected at least cluster.node_heartbeat ({heartbeat}), got {expiry}: a live "
            "node would seem dead between heartbeats"
        )


def _assemble(default: Any, values: Mapping[tuple[str, ...], object]) -> Any:
    """``default`` with the values at these paths replaced, nested dataclasses too."""
    changes: dict[str, object] = {}
    nested: dict[str, dict[tuple[str, ...], object]] = {}
    for path, value in values.items():
        if len(path) == 1:
            changes[path[0]] = value
        else:
            nested.setdefault(path[0], {})[path[1:]] = value
    for name, inner in nested.items():
        changes[name] = _assemble(getattr(default, name), inner)
    return dataclasses.replace(default, **changes)


def _shown(key: Key, value: object) -> str:
    """A refused value as the message shows it: a secret's reference ({ file = ... })
    may be shown, a secret itself never."""
    if not key.secret:
        return _show(value)
    if isinstance(value, dict) and set(value) <= {"file", "env"}:
        return _show(value)
    return "a value not shown (a secret)"


def _show(value: object) -> str:
    """A given value as the file would write it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
