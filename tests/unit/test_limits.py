"""Agora's id and payload limits (agora-rtm-spec.md section 3.1) as pure checks."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rtm_actors.protocol import limits
from rtm_actors.protocol.limits import (
    MAX_MESSAGE_BYTES,
    is_valid_app_id,
    is_valid_channel_id,
    is_valid_message,
    is_valid_user_id,
    message_size,
)

ALLOWED_PUNCTUATION = " !#$%&()+-:;<=.>?@[]^_{}|~,"
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + ALLOWED_PUNCTUATION


def test_constants_are_agoras() -> None:
    """Ids are under 64 bytes, messages 32 KB, invitation texts 8 KB, 200 offline messages."""
    assert limits.MAX_ID_BYTES == 63
    assert limits.MAX_MESSAGE_BYTES == 32 * 1024
    assert limits.MAX_INVITATION_TEXT_BYTES == 8 * 1024
    assert limits.MAX_OFFLINE_MESSAGES == 200
    assert limits.OFFLINE_MESSAGE_TTL_S == 7 * 24 * 3600
    assert limits.MAX_FRAME_BYTES > limits.MAX_MESSAGE_BYTES * 4 // 3


# -- user ids -------------------------------------------------------------------


@pytest.mark.parametrize(
    "user_id",
    ["a", "alice", "Alice_42", "0", "x" * 63, " leading space", "null-ish", "Null", "NULL", "nul"],
)
def test_valid_user_ids(user_id: str) -> None:
    """Letters, digits and allowed punctuation up to 63 characters make a valid user id."""
    assert is_valid_user_id(user_id)


@pytest.mark.parametrize("char", list(ALLOWED_PUNCTUATION), ids=repr)
def test_every_allowed_punctuation_character_is_accepted(char: str) -> None:
    """Each of Agora's allowed punctuation characters (and space) may appear in a user id."""
    assert is_valid_user_id(f"a{char}b")
    assert is_valid_user_id(char * 3)


def test_user_id_length_boundary() -> None:
    """Agora: "less than 64 bytes": 63 is the longest user id; 64 is too long."""
    assert is_valid_user_id("u" * 63)
    assert not is_valid_user_id("u" * 64)
    assert is_valid_user_id(ALLOWED_PUNCTUATION * 2 + "x" * (63 - 2 * len(ALLOWED_PUNCTUATION)))


@pytest.mark.parametrize("user_id", ["", "null"])
def test_empty_and_null_string_are_rejected(user_id: str) -> None:
    """The empty string and the literal string "null" are not user ids."""
    assert not is_valid_user_id(user_id)


@pytest.mark.parametrize(
    "char",
    ["/", "*", "\\", '"', "'", "`", "\t", "\n", "\r", "\x00", "\x7f", "é", "中", "😀", "\u00a0"],
    ids=repr,
)
def test_disallowed_characters_are_rejected(char: str) -> None:
    """Slashes, stars, quotes, control characters and any non-ASCII character are refused."""
    assert not is_valid_user_id(f"ab{char}cd")
    assert not is_valid_user_id(char)


def test_non_ascii_within_64_characters_is_still_rejected() -> None:
    """A short id with multi-byte characters is refused (only ASCII is allowed at all)."""
    assert not is_valid_user_id("é" * 10)


def test_trailing_newline_is_rejected() -> None:
    """A trailing newline does not slip past the pattern (fullmatch, not match with $)."""
    assert not is_valid_user_id("alice\n")


@pytest.mark.parametrize("user_id", [None, 42, 4.2, b"alice", ["alice"], object(), True])
def test_non_str_user_ids_are_rejected(user_id: object) -> None:
    """Only str can be a user id: None, numbers and bytes are refused without raising."""
    assert not is_valid_user_id(user_id)


@given(st.text(alphabet=ID_ALPHABET, min_size=1, max_size=64).filter(lambda s: s != "null"))
def test_any_allowed_id_is_valid(user_id: str) -> None:
    """Any 1-64 characters from the allowed alphabet, other than "null", is a valid user id."""
    assert is_valid_user_id(user_id)
    assert is_valid_channel_id(user_id)


