"""``ServeSettings`` as a commented TOML config file (``rtm-actors config defaults``).

The file is generated from the keys (``config_keys``), so it lists every setting with
its meaning and cannot drift from ``ServerConfig``; loading it gives the same settings.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rtm_actors.server.config_keys import Key, all_keys
from rtm_actors.server.settings import ServeSettings

HEADER = """\
# rtm-actors server configuration: rtm-actors serve --config rtm.toml
#
# Every key with its default. Durations are in seconds; rates are
# { count, window in seconds }. Command-line flags override this file, and
# RTM_ACTORS_<SECTION>_<KEY> environment variables override both
# (RTM_ACTORS_<KEY> for the keys before the first section, e.g. RTM_ACTORS_PORT).
# Secrets (admin_token, app certificates) may be given as { file = "path" } or
# { env = "VARIABLE" } to keep them out of this file. docs/operations.md says which
# settings matter for which deployment.
"""

#: Written, commented out, for keys whose default is "not set".
EXAMPLES = {
    "certfile": '"/etc/rtm/cert.pem"',
    "keyfile": '"/etc/rtm/key.pem"',
    "admin_token": '{ file = "/run/secrets/rtm-admin-token" }',
}
APP_EXAMPLE = '# [app_certificates]\n# "<app id>" = { env = "RTM_APP_CERTIFICATE" }'

_WIDTH = 88


def render_settings(settings: ServeSettings | None = None, *, only_changed: bool = False) -> str:
    """The settings as a TOML file; ``only_changed``: just the keys not at their default,
    without comments (a test's or a tool's file)."""
    settings = settings or ServeSettings()
    out: list[str] = [] if only_changed else [HEADER.rstrip("\n")]
    section = ""
    for key in all_keys():
        if key.name == "app_certificates":
            continue  # a table: written last, after every section
        value = _value_at(settings, key.path)
        if only_changed and value == key.default:
            continue
        if key.section != section:
            section = key.section
            out += ["", f"[{section}]"]
        if not only_changed:
            # A blank line between keys, none under a section's name.
            out += [*([] if out[-1].startswith("[") else [""]), _comment(key.doc)]
        if value is None:
            out.append(f"# {key.name} = {EXAMPLES.get(key.name, '')}")
        else:
            out.append(f"{key.name} = {toml_value(value, key)}")
    certificates = dict(settings.app_certificates)
    if certificates:
        out.append("\n[app_certificates]")
        out += [f"{toml_string(app)} = {toml_string(cert)}" for app, cert in certificates.items()]
    elif not only_changed:
        app_key = next(key for key in all_keys() if key.name == "app_certificates")
        out += ["", _comment(app_key.doc), APP_EXAMPLE]
    return "\n".join(out).lstrip("\n") + "\n"


def toml_value(value: object, key: Key | None = None) -> str:
    """One value in TOML: pairs as inline tables named after their elements."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, tuple | list) and key is not None and key.pair is not None:
        first, second = key.pair
        return f"{{ {first} = {toml_value(value[0])}, {second} = {toml_value(value[1])} }}"
    msg = f"{key.dotted if key else value!r}: no TOML form for {type(value).__name__}"
    raise TypeError(msg)


def toml_string(text: str) -> str:
    """A TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return (
        '"' + "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped) + '"'
    )


def _comment(doc: str) -> str:
    return textwrap.fill(doc, _WIDTH, initial_indent="# ", subsequent_indent="# ")


def _value_at(settings: ServeSettings, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for name in path:
        value = getattr(value, name)
    return value


def markdown_reference() -> str:
    """The keys as docs/operations.md lists them: a table per section (the docs test
    checks the page holds exactly this, so the page cannot drift either)."""
    out: list[str] = []
    section: str | None = None
    for key in all_keys():
        if key.section != section:
            section = key.section
            title = f"`[{section}]`" if section else "Top level (before any section)"
            out += ["", f"#### {title}", "", "| key | default | meaning |", "| --- | --- | --- |"]
        default = "not set" if key.default in (None, {}) else f"`{toml_value(key.default, key)}`"
        meaning = key.doc.replace("|", "\\|")
        out.append(f"| `{key.name}` | {default} | {meaning} |")
    return "\n".join(out).lstrip("\n") + "\n"
