"""The codec: every frame round-trips, and anything malformed is a RemoteProtocolError."""

from __future__ import annotations

import contextlib
import json
import types
import typing
from typing import Any

import msgspec
import pytest
from hypothesis import given, strategies as st

from rtm_actors.protocol import codec, frames as f
from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.protocol.errors import RemoteProtocolError
from rtm_actors.protocol.limits import MAX_FRAME_BYTES

CLIENT_TYPES: tuple[type[f.ClientFrame], ...] = typing.get_args(f.AnyClientFrame)
SERVER_TYPES: tuple[type[f.ServerFrame], ...] = typing.get_args(f.AnyServerFrame)


def _tag(cls: type[msgspec.Struct]) -> str:
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


CLIENT_TAGS = {_tag(cls) for cls in CLIENT_TYPES}
SERVER_TAGS = {_tag(cls) for cls in SERVER_TYPES}

# JSON can carry any int msgspec encodes; keep to int64 like real ids and sequences.
_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_floats = st.floats(allow_nan=False, allow_infinity=False)
_text = st.text(max_size=20)


def _strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for one field type of a frame (the few types frames.py uses)."""
    if tp is int:
        return _ints
    if tp is float:
        return _floats
    if tp is str:
        return _text
    if tp is bool:
        return st.booleans()
    if tp is bytes:
        return st.binary(max_size=40)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return struct_strategy(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        return st.one_of([st.none() if a is type(None) else _strategy_for(a) for a in args])
    if origin is list:
        return st.lists(_strategy_for(args[0]), max_size=4)
    if origin is dict:
        return st.dictionaries(_strategy_for(args[0]), _strategy_for(args[1]), max_size=4)
    raise AssertionError(f"no strategy for field type {tp!r}")


def struct_strategy(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    """``st.builds(cls, ...)`` with a strategy for every field, defaulted ones included."""
    kwargs = {fi.name: _strategy_for(fi.type) for fi in msgspec.structs.fields(cls)}
    return st.builds(cls, **kwargs)


any_client_frame = st.one_of([struct_strategy(cls) for cls in CLIENT_TYPES])
any_server_frame = st.one_of([struct_strategy(cls) for cls in SERVER_TYPES])


# -- the unions ----------------------------------------------------------------


def test_unions_list_every_frame_class() -> None:
    """Every ClientFrame/ServerFrame subclass is decodable: it is a member of its union."""
    assert set(f.ClientFrame.__subclasses__()) == set(CLIENT_TYPES)
    assert set(f.ServerFrame.__subclasses__()) == set(SERVER_TYPES)


def test_tags_are_unique_and_client_and_server_tags_disjoint() -> None:
    """No two frames share a tag, and no tag names both a client and a server frame."""
    assert len(CLIENT_TAGS) == len(CLIENT_TYPES)
    assert len(SERVER_TAGS) == len(SERVER_TYPES)
    assert CLIENT_TAGS.isdisjoint(SERVER_TAGS)


# -- round trips -----------------------------------------------------------------


@pytest.mark.parametrize("cls", CLIENT_TYPES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_client_frame_round_trips(cls: type[f.ClientFrame], data: st.DataObject) -> None:
    """decode_client_frame(encode(frame)) gives back an equal frame of the same class."""
    frame = data.draw(struct_strategy(cls))
    out = codec.decode_client_frame(codec.encode(frame))
    assert type(out) is cls
    assert out == frame


@pytest.mark.parametrize("cls", SERVER_TYPES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_server_frame_round_trips(cls: type[f.ServerFrame], data: st.DataObject) -> None:
    """decode_server_frame(encode(frame)) gives back an equal frame of the same class."""
    frame = data.draw(struct_strategy(cls))
    out = codec.decode_server_frame(codec.encode(frame))
    assert type(out) is cls
    assert out == frame


def test_encoded_frame_is_json_object_with_tag() -> None:
    """A frame encodes as one JSON object whose "t" is its tag, raw bytes as base64."""
    msg = f.WireMessage(id=7, kind=2, text="hi", raw=b"\x00\x01")
    doc = json.loads(codec.encode(f.SendPeerMessage(rid=3, peer_id="bob", message=msg)))
    assert doc == {
        "t": "send_peer",
        "rid": 3,
        "peer_id": "bob",
        "message": {"id": 7, "kind": 2, "text": "hi", "raw": "AAE="},
        "offline": False,
    }


def test_decode_accepts_str_as_well_as_bytes() -> None:
    """A websocket text message may arrive as str; it decodes like the bytes."""
    frame = f.Login(rid=0, app_id="app", user_id="ünï", token="t")
    text = codec.encode(frame).decode("utf-8")
    assert codec.decode_client_frame(text) == frame


def test_defaults_fill_omitted_optional_fields() -> None:
    """Fields with defaults may be left out on the wire."""
    frame = codec.decode_client_frame(b'{"t":"login","rid":1,"app_id":"a","user_id":"u"}')
    assert frame == f.Login(rid=1, app_id="a", user_id="u", token="", version=1, resume=None)


# -- cross-direction ---------------------------------------------------------------


@given(frame=any_client_frame)
def test_client_frames_do_not_decode_as_server_frames(frame: f.ClientFrame) -> None:
    """A client frame's tag is unknown to the server-frame decoder."""
    assert _tag(type(frame)) not in SERVER_TAGS
    with pytest.raises(RemoteProtocolError):
        codec.decode_server_frame(codec.encode(frame))


