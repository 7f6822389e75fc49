"""The wire protocol: every client frame decodes and validates, bad frames become error frames, server frames encode once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from channels import protocol
from channels.protocol import (
    MAX_BODY_CHARS,
    MAX_FRAME_BYTES,
    Ack,
    AskEdits,
    CloseCode,
    DeleteMessage,
    Edit,
    EditMessage,
    Error,
    FindMembers,
    Join,
    Joined,
    Leave,
    Message,
    Ping,
    Pong,
    Presence,
    PresenceChange,
    ProtocolError,
    React,
    Read,
    Remove,
    Removed,
    Resync,
    Send,
    Typing,
    User,
    UserTyping,
    decode_client_frame,
    decode_server_frame,
    encode,
    encode_text,
)

AMARA = User(id=7, username="amara", display_name="Amara", badge="leader")
WHEN = datetime(2026, 11, 24, 3, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type":"join","room":"cms/main"}', Join(room="cms/main")),
        ('{"type":"join","room":"cms/main","since":41,"epoch":"e1"}', Join(room="cms/main", since=41, epoch="e1")),
        ('{"type":"join","room":"cms/main","since":null,"epoch":null}', Join(room="cms/main")),
        ('{"type":"leave","room":"cms/main"}', Leave(room="cms/main")),
        (
            '{"type":"send","room":"cms/main","client_id":"c-1","body":"hello"}',
            Send(room="cms/main", client_id="c-1", body="hello"),
        ),
        ('{"type":"typing","room":"cms/main"}', Typing(room="cms/main")),
        ('{"type":"read","room":"cms/main","seq":12}', Read(room="cms/main", seq=12)),
        (
            '{"type":"remove","room":"cms/main","seq":12,"reason":"spam"}',
            Remove(room="cms/main", seq=12, reason="spam"),
        ),
        ('{"type":"remove","room":"cms/main","seq":12}', Remove(room="cms/main", seq=12)),
        (
            '{"type":"send","room":"cms/main","client_id":"c-2","body":"yes","reply_to":12}',
            Send(room="cms/main", client_id="c-2", body="yes", reply_to=12),
        ),
        (
            '{"type":"edit","room":"cms/main","seq":12,"body":"fixed"}',
            EditMessage(room="cms/main", seq=12, body="fixed"),
        ),
        ('{"type":"delete","room":"cms/main","seq":12}', DeleteMessage(room="cms/main", seq=12)),
        ('{"type":"react","room":"cms/main","seq":12,"kind":"thanks"}', React(room="cms/main", seq=12, kind="thanks")),
        (
            '{"type":"react","room":"cms/main","seq":12,"kind":"helped","on":false}',
            React(room="cms/main", seq=12, kind="helped", on=False),
        ),
        ('{"type":"edits","room":"cms/main","seq":12}', AskEdits(room="cms/main", seq=12)),
        ('{"type":"members","room":"cms/main","prefix":"am"}', FindMembers(room="cms/main", prefix="am")),
        ('{"type":"ping"}', Ping()),
    ],
)
def test_every_client_frame_decodes_to_its_type(raw: str, expected: object) -> None:
    assert decode_client_frame(raw) == expected
    assert decode_client_frame(raw.encode()) == expected


def test_unknown_fields_are_ignored_so_newer_clients_still_work() -> None:
    assert decode_client_frame('{"type":"ping","sent_at":123}') == Ping()


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        b"\xff\xfe\x00",
        "[1, 2]",
        '"join"',
        "{}",
        '{"type":"shout","room":"a"}',
        '{"type":"join"}',
        '{"type":"join","room":""}',
        '{"type":"join","room":"' + "r" * 129 + '"}',
        '{"type":"join","room":"a","since":-1}',
        '{"type":"join","room":"a","since":"12"}',
        '{"type":"send","room":"a","client_id":"","body":"x"}',
        '{"type":"send","room":"a","client_id":"' + "c" * 65 + '","body":"x"}',
        '{"type":"send","room":"a","client_id":"c","body":""}',
        '{"type":"read","room":"a"}',
        '{"type":"remove","room":"a","seq":0}',
        '{"type":"remove","room":"a","seq":9223372036854775808}',
        '{"type":"read","room":"a","seq":9223372036854775808}',
        '{"type":"join","room":"a","since":100000000000000000000}',
        '{"type":"remove","room":"a","seq":3,"reason":"' + "x" * 501 + '"}',
        '{"type":"edit","room":"a","seq":0,"body":"x"}',
        '{"type":"edit","room":"a","seq":1,"body":""}',
        '{"type":"delete","room":"a"}',
        '{"type":"react","room":"a","seq":1,"kind":"like"}',
        '{"type":"react","room":"a","seq":1,"kind":"thanks","on":"yes"}',
        '{"type":"send","room":"a","client_id":"c","body":"x","reply_to":0}',
        '{"type":"edits","room":"a","seq":-1}',
        '{"type":"members","room":"a","prefix":"' + "x" * 41 + '"}',
    ],
)
def test_a_malformed_or_unknown_frame_is_a_bad_request(raw: str | bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_client_frame(raw)
    assert caught.value.code == "bad_request"
    assert caught.value.message


def test_the_connection_stays_usable_after_a_bad_frame() -> None:
    with pytest.raises(ProtocolError):
        decode_client_frame('{"type":"shout"}')
    assert decode_client_frame('{"type":"ping"}') == Ping()


@pytest.mark.parametrize("depth", [1_000, 2_000, 10_000])
def test_a_frame_nested_too_deep_is_a_bad_request_and_the_decoder_still_works(depth: int) -> None:
    # Well under the size limit, in a field that is ignored anyway.
    arrays = '{"type":"ping","x":' + "[" * depth + "]" * depth + "}"
    objects = '{"type":"ping","x":' + '{"a":' * depth + "1" + "}" * depth + "}"
    for raw in (arrays, objects, arrays.encode()):
        assert len(raw) < MAX_FRAME_BYTES
        with pytest.raises(ProtocolError) as caught:
            decode_client_frame(raw)
        assert caught.value.code == "bad_request"
        assert "nest" in caught.value.message
    assert decode_client_frame('{"type":"ping","x":' + "[" * 100 + "]" * 100 + "}") == Ping()


@pytest.mark.parametrize(
    ("frame", "field", "ref"),
    [
        ({"type": "send", "room": "a/b", "client_id": "c-1", "body": "hi\x00there"}, "body", "c-1"),
        ({"type": "send", "room": "a/b", "client_id": "c\x001", "body": "hi"}, "client_id", "c\x001"),
        ({"type": "send", "room": "a/\x00", "client_id": "c-1", "body": "hi"}, "room", "c-1"),
        ({"type": "join", "room": "a/b\x00", "since": 3}, "room", "a/b\x00"),
        ({"type": "join", "room": "a/b", "since": 3, "epoch": "\x00"}, "epoch", "a/b"),
        ({"type": "leave", "room": "\x00"}, "room", "\x00"),
        ({"type": "typing", "room": "a/b\x00"}, "room", "a/b\x00"),
        ({"type": "read", "room": "a/b\x00", "seq": 1}, "room", "a/b\x00"),
        ({"type": "remove", "room": "a/b", "seq": 1, "reason": "spam\x00"}, "reason", "a/b"),
        ({"type": "watch", "topic": "thread:1\x00"}, "topic", "thread:1\x00"),
        ({"type": "unwatch", "topic": "member:me\x00"}, "topic", "member:me\x00"),
    ],
)
def test_a_nul_character_in_any_text_field_is_a_bad_request_naming_the_field(
    frame: dict[str, object], field: str, ref: str
) -> None:
    # The database cannot store NUL in text: without this, a send would fail as "unavailable",
    # which tells a client to retry the same frame, forever.
    raw = json.dumps(frame)  # NUL as the escape \u0000, the only way JSON carries it
    with pytest.raises(ProtocolError) as caught:
        decode_client_frame(raw)
    assert caught.value.code == "bad_request"
    assert field in caught.value.message and "U+0000" in caught.value.message
    assert caught.value.ref == ref


def test_an_escaped_backslash_before_u0000_is_just_text() -> None:
    frame = decode_client_frame(json.dumps({"type": "send", "room": "a/b", "client_id": "c", "body": "\\u0000"}))
    assert isinstance(frame, Send) and frame.body == "\\u0000"


@pytest.mark.parametrize(
    ("raw", "ref"),
    [
        ('{"type":"send","room":"cms/main","client_id":"c-1","body":""}', "c-1"),
        ('{"type":"send","room":"cms/main","client_id":"c-2"}', "c-2"),
        ('{"type":"send","room":"","client_id":"c-3","body":"hi"}', "c-3"),
        ('{"type":"send","room":"cms/main","client_id":"' + "c" * 65 + '","body":"x"}', "c" * 65),
        ('{"type":"send","room":"cms/main","client_id":7,"body":"x"}', "cms/main"),
        ('{"type":"join","room":"cms/main","since":-1}', "cms/main"),
        ('{"type":"read","room":"cms/main"}', "cms/main"),
        ('{"type":"shout","room":"cms/main"}', "cms/main"),
        ('{"type":"unwatch","topic":5}', None),
        ('{"type":"watch"}', None),
        ('{"type":"remove","seq":0,"topic":"thread:4"}', "thread:4"),
        ("[1, 2]", None),
        ('{"type":"join","room":7}', None),
    ],
)
def test_a_frame_that_fails_validation_names_its_readable_client_id_or_room_in_ref(raw: str, ref: str | None) -> None:
    for given in (raw, raw.encode()):
        with pytest.raises(ProtocolError) as caught:
            decode_client_frame(given)
        assert (caught.value.code, caught.value.frame().ref) == ("bad_request", ref)


@pytest.mark.parametrize(
    ("raw", "kind", "seq"),
    [
        ('{"type":"remove","room":"cms/main","seq":57,"reason":"' + "x" * 501 + '"}', "remove", 57),
        ('{"type":"remove","room":"cms/main","seq":57,"reason":"a\\u0000b"}', "remove", 57),
        ('{"type":"edit","room":"cms/main","seq":3,"body":"' + "x" * 4001 + '"}', "edit", 3),
        ('{"type":"react","room":"cms/main","seq":"3","kind":"helped"}', "react", None),
        ('{"type":"remove","room":"cms/main","seq":true}', "remove", None),
        ('{"type":"remove","room":"cms/main","seq":-1}', "remove", None),
        ('{"type":"shout","room":"cms/main","seq":3}', None, 3),
    ],
)
def test_a_refused_frame_names_its_type_and_seq_so_two_refusals_in_one_room_are_told_apart(
    raw: str, kind: str | None, seq: int | None
) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_client_frame(raw)
    error = caught.value.frame()
    assert (error.ref, error.request, error.seq) == ("cms/main", kind, seq)


def test_a_protocol_error_becomes_an_error_frame_with_a_machine_code() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_client_frame("{")
    frame = json.loads(encode(caught.value.frame()))
    assert frame == {"type": "error", "code": "bad_request", "message": "Frames must be JSON objects."}


def test_a_frame_above_the_size_limit_is_too_large() -> None:
    body = "x" * MAX_FRAME_BYTES
    raw = json.dumps({"type": "send", "room": "a", "client_id": "c", "body": body})
    for given in (raw, raw.encode()):
        with pytest.raises(ProtocolError) as caught:
            decode_client_frame(given)
        assert caught.value.code == "too_large"


def test_the_size_limit_counts_utf8_bytes_not_characters() -> None:
    # 20,000 four-byte characters: 80 KB on the wire, well under the limit in characters.
    raw = json.dumps({"type": "send", "room": "a", "client_id": "c", "body": "🙂" * 20_000}, ensure_ascii=False)
    assert len(raw) < MAX_FRAME_BYTES < len(raw.encode())
    with pytest.raises(ProtocolError) as caught:
        decode_client_frame(raw)
    assert caught.value.code == "too_large"


def test_a_message_body_longer_than_the_schema_allows_is_too_large_and_names_the_client_id() -> None:
    raw = json.dumps({"type": "send", "room": "a", "client_id": "c-9", "body": "x" * (MAX_BODY_CHARS + 1)})
    with pytest.raises(ProtocolError) as caught:
        decode_client_frame(raw)
    assert (caught.value.code, caught.value.ref) == ("too_large", "c-9")
    assert decode_client_frame(raw.replace("x" * (MAX_BODY_CHARS + 1), "x" * MAX_BODY_CHARS))


def test_server_frames_encode_to_the_documented_json() -> None:
    message = Message(
        room="cms/main",
        seq=42,
        epoch="e1",
        id=900,
        author=AMARA,
        body="Welcome!",
        created_at=WHEN,
        client_id="c-1",
    )
    assert json.loads(encode(message)) == {
        "type": "message",
        "room": "cms/main",
        "seq": 42,
        "epoch": "e1",
        "id": 900,
        "author": {"id": 7, "username": "amara", "display_name": "Amara", "badge": "leader"},
        "body": "Welcome!",
        "created_at": "2026-11-24T03:00:05Z",
        "client_id": "c-1",
    }
    assert json.loads(encode(Ack(client_id="c-1", room="cms/main", seq=42, created_at=WHEN))) == {
        "type": "ack",
        "client_id": "c-1",
        "room": "cms/main",
        "seq": 42,
        "created_at": "2026-11-24T03:00:05Z",
    }
    assert json.loads(encode(Joined(room="cms/main", epoch="e1", head_seq=42))) == {
        "type": "joined",
        "room": "cms/main",
        "epoch": "e1",
        "head_seq": 42,
    }
    assert json.loads(encode(Resync(room="cms/main", reason="epoch_changed"))) == {
        "type": "resync",
        "room": "cms/main",
        "reason": "epoch_changed",
    }
    assert json.loads(encode(Pong())) == {"type": "pong"}


def test_optional_fields_are_left_out_when_unset() -> None:
    assert json.loads(encode(Error(code="muted", message="You are muted."))) == {
        "type": "error",
        "code": "muted",
        "message": "You are muted.",
    }
    assert json.loads(encode(Presence(room="r", members=[AMARA], version=5))) == {
        "type": "presence",
        "room": "r",
        "members": [{"id": 7, "username": "amara", "display_name": "Amara", "badge": "leader"}],
        "version": 5,
    }
    deleted_author = Message(room="r", seq=1, epoch="e", id=1, author=None, body="b", created_at=WHEN, client_id="c")
    assert json.loads(encode(deleted_author))["author"] is None


@pytest.mark.parametrize(
    "frame",
    [
        Joined(room="r", epoch="e", head_seq=0),
        Ack(client_id="c", room="r", seq=1, created_at=WHEN),
        Message(room="r", seq=1, epoch="e", id=3, author=AMARA, body="b", created_at=WHEN, client_id="c"),
        Message(
            room="r", seq=1, epoch="e", id=3, author=None, body="b", created_at=WHEN, client_id="c", edited_at=WHEN
        ),
        Edit(room="r", seq=1, body="better", edited_at=WHEN),
        Removed(room="r", seq=1),
        Presence(room="r", members=[AMARA], version=1),
        PresenceChange(room="r", version=2, joined=[AMARA], left=[]),
        PresenceChange(room="r", version=3, joined=[], left=[AMARA]),
        UserTyping(room="r", user=AMARA),
        Error(code="slow_mode", message="Wait a little.", ref="c-1"),
        Error(code="bad_request", message="Give a reason.", ref="r", request="remove", seq=5),
        Resync(room="r", reason="ahead_of_head"),
        Pong(),
    ],
)
def test_every_server_frame_survives_a_round_trip(frame: protocol.ServerFrame) -> None:
    assert decode_server_frame(encode(frame)) == frame
    assert decode_server_frame(encode_text(frame)) == frame


def test_every_documented_error_code_is_accepted() -> None:
    documented = {
        "bad_request",
        "forbidden",
        "rate_limited",
        "muted",
        "banned",
        "not_found",
        "too_large",
        "unavailable",
        "slow_mode",
    }
    assert documented == protocol.ERROR_CODES
    for code in protocol.ERROR_CODES:
        assert decode_server_frame(encode(Error(code=code, message="m"))) == Error(code=code, message="m")  # type: ignore[arg-type]


def test_close_codes_are_the_documented_numbers() -> None:
    assert {code.name: int(code) for code in CloseCode} == {
        "NORMAL": 1000,
        "POLICY": 1008,
        "TOO_LARGE": 1009,
        "INTERNAL": 1011,
        "RESTARTING": 1012,
        "LOGGED_OUT": 4001,
        "RESUME": 4008,
    }


def test_the_protocol_document_names_every_frame_error_code_and_close_code() -> None:
    from tests.harness import ROOT

    text = (ROOT / "docs" / "protocol.md").read_text()
    client = [
        "join",
        "leave",
        "send",
        "typing",
        "read",
        "remove",
        "edit",
        "delete",
        "react",
        "edits",
        "members",
        "ping",
    ]
    server = [
        "joined",
        "ack",
        "message",
        "edit",
        "remove",
        "reactions",
        "edits",
        "members",
        "presence",
        "presence_change",
        "typing",
        "error",
        "resync",
        "pong",
    ]
    for name in client + server:
        assert f'"type": "{name}"' in text, name
    for code in protocol.ERROR_CODES:
        assert f"`{code}`" in text, code
    for close in CloseCode:
        assert f"`{int(close)}`" in text, close
