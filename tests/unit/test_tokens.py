"""RTM login tokens ("006" AccessToken, "007" AccessToken2) against Agora's real builders.

The vectors in token_vectors.json were made by the npm ``agora-token`` package and the
PyPI ``agora-token-builder`` and ``agoraiotools`` packages (see make_token_vectors.md).
"""

from __future__ import annotations

import base64
import json
import struct
import time
import warnings
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from rtm_actors.protocol.codes import LoginErrCode
from rtm_actors.protocol.tokens import (
    MAX_007_LIFETIME_S,
    TokenCheck,
    build_token_006,
    build_token_007,
    verify_token,
)

OK = LoginErrCode.OK
INVALID = LoginErrCode.INVALID_TOKEN
EXPIRED = LoginErrCode.TOKEN_EXPIRED

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "token_vectors.json").read_text(encoding="utf-8")
)["vectors"]
BY_NAME = {v["name"]: v for v in VECTORS}
V006 = [v for v in VECTORS if v["version"] == "006"]
V007 = [v for v in VECTORS if v["version"] == "007"]
# 007 vectors whose only service is RTM, as RtmTokenBuilder2 makes them.
RTM_ONLY_007 = [v for v in V007 if "RtmTokenBuilder" in v["call"]]

APP_ID = "0123456789abcdef0123456789abcdef"
CERT = "fedcba9876543210fedcba9876543210"
T0 = 1_700_000_000


def ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["name"] for v in vectors]


def issued(v: dict[str, Any]) -> int:
    """When the token was made: 007 carries it, 006 only via the generator's clock."""
    return int(v["issue_ts"] if v["version"] == "007" else v["generated_at"])


def expected_expiry(v: dict[str, Any]) -> int:
    """The documented rule: 007 issue_ts + expire (24 h cap); 006 min of non-zero ts, privilege."""
    if v["version"] == "007":
        # Every builder call used here writes the same expire to the token and the login privilege.
        return int(v["issue_ts"]) + min(int(v["expire"]), MAX_007_LIFETIME_S)
    return min(t for t in (v["ts"], v["privilege_expired_ts"]) if t != 0)


def check(v: dict[str, Any], now: int, **override: str) -> TokenCheck:
    args = {k: v[k] for k in ("token", "app_id", "app_certificate", "user_id")} | override
    return verify_token(
        args["token"], args["app_id"], args["app_certificate"], args["user_id"], now
    )


def inflate(token: str) -> bytes:
    return zlib.decompress(base64.b64decode(token[3:]))


def other(hex32: str) -> str:
    """The same id with its last hex digit changed."""
    return hex32[:-1] + ("0" if hex32[-1] != "0" else "1")