@given(frame=any_server_frame)
def test_server_frames_do_not_decode_as_client_frames(frame: f.ServerFrame) -> None:
    """A server frame's tag is unknown to the client-frame decoder."""
    assert _tag(type(frame)) not in CLIENT_TAGS
    with pytest.raises(RemoteProtocolError):
        codec.decode_client_frame(codec.encode(frame))


# -- malformed input ----------------------------------------------------------------

MALFORMED_CLIENT = {
    "empty": b"",
    "garbage": b"\x00\xff\xfe garbage",
    "truncated_json": b'{"t":"ack","seq":',
    "trailing_bytes": b'{"t":"ack","seq":1} x',
    "not_an_object": b"[1, 2, 3]",
    "json_null": b"null",
    "invalid_utf8_in_string": b'{"t":"login","rid":1,"app_id":"a","user_id":"\xff\xfe"}',
    "invalid_utf8_outside": b'\xc3{"t":"ack","seq":1}',
    "no_tag": b'{"seq":1}',
    "unknown_tag": b'{"t":"launch_missiles","seq":1}',
    "server_tag": b'{"t":"pong","ts":1.0}',
    "tag_not_a_string": b'{"t":1,"seq":1}',
    "missing_field": b'{"t":"ack"}',
    "missing_nested_field": b'{"t":"send_peer","rid":1,"peer_id":"b","message":{}}',
    "unknown_field": b'{"t":"ack","seq":1,"extra":true}',
    "unknown_nested_field": (
        b'{"t":"send_peer","rid":1,"peer_id":"b","message":{"id":1,"evil":1}}'
    ),
    "wrong_type_str_for_int": b'{"t":"ack","seq":"1"}',
    "wrong_type_bool_for_int": b'{"t":"ack","seq":true}',
    "wrong_type_float_for_int": b'{"t":"ack","seq":1.5}',
    "wrong_type_int_for_str": b'{"t":"get_attrs","rid":1,"user_id":5}',
    "wrong_type_list_items": b'{"t":"query_presence","rid":1,"peer_ids":[1,2]}',
    "wrong_type_dict_values": b'{"t":"set_attrs","rid":1,"attributes":{"k":1}}',
    "bad_base64": (
        b'{"t":"send_peer","rid":1,"peer_id":"b","message":{"id":1,"raw":"!!not base64!!"}}'
    ),
    "number_out_of_range": b'{"t":"ping","ts":1e400}',
}

MALFORMED_SERVER = {
    "empty": b"",
    "garbage": b"\x80\x81\x82",
    "truncated_json": b'{"t":"reply","rid":1,',
    "invalid_utf8_in_string": b'{"t":"kick","reason":8,"detail":"\xed\xa0\x80"}',
    "unknown_tag": b'{"t":"nope"}',
    "client_tag": b'{"t":"ack","seq":1}',
    "missing_field": b'{"t":"reply","rid":1}',
    "unknown_field": b'{"t":"pong","ts":0.0,"later":1}',
    "wrong_type": b'{"t":"reply","rid":"1","code":0}',
    "wrong_nested_type": b'{"t":"channel_attrs_reply","rid":1,"code":0,"attributes":[{"key":1}]}',
    "null_for_required": b'{"t":"member_count","channel_id":null,"count":1}',
}


@pytest.mark.parametrize("data", MALFORMED_CLIENT.values(), ids=MALFORMED_CLIENT.keys())
def test_malformed_client_input_is_remote_protocol_error(data: bytes) -> None:
    """Each kind of malformed client frame raises RemoteProtocolError (PROTOCOL_ERROR)."""
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_client_frame(data)
    assert info.value.disconnect_code is DisconnectCode.PROTOCOL_ERROR


@pytest.mark.parametrize("data", MALFORMED_SERVER.values(), ids=MALFORMED_SERVER.keys())
def test_malformed_server_input_is_remote_protocol_error(data: bytes) -> None:
    """Each kind of malformed server frame raises RemoteProtocolError (PROTOCOL_ERROR)."""
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_server_frame(data)
    assert info.value.disconnect_code is DisconnectCode.PROTOCOL_ERROR


