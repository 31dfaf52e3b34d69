"""Attribute write arithmetic (spec 3.2), with no IO."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rtm_actors.protocol.attributes import (
    CHANNEL_LIMITS,
    USER_LIMITS,
    AttributeOp,
    apply_write,
    is_valid_key,
    select,
    total_size,
)
from rtm_actors.protocol.codes import AttributeOperationErr as E

keys = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8)
values = st.text(min_size=1, max_size=50)
attribute_sets = st.dictionaries(keys, values, max_size=10)


def test_set_replaces_add_merges_delete_removes_clear_empties():
    """The four operations do what Agora's names say."""
    start = {"a": "1", "b": "2"}
    assert apply_write(start, AttributeOp.SET, {"c": "3"}) == (E.OK, {"c": "3"})
    assert apply_write(start, AttributeOp.ADD_OR_UPDATE, {"b": "9", "c": "3"}) == (
        E.OK,
        {"a": "1", "b": "9", "c": "3"},
    )
    assert apply_write(start, AttributeOp.DELETE, keys=["a", "zz"]) == (E.OK, {"b": "2"})
    assert apply_write(start, AttributeOp.CLEAR) == (E.OK, {})


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("k", True),
        ("k" * 32, True),
        ("k" * 33, False),
        ("", False),
        ("a b", False),
        ("tab\t", False),
        ("é", False),
        ("!#$%&", True),
    ],
)
def test_key_rules(key, valid):
    """Keys are 1-32 bytes of visible ASCII."""
    assert is_valid_key(key) is valid


def test_empty_value_is_invalid_and_oversize_value_overflows():
    """An empty value is INVALID_ARGUMENT; a value over 8 KB is SIZE_OVERFLOW."""
    assert apply_write({}, AttributeOp.SET, {"k": ""})[0] is E.INVALID_ARGUMENT
    assert apply_write({}, AttributeOp.SET, {"k": "v" * 8193})[0] is E.SIZE_OVERFLOW
    assert apply_write({}, AttributeOp.SET, {"k": "é" * 4096})[0] is E.OK  # 8,192 bytes
    assert apply_write({}, AttributeOp.SET, {"k": "é" * 4097})[0] is E.SIZE_OVERFLOW


def test_count_and_total_are_judged_after_the_write():
    """32 keys and 16 KB (user) or 32 KB (channel) in all, counted on the result."""
    full = {f"k{i}": "v" for i in range(32)}
    assert apply_write(full, AttributeOp.ADD_OR_UPDATE, {"k0": "w"})[0] is E.OK
    assert apply_write(full, AttributeOp.ADD_OR_UPDATE, {"new": "w"})[0] is E.SIZE_OVERFLOW
    assert apply_write(full, AttributeOp.SET, {"new": "w"})[0] is E.OK
    big = {"a": "v" * 8000, "b": "v" * 8000}
    assert apply_write(big, AttributeOp.ADD_OR_UPDATE, {"c": "v" * 400})[0] is E.SIZE_OVERFLOW
    code, _ = apply_write(big, AttributeOp.ADD_OR_UPDATE, {"c": "v" * 400}, limits=CHANNEL_LIMITS)
    assert code is E.OK


@given(attribute_sets, st.sampled_from(list(AttributeOp)), attribute_sets, st.lists(keys))
def test_a_refused_write_changes_nothing_and_an_accepted_one_is_within_limits(
    current, op, attributes, delete_keys
):
    """Whatever the write, the result is either the unchanged state or a state in bounds."""
    code, after = apply_write(current, op, attributes, delete_keys)
    if code is E.OK:
        assert len(after) <= USER_LIMITS.max_keys
        assert total_size(after) <= USER_LIMITS.max_total_bytes
    else:
        assert after == current


def test_select_by_keys():
    """select returns all attributes, or only the named ones that exist."""
    attrs = {"a": "1", "b": "2"}
    assert select(attrs, None) == attrs
    assert select(attrs, ["b", "zz"]) == {"b": "2"}