def agoraiotools_access_token2() -> ModuleType:
    """Import the Python AccessToken2 reference, which warns about its deprecated siblings."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"The \w+ module is deprecated", category=DeprecationWarning
        )
        return pytest.importorskip("agoraiotools.AccessToken2")


# --- the vector file ---------------------------------------------------------------------


def test_vectors_cover_both_formats_builders_users_and_expiry():
    """The vectors span both versions, the builders, special-character users and expired tokens."""
    builders = {v["builder"].split()[1] for v in VECTORS}
    assert {"agora-token@2.0.6", "agora-token-builder==1.0.0"} <= builders
    assert len(V006) >= 5
    assert len(V007) >= 5
    users = {v["user_id"] for v in VECTORS}
    assert {"user with spaces", "!#$%&()+-:;<=.>?@[]^_{}|~,", "ünïcödé-用户"} <= users
    assert any(len(u) == 64 for u in users)
    # Made already expired (006), or expiring at once or within a minute (007).
    assert any(expected_expiry(v) <= v["generated_at"] for v in V006)
    assert any(expected_expiry(v) <= v["issue_ts"] + 60 for v in V007)


@pytest.mark.parametrize("v", V007, ids=ids(V007))
def test_007_issue_ts_and_salt_read_from_the_token_match_the_record(v):
    """The issue_ts, expire and salt recorded for a 007 vector are what the token carries."""
    content = inflate(v["token"])
    (sig_len,) = struct.unpack_from("<H", content, 0)
    offset = 2 + sig_len
    (app_len,) = struct.unpack_from("<H", content, offset)
    offset += 2 + app_len
    assert content[offset - app_len : offset].decode() == v["app_id"]
    issue_ts, expire, salt = struct.unpack_from("<III", content, offset)
    assert (issue_ts, expire, salt) == (v["issue_ts"], v["expire"], v["salt"])


@pytest.mark.parametrize("v", V006, ids=ids(V006))
def test_006_builders_set_ts_to_generation_time_plus_a_day(v):
    """Agora's 006 builders write ts = generation time + 24 h, the token's own expiry."""
    assert 0 <= v["ts"] - 24 * 3600 - v["generated_at"] <= 1


# --- every vector against its own app, certificate and user --------------------------------


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_vector_verifies_until_it_expires(v):
    """A vector is OK for its user, app and certificate until its expiry, then TOKEN_EXPIRED."""
    expires_at = expected_expiry(v)
    if expires_at > issued(v):
        for now in (issued(v), expires_at - 1):
            assert check(v, now) == TokenCheck(OK, expires_at, v["version"])
    for now in (expires_at, expires_at + 1, expires_at + 10 * 365 * 86400):
        assert check(v, now) == TokenCheck(EXPIRED, expires_at, v["version"])


@pytest.mark.parametrize(
    "name",
    [
        "npm007-expired",
        "npm007-zero-expire",
        "pypi006-expired",
        "npm007-published-test4-rtc-and-rtm",
    ],
)
def test_expired_vectors_are_expired_by_the_real_clock(name):
    """Vectors made already expired, or expiring within a minute, are TOKEN_EXPIRED now."""
    assert check(BY_NAME[name], int(time.time())).code is EXPIRED


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_vector_for_another_user_is_invalid(v):
    """The token of one user does not log in another, even one differing by a character or case."""
    user = v["user_id"]
    for wrong in {
        user + "x",
        user[:-1],
        user.upper() if user != user.upper() else user.lower(),
        "",
        "someone-else",
    } - {user}:
        assert check(v, issued(v), user_id=wrong) == TokenCheck(INVALID, None, v["version"])


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_vector_for_another_app_is_invalid(v):
    """A token made for one app id fails for any other app id."""
    for wrong in (other(v["app_id"]), APP_ID, v["app_id"][:-1], v["app_id"] + "0"):
        assert check(v, issued(v), app_id=wrong).code is INVALID


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_vector_with_another_certificate_is_invalid(v):
    """A token signed with one certificate fails under any other certificate."""
    for wrong in (other(v["app_certificate"]), CERT, v["app_certificate"].swapcase(), "x"):
        assert check(v, issued(v), app_certificate=wrong).code is INVALID


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_wrong_identity_is_invalid_even_after_expiry(v):
    """Only an authentic token is ever reported expired; a wrong one stays INVALID_TOKEN."""
    late = expected_expiry(v) + 1
    assert check(v, late, user_id=v["user_id"] + "x").code is INVALID
    assert check(v, late, app_certificate=other(v["app_certificate"])).code is INVALID


# --- our builders reproduce Agora's -------------------------------------------------------


@pytest.mark.parametrize("v", RTM_ONLY_007, ids=ids(RTM_ONLY_007))
def test_build_007_reproduces_the_builders_token(v):
    """With the builder's issue_ts and salt our 007 token has byte-identical content to Agora's."""
    ours = build_token_007(
        v["app_id"],
        v["app_certificate"],
        v["user_id"],
        v["expire"],
        issued_at=v["issue_ts"],
        salt=v["salt"],
    )
    assert inflate(ours) == inflate(v["token"])
    # Ours differs from the builder's only by the deflate encoder (node bundles its own zlib).
    assert ours == "007" + base64.b64encode(zlib.compress(inflate(v["token"]))).decode()


@pytest.mark.parametrize("v", V006, ids=ids(V006))
def test_build_006_reproduces_the_builders_token(v):
    """With the builder's ts and salt our 006 token equals Agora's string exactly."""
    ours = build_token_006(
        v["app_id"],
        v["app_certificate"],
        v["user_id"],
        v["privilege_expired_ts"],
        ts=v["ts"],
        salt=v["salt"],
    )
    assert ours == v["token"]


@pytest.mark.parametrize(
    ("expire", "lifetime"),
    [(1, 1), (600, 600), (86400, 86400), (86401, 86400), (0xFFFFFFFF, 86400)],
)
@pytest.mark.parametrize("user", ["alice", "user with spaces", "ünïcödé", "u" * 64])
def test_token_we_build_verifies(user, expire, lifetime):
    """A 007 token we build is OK for its user until issue time + expire (at most 24 h)."""
    token = build_token_007(APP_ID, CERT, user, expire, issued_at=T0, salt=12345)
    assert verify_token(token, APP_ID, CERT, user, T0) == TokenCheck(OK, T0 + lifetime, "007")
    assert verify_token(token, APP_ID, CERT, user, T0 + lifetime - 1).code is OK
    assert verify_token(token, APP_ID, CERT, user, T0 + lifetime).code is EXPIRED
    assert verify_token(token, APP_ID, CERT, user + "x", T0).code is INVALID


def test_007_expire_zero_expires_at_once():
    """A 007 token with expire 0 is already expired at its issue time."""
    token = build_token_007(APP_ID, CERT, "alice", 0, issued_at=T0, salt=1)
    assert verify_token(token, APP_ID, CERT, "alice", T0) == TokenCheck(EXPIRED, T0, "007")
    assert verify_token(token, APP_ID, CERT, "alice", T0 - 1) == TokenCheck(OK, T0, "007")


def test_006_privilege_zero_leaves_the_token_ts():
    """A 006 login privilege of 0 means no privilege expiry: the token's ts alone applies."""
    token = build_token_006(APP_ID, CERT, "alice", 0, ts=T0 + 86400, salt=7)
    assert verify_token(token, APP_ID, CERT, "alice", T0) == TokenCheck(OK, T0 + 86400, "006")
    assert verify_token(token, APP_ID, CERT, "alice", T0 + 86400).code is EXPIRED