def test_str_with_lone_surrogate_is_remote_protocol_error() -> None:
    """A str that is not valid Unicode text is malformed input, not a UnicodeEncodeError."""
    with pytest.raises(RemoteProtocolError):
        codec.decode_client_frame('{"t":"ack","seq":1}\ud800')
    with pytest.raises(RemoteProtocolError):
        codec.decode_server_frame('{"t":"pong","ts":0.0,"x":"\ud800"}')


def test_remote_protocol_error_is_not_chained() -> None:
    """The decode error is raised from None: the msgspec internals are not chained on."""
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_client_frame(b"{")
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def _padded_ack(size: int) -> bytes:
    """A valid Ack frame of exactly ``size`` bytes (JSON whitespace padding)."""
    core = b'{"t":"ack","seq":1}'
    return core[:-1] + b" " * (size - len(core)) + b"}"


def test_client_frame_at_max_bytes_decodes_and_one_more_is_too_big() -> None:
    """A client frame of exactly max_bytes is fine; one byte more is MESSAGE_TOO_BIG."""
    assert codec.decode_client_frame(_padded_ack(100), max_bytes=100) == f.Ack(seq=1)
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_client_frame(_padded_ack(101), max_bytes=100)
    assert info.value.disconnect_code is DisconnectCode.MESSAGE_TOO_BIG


def test_default_client_limit_is_max_frame_bytes() -> None:
    """Without max_bytes, client frames are limited to MAX_FRAME_BYTES."""
    assert codec.decode_client_frame(_padded_ack(MAX_FRAME_BYTES)) == f.Ack(seq=1)
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_client_frame(_padded_ack(MAX_FRAME_BYTES + 1))
    assert info.value.disconnect_code is DisconnectCode.MESSAGE_TOO_BIG


def test_default_server_limit_is_four_max_frames() -> None:
    """Server frames may be up to 4 * MAX_FRAME_BYTES (a batch of replies and pushes)."""
    pong = b'{"t":"pong","ts":0.0}'
    at_limit = pong[:-1] + b" " * (4 * MAX_FRAME_BYTES - len(pong)) + b"}"
    assert codec.decode_server_frame(at_limit) == f.Pong(ts=0.0)
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_server_frame(at_limit + b" ")
    assert info.value.disconnect_code is DisconnectCode.MESSAGE_TOO_BIG


def test_oversize_is_judged_before_parsing() -> None:
    """Oversize garbage is MESSAGE_TOO_BIG, not a parse error: the size check comes first."""
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_server_frame(b"\xff" * 11, max_bytes=10)
    assert info.value.disconnect_code is DisconnectCode.MESSAGE_TOO_BIG


@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_to_client_decoder_give_frame_or_remote_protocol_error(
    data: bytes,
) -> None:
    """decode_client_frame on any bytes returns a client frame or raises RemoteProtocolError."""
    try:
        frame = codec.decode_client_frame(data)
    except RemoteProtocolError:
        return
    assert isinstance(frame, f.ClientFrame)


@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_to_server_decoder_give_frame_or_remote_protocol_error(
    data: bytes,
) -> None:
    """decode_server_frame on any bytes returns a server frame or raises RemoteProtocolError."""
    try:
        frame = codec.decode_server_frame(data)
    except RemoteProtocolError:
        return
    assert isinstance(frame, f.ServerFrame)


_json_chars = st.sampled_from('{}[]":,. tseqackpongrid0123456789')
_any_chars = st.one_of(_json_chars, st.characters(), st.characters(categories=["Cs"]))


@given(data=st.text(alphabet=_any_chars, max_size=100))
def test_arbitrary_text_to_decoders_give_frame_or_remote_protocol_error(data: str) -> None:
    """Any str, lone surrogates included, decodes to a frame or raises RemoteProtocolError."""
    for decode, base in (
        (codec.decode_client_frame, f.ClientFrame),
        (codec.decode_server_frame, f.ServerFrame),
    ):
        try:
            frame = decode(data)
        except RemoteProtocolError:
            continue
        assert isinstance(frame, base)


def _mutations(doc: bytes) -> st.SearchStrategy[bytes]:
    """Near-valid variants of ``doc``: one byte changed, dropped or inserted."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        i = draw(st.integers(0, len(doc)))
        byte = bytes([draw(st.integers(0, 255))])
        how = draw(st.sampled_from(["replace", "drop", "insert"]))
        if how == "replace":
            return doc[:i] + byte + doc[i + 1 :]
        if how == "drop":
            return doc[:i] + doc[i + 1 :]
        return doc[:i] + byte + doc[i:]

    return mutate()


@given(data=st.data())
def test_mutated_valid_frames_give_frame_or_remote_protocol_error(data: st.DataObject) -> None:
    """A valid frame with one byte changed still only decodes or raises RemoteProtocolError."""
    frame = data.draw(st.one_of(any_client_frame, any_server_frame))
    mutated = data.draw(_mutations(codec.encode(frame)))
    for decode in (codec.decode_client_frame, codec.decode_server_frame):
        with contextlib.suppress(RemoteProtocolError):
            decode(mutated)