@given(st.text(max_size=80))
def test_validity_agrees_with_the_rules(user_id: str) -> None:
    """is_valid_user_id is exactly: 1-63 bytes, allowed characters, not "null"."""
    expected = (
        1 <= len(user_id.encode("utf-8")) <= 63
        and all(ch in ID_ALPHABET for ch in user_id)
        and user_id != "null"
    )
    assert is_valid_user_id(user_id) is expected


@pytest.mark.parametrize("channel_id", ["", "null", "x" * 64, "a/b", "ch*", None, 3])
def test_channel_ids_follow_user_id_rules(channel_id: object) -> None:
    """Channel ids are refused exactly where user ids are."""
    assert not is_valid_channel_id(channel_id)
    assert is_valid_channel_id("lobby #1")


# -- app ids ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_id", ["a", "testapp", "0123456789abcdef0123456789abcdef", "my-app_2", "A" * 64]
)
def test_valid_app_ids(app_id: str) -> None:
    """Letters, digits, '_' and '-' from 1 to 64 characters make an app id (Agora's 32 hex too)."""
    assert is_valid_app_id(app_id)


@pytest.mark.parametrize(
    "app_id",
    ["", "A" * 65, "my app", "app!", "app.id", "app/1", "äpp", "app\n", None, 123, b"app"],
    ids=repr,
)
def test_invalid_app_ids(app_id: object) -> None:
    """Empty, too long, punctuation other than '_'/'-', non-ASCII and non-str app ids fail."""
    assert not is_valid_app_id(app_id)


# -- messages --------------------------------------------------------------------


def test_message_size_counts_utf8_bytes_and_raw() -> None:
    """The size is UTF-8 text bytes plus raw bytes; None or empty raw adds nothing."""
    assert message_size("", None) == 0
    assert message_size("abc", None) == 3
    assert message_size("é", None) == 2
    assert message_size("中", None) == 3
    assert message_size("😀", None) == 4
    assert message_size("ab", b"\x00\x01\x02") == 5
    assert message_size("", b"") == 0


def test_text_message_boundary_at_32_kib() -> None:
    """32768 bytes of text is allowed; 32769 is not."""
    assert is_valid_message("x" * MAX_MESSAGE_BYTES, None)
    assert not is_valid_message("x" * (MAX_MESSAGE_BYTES + 1), None)


def test_text_plus_raw_boundary_at_32_kib() -> None:
    """Text and raw payload count together against the 32 KB limit."""
    assert is_valid_message("x" * 1000, b"\x00" * (MAX_MESSAGE_BYTES - 1000))
    assert not is_valid_message("x" * 1000, b"\x00" * (MAX_MESSAGE_BYTES - 999))
    assert is_valid_message("", b"\xff" * MAX_MESSAGE_BYTES)
    assert not is_valid_message("", b"\xff" * (MAX_MESSAGE_BYTES + 1))


def test_multibyte_text_is_counted_in_bytes_not_characters() -> None:
    """10923 three-byte characters (32769 bytes) exceed the limit though under 32768 chars."""
    assert is_valid_message("中" * (MAX_MESSAGE_BYTES // 3), None)  # 32766 bytes
    too_big = "中" * (MAX_MESSAGE_BYTES // 3 + 1)  # 32769 bytes, 10923 characters
    assert len(too_big) < MAX_MESSAGE_BYTES
    assert not is_valid_message(too_big, None)
    assert is_valid_message("😀" * (MAX_MESSAGE_BYTES // 4), None)
    assert not is_valid_message("😀" * (MAX_MESSAGE_BYTES // 4) + "x", None)


@given(text=st.text(max_size=50), raw=st.none() | st.binary(max_size=50))
def test_message_size_is_byte_length(text: str, raw: bytes | None) -> None:
    """message_size equals len(text as UTF-8) + len(raw) for any text and raw payload."""
    assert message_size(text, raw) == len(text.encode("utf-8")) + len(raw or b"")
    assert is_valid_message(text, raw)