def test_006_earlier_of_ts_and_privilege_wins():
    """A 006 token expires at the earlier of its ts and its non-zero login privilege."""
    early = build_token_006(APP_ID, CERT, "alice", T0 + 60, ts=T0 + 86400, salt=7)
    late = build_token_006(APP_ID, CERT, "alice", T0 + 99999, ts=T0 + 86400, salt=7)
    assert verify_token(early, APP_ID, CERT, "alice", T0).expires_at == T0 + 60
    assert verify_token(late, APP_ID, CERT, "alice", T0).expires_at == T0 + 86400


def test_006_with_no_expiry_at_all_never_expires():
    """A 006 token with ts and privilege both 0 (no builder makes one) has no expiry."""
    token = build_token_006(APP_ID, CERT, "alice", 0, ts=0, salt=7)
    assert verify_token(token, APP_ID, CERT, "alice", 2**40) == TokenCheck(OK, None, "006")


def test_006_works_with_a_short_self_hosted_app_id():
    """Both formats work with a short self-hosted app id and certificate."""
    t6 = build_token_006("myapp", "secret", "alice", 0, ts=T0 + 10, salt=1)
    t7 = build_token_007("myapp", "secret", "alice", 10, issued_at=T0, salt=1)
    for token in (t6, t7):
        assert verify_token(token, "myapp", "secret", "alice", T0).code is OK
        assert verify_token(token, "myapp2", "secret", "alice", T0).code is INVALID
        assert verify_token(token, "myap", "secret", "alice", T0).code is INVALID


@pytest.mark.parametrize(
    "kwargs",
    [
        {"app_id": ""},
        {"app_certificate": ""},
        {"expire_seconds": -1},
        {"expire_seconds": 2**32},
        {"issued_at": -1},
        {"salt": 2**32},
        {"user_id": "u" * 65536},
    ],
)
def test_build_007_rejects_what_the_format_cannot_hold(kwargs):
    """Our builder raises ValueError for empty secrets, out-of-range numbers or huge ids."""
    args: dict[str, Any] = {
        "app_id": APP_ID,
        "app_certificate": CERT,
        "user_id": "a",
        "expire_seconds": 1,
        "issued_at": T0,
        "salt": 1,
    } | kwargs
    with pytest.raises(ValueError, match=r"non-empty|unsigned 32-bit|65535"):
        build_token_007(
            args["app_id"],
            args["app_certificate"],
            args["user_id"],
            args["expire_seconds"],
            issued_at=args["issued_at"],
            salt=args["salt"],
        )


# --- malformed and altered tokens --------------------------------------------------------

