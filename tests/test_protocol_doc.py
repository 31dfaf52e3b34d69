"""docs/protocol.md says what the code does: its tables are checked against rtm_actors.protocol."""

from __future__ import annotations

import pathlib
import re

import pytest

from rtm_actors.protocol import attributes, channel, codes, limits, presence
from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.server.config import ServerConfig

DOC = (pathlib.Path(__file__).parent.parent / "docs" / "protocol.md").read_text()
#: The prose as a reader takes it: no emphasis marks, every run of whitespace one space.
PROSE = re.sub(r"\s+", " ", DOC.replace("**", ""))


def section(heading: str) -> str:
    """The text of the section under ``heading`` (up to the next heading of any level)."""
    start = DOC.index(heading + "\n")
    following = re.search(r"\n#{2,4} ", DOC[start + len(heading) :])
    return DOC[start : start + len(heading) + (following.start() if following else len(DOC))]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every table row in ``text`` (header and separator rows dropped)."""
    rows = [
        [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        for line in text.splitlines()
        if line.startswith("|")
    ]
    return [r for r in rows[2:] if not set("".join(r)) <= set("- ")]


def number(text: str) -> int:
    """The first integer in ``text`` (commas allowed: 262,144)."""
    found = re.search(r"\d[\d,]*", text)
    assert found is not None, text
    return int(found.group().replace(",", ""))


def test_the_size_table_matches_the_limits_in_code():
    """Section 8.2's numbers are the ones the protocol package and the server enforce."""
    table = dict(table_rows(section("### 8.2 Sizes")))
    frame = number(table["Websocket message, client to server"])
    assert frame == limits.MAX_FRAME_BYTES == ServerConfig().max_frame_bytes
    assert number(table["Message (peer or channel)"].split("≤")[1]) == limits.MAX_MESSAGE_BYTES
    invitation = table["Invitation `content`, `response`"].split("≤")[1]
    assert number(invitation) == limits.MAX_INVITATION_TEXT_BYTES
    assert re.search(rf"1-{attributes.MAX_KEY_BYTES} bytes", table["Attribute key"])
    assert number(table["Attribute value"].split("≤")[1]) == attributes.MAX_VALUE_BYTES
    assert number(table["Offline messages"].split("≤")[1]) == limits.MAX_OFFLINE_MESSAGES
    assert number(table["Presence query"].split("-")[1]) == presence.MAX_QUERY_PEERS
    assert number(table["Subscriptions"]) == presence.MAX_SUBSCRIBED_PEERS
    assert number(table["Channels joined"]) == channel.MAX_JOINED_CHANNELS
    assert number(table["`get_member_count`"]) == channel.MAX_COUNT_CHANNELS


def test_every_statement_of_the_frame_limit_agrees():
    """Wherever the document gives the client frame limit, it gives the one number."""
    kib = limits.MAX_FRAME_BYTES // 1024
    transport = dict(table_rows(section("## 2. Transport")))
    assert f"{kib} KiB ({limits.MAX_FRAME_BYTES:,} bytes)" in transport["Size, client to server"]
    for other in ("65,536 bytes", "64 KiB"):
        assert other not in DOC


def test_the_id_rule_matches_the_code():
    """Section 8.1 states Agora's "less than 64 bytes" as the length the code accepts."""
    ids = dict(table_rows(section("### 8.1 Ids (Agora, `protocol/limits.py`)")))
    rule = ids["User id, channel id"]
    assert rule.startswith(f"1-{limits.MAX_ID_BYTES} characters")
    assert limits.is_valid_channel_id("c" * limits.MAX_ID_BYTES)
    assert not limits.is_valid_channel_id("c" * (limits.MAX_ID_BYTES + 1))


def test_the_close_code_table_lists_every_close_code_by_its_value():
    """Section 7.1 has one row per DisconnectCode, with its number and name.

    (RFC 6455 codes below 3000, such as 1002, may have rows of their own.)
    """
    rows = table_rows(section("### 7.1 Websocket close codes (`DisconnectCode`)"))
    documented = {int(row[0]): row[1] for row in rows if int(row[0]) >= 3000}
    assert documented == {code.value: code.name for code in DisconnectCode if code >= 3000}


def test_the_appendix_enum_values_match_the_code():
    """Every NAME value pair in the appendix table is the enum member in codes.py."""
    for enum_cell, values in table_rows(section("## 10. Appendix: enum values")):
        name = re.match(r"`(\w+)`", enum_cell)
        assert name is not None, enum_cell
        enum = getattr(codes, name.group(1))
        for member, value in re.findall(r"\b([A-Z][A-Z_]+) (\d+)", values):
            assert enum[member] == int(value), f"{enum.__name__}.{member}"


@pytest.mark.parametrize(
    "stale",
    [
        "Fixed since the first draft",
        "message id alone",
        "by id alone",
        "not deduplicated",
        "The server speaks plain `ws://`",
        "The reference client does not apply it",
        "put a TLS-terminating proxy in front",
    ],
)
def test_no_section_says_what_another_overrides(stale):
    """Statements that the document's other sections (and the server) contradict are gone."""
    assert stale not in PROSE