GOOD_007 = BY_NAME["npm007-alice"]
GOOD_006 = BY_NAME["pypi006-alice"]
GARBAGE = [
    "",
    "0",
    "00",
    "006",
    "007",
    "008" + GOOD_007["token"][3:],
    "005" + GOOD_006["token"][3:],
    "null",
    "007!!!!",
    "007" + base64.b64encode(b"not zlib at all").decode(),
    "007" + base64.b64encode(zlib.compress(b"")).decode(),
    "007" + base64.b64encode(zlib.compress(b"\x20\x00" + b"\x00" * 32)).decode(),
    "007" + base64.b64encode(zlib.compress(b"\x00" * 1_000_000)).decode(),
    "007" + base64.b64encode(zlib.compress(b"x") + b"trailing").decode(),
    "007" + base64.b64encode(zlib.compress(b"x")[:-3]).decode(),
    "006" + GOOD_006["app_id"],
    "006" + GOOD_006["app_id"] + "AAAA",
    "006" + GOOD_006["app_id"] + "====",
    GOOD_007["token"] + " ",
    " " + GOOD_007["token"],
    GOOD_007["token"].rstrip("="),
    GOOD_007["token"] + "AAAA",
    GOOD_006["token"] + "AAAA",
    GOOD_007["token"].replace("+", "-").replace("/", "_"),
    GOOD_007["token"][:40] + "\n" + GOOD_007["token"][40:],
    GOOD_007["token"][:40] + "é" + GOOD_007["token"][41:],
    GOOD_007["token"] * 40,
    "007" + "A" * 10_000,
]


@pytest.mark.parametrize("garbage", GARBAGE)
@pytest.mark.parametrize("v", [GOOD_006, GOOD_007], ids=["006", "007"])
def test_garbage_is_invalid(v, garbage):
    """Malformed input (prefix, base64, zlib, layout, length) gives INVALID_TOKEN, never raises."""
    assert check(v, issued(v), token=garbage).code is INVALID


SAMPLES = [
    BY_NAME[n]
    for n in ("npm007-alice", "npm007-rtc-and-rtm", "pypi006-special", "npmlegacy006-unicode-zero")
]


@pytest.mark.parametrize("v", SAMPLES, ids=ids(SAMPLES))
def test_every_truncation_is_invalid(v):
    """Every proper prefix of a valid token is INVALID_TOKEN."""
    for end in range(len(v["token"])):
        assert check(v, issued(v), token=v["token"][:end]).code is INVALID, end


@pytest.mark.parametrize("v", SAMPLES, ids=ids(SAMPLES))
def test_every_single_character_substitution_is_invalid(v):
    """Changing any one character of a valid token, to any base64 character, makes it invalid."""
    alphabet = "AQgw/+9zB="
    token = v["token"]
    for i, old in enumerate(token):
        for new in alphabet.replace(old, ""):
            mutated = token[:i] + new + token[i + 1 :]
            assert check(v, issued(v), token=mutated).code is INVALID, (i, new)


PADDED = [v for v in VECTORS if v["token"].endswith("=")]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@pytest.mark.parametrize("v", PADDED, ids=ids(PADDED))
def test_non_canonical_base64_is_invalid(v):
    """Setting the unused bits before the padding decodes to the same bytes but is refused."""
    token = v["token"]
    body = token.rstrip("=")
    last = B64.index(body[-1])
    spare_bits = 4 if token.endswith("==") else 2
    twin = body[:-1] + B64[last ^ 1] + token[len(body) :]
    assert last & ((1 << spare_bits) - 1) == 0
    assert base64.b64decode(twin[3:]) == base64.b64decode(token[3:])
    assert check(v, issued(v), token=twin).code is INVALID


@st.composite
def mutated_tokens(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A vector and its token with a few random replacements, insertions or deletions."""
    v = draw(st.sampled_from(VECTORS))
    token = v["token"]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(token)))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        piece = draw(st.text(min_size=1, max_size=4))
        if kind == "insert":
            token = token[:i] + piece + token[i:]
        elif kind == "replace":
            token = token[:i] + piece + token[i + 1 :]
        else:
            token = token[:i] + token[i + 1 :]
    return v, token


@settings(max_examples=400, deadline=None)
@given(mutated_tokens())
def test_random_mutations_never_raise_and_never_pass(case):
    """Randomly mutated tokens never raise, and only one that carries the very content
    that was signed still verifies.

    A 007 token is base64(deflate(content)); deflate ignores the padding bits after the
    final block, so a few one-character changes near the end leave the content, and the
    signature over it, untouched (found by this test). That is the same credential, not a
    forgery: Agora's servers, which inflate the same way, accept it too.
    """
    v, token = case
    result = check(v, issued(v), token=token)
    assert result.code in (OK, INVALID, EXPIRED)
    assert result.code is INVALID or signed_content(token) == signed_content(v["token"])


def signed_content(token: str) -> bytes | None:
    """What the signature covers: a 007 token's inflated content, a 006 token itself."""
    if not token.startswith("007"):
        return token.encode()
    try:
        return zlib.decompress(base64.b64decode(token[3:], validate=True))
    except (ValueError, zlib.error):
        return None


def test_deflate_padding_bits_leave_the_signed_content_unchanged():
    """The case hypothesis found: a character in the deflate padding changes the token
    text, not what was signed, so it verifies; the next character, in the checksum, fails."""
    v = next(v for v in VECTORS if v["name"] == "npm007-special")
    token = v["token"]
    twin = token.replace("W1OkAAOUSIto=", "W1OkA0OUSIto=")
    broken = token.replace("W1OkAAOUSIto=", "W1OkAAPUSIto=")
    assert twin != token
    assert signed_content(twin) == signed_content(token)
    assert check(v, issued(v), token=twin).code is OK
    assert check(v, issued(v), token=broken).code is INVALID


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["", "006", "007", "006" + GOOD_006["app_id"]]),
    body=st.one_of(
        st.text(max_size=300), st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
    ),
    user=st.text(max_size=70),
    app_id=st.text(max_size=40),
    cert=st.text(max_size=40),
)
def test_arbitrary_input_never_raises(prefix, body, user, app_id, cert):
    """verify_token answers INVALID_TOKEN for arbitrary text and arguments, never an exception."""
    assert verify_token(prefix + body, app_id, cert, user, T0).code is INVALID


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=400))
def test_arbitrary_zlib_payload_never_raises(payload):
    """A well-compressed but arbitrary 007 payload is INVALID_TOKEN, never an exception."""
    token = "007" + base64.b64encode(zlib.compress(payload)).decode()
    assert verify_token(token, APP_ID, CERT, "alice", T0).code is INVALID


def test_unencodable_arguments_are_invalid():
    """Lone surrogates in the user id, app id or certificate give INVALID_TOKEN, not an error."""
    v = GOOD_007
    for field in ("user_id", "app_id", "app_certificate"):
        assert check(v, issued(v), **{field: "\ud800"}).code is INVALID


def test_empty_certificate_rejects_every_token():
    """With an empty certificate nothing verifies, not even a token signed with the empty key."""
    builder = pytest.importorskip("agora_token_builder.RtmTokenBuilder")
    token = builder.RtmTokenBuilder.buildToken(APP_ID, "", "alice", 1, 0)
    assert verify_token(token, APP_ID, "", "alice", T0) == TokenCheck(INVALID, None, "006")


def test_unknown_prefix_reports_no_version():
    """A token with neither prefix reports no version."""
    assert verify_token("abc", APP_ID, CERT, "alice", T0) == TokenCheck(INVALID, None, None)


# --- fresh tokens from the installed Python builders -------------------------------------


def test_fresh_agora_token_builder_006_tokens_verify():
    """Tokens agora-token-builder makes now verify, expire on time, and match ours byte for byte."""
    builder = pytest.importorskip("agora_token_builder.RtmTokenBuilder")
    access_token = pytest.importorskip("agora_token_builder.AccessToken")
    now = int(time.time())
    for user, privilege, expires_at in [
        ("alice", now + 600, now + 600),
        ("user with spaces", 0, None),
        ("ünïcödé-用户", now + 3600, now + 3600),
        ("!#$%&()+-:;<=.>?@[]^_{}|~,", now - 1, now - 1),
    ]:
        token = builder.RtmTokenBuilder.buildToken(APP_ID, CERT, user, 1, privilege)
        parsed = access_token.AccessToken()
        assert parsed.fromString(token)
        expires_at = expires_at or parsed.ts
        code = OK if expires_at > now else EXPIRED
        assert verify_token(token, APP_ID, CERT, user, now) == TokenCheck(code, expires_at, "006")
        assert verify_token(token, APP_ID, CERT, user + "x", now).code is INVALID
        assert verify_token(token, APP_ID, other(CERT), user, now).code is INVALID
        rebuilt = build_token_006(APP_ID, CERT, user, privilege, ts=parsed.ts, salt=parsed.salt)
        assert rebuilt == token


def test_006_without_the_rtm_login_privilege_is_invalid():
    """A 006 token for the user's name but without kRtmLogin (an RTC token) does not log in."""
    access_token = pytest.importorskip("agora_token_builder.AccessToken")
    token = access_token.AccessToken(APP_ID, CERT, "alice", "")
    token.addPrivilege(access_token.kJoinChannel, 0)
    assert verify_token(token.build(), APP_ID, CERT, "alice", int(time.time())).code is INVALID


def test_fresh_python_reference_007_tokens_equal_ours():
    """Tokens the Python AccessToken2 reference makes now verify and equal ours exactly."""
    ref = agoraiotools_access_token2()
    builder = pytest.importorskip("agoraiotools.RtmTokenBuilder2")
    now = int(time.time())
    for user, expire in [("alice", 600), ("ünïcödé-用户", 3600), ("u" * 64, 100_000)]:
        token = builder.RtmTokenBuilder2.build_token(APP_ID, CERT, user, expire)
        parsed = ref.AccessToken()
        assert parsed.from_string(token)
        issue_ts, salt = parsed._AccessToken__issue_ts, parsed._AccessToken__salt
        assert abs(issue_ts - now) <= 2
        ours = build_token_007(APP_ID, CERT, user, expire, issued_at=issue_ts, salt=salt)
        assert ours == token
        expected = TokenCheck(OK, issue_ts + min(expire, MAX_007_LIFETIME_S), "007")
        assert verify_token(token, APP_ID, CERT, user, issue_ts) == expected


def reference_007(
    ref: ModuleType, *, expire: int, services: list[Any], issue_ts: int = T0, salt: int = 9
) -> str:
    token = ref.AccessToken(APP_ID, CERT, issue_ts=issue_ts, expire=expire)
    token._AccessToken__salt = salt
    for service in services:
        token.add_service(service)
    result: str = token.build()
    return result


def test_007_login_privilege_zero_or_shorter_per_reference_builder():
    """A 007 login privilege of 0 leaves the token expiry; a shorter one ends login sooner."""
    ref = agoraiotools_access_token2()
    for privilege, expires_at in [(0, T0 + 3600), (600, T0 + 600), (7200, T0 + 3600)]:
        rtm = ref.ServiceRtm("alice")
        rtm.add_privilege(ref.ServiceRtm.kPrivilegeLogin, privilege)
        token = reference_007(ref, expire=3600, services=[rtm])
        assert verify_token(token, APP_ID, CERT, "alice", T0) == TokenCheck(OK, expires_at, "007")


def test_007_without_rtm_login_is_invalid():
    """A 007 token with no RTM service, or an RTM service without login, does not log in."""
    ref = agoraiotools_access_token2()
    rtc = ref.ServiceRtc("alice", 0)
    rtc.add_privilege(ref.ServiceRtc.kPrivilegeJoinChannel, 3600)
    rtm_no_login = ref.ServiceRtm("alice")
    chat = ref.ServiceChat("alice")
    chat.add_privilege(ref.ServiceChat.kPrivilegeUser, 3600)
    for services in ([rtc], [rtm_no_login], [chat], [rtc, chat]):
        token = reference_007(ref, expire=3600, services=services)
        assert verify_token(token, APP_ID, CERT, "alice", T0).code is INVALID


def test_007_rtm_service_after_an_rtc_service_is_found():
    """An RTC+RTM token, as RtcTokenBuilder2.buildTokenWithRtm makes, logs its RTM user in."""
    ref = agoraiotools_access_token2()
    rtc = ref.ServiceRtc("some-channel", 42)
    rtc.add_privilege(ref.ServiceRtc.kPrivilegeJoinChannel, 0)
    rtm = ref.ServiceRtm("bob")
    rtm.add_privilege(ref.ServiceRtm.kPrivilegeLogin, 3600)
    token = reference_007(ref, expire=3600, services=[rtc, rtm])
    assert verify_token(token, APP_ID, CERT, "bob", T0) == TokenCheck(OK, T0 + 3600, "007")
    assert verify_token(token, APP_ID, CERT, "some-channel", T0).code is INVALID


def test_the_session_expiry_of_each_format():
    """A session ends at a 007 token's expiry, at a 006 token's login privilege expiry,
    and never for a 006 privilege of 0 (its 24 h ``ts`` does not end a session)."""
    t007 = build_token_007(APP_ID, CERT, "alice", 600, issued_at=T0, salt=1)
    assert verify_token(t007, APP_ID, CERT, "alice", T0).session_expires_at == T0 + 600
    t006 = build_token_006(APP_ID, CERT, "alice", T0 + 60, ts=T0 + 86400, salt=7)
    assert verify_token(t006, APP_ID, CERT, "alice", T0).session_expires_at == T0 + 60
    no_privilege = build_token_006(APP_ID, CERT, "alice", 0, ts=T0 + 86400, salt=7)
    check = verify_token(no_privilege, APP_ID, CERT, "alice", T0)
    assert check.expires_at == T0 + 86400
    assert check.session_expires_at is None
