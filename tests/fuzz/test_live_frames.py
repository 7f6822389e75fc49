"""Every client frame type, mutated, and raw bytes, against a real server: errors are documented, sockets live on."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels import protocol
from tests.factories import create_cast, create_session, create_thread
from tests.fuzz.bridge import LoopBridge
from tests.fuzz.profiles import examples
from tests.harness import LiveServer
from tests.live_client import Frame, LiveClient

ROOM = "test-condition/main"
DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def documented_error_codes() -> set[str]:
    """The codes of the error table in docs/protocol.md (rows that start with a backticked code)."""
    text = DOC.read_text()
    table = text[text.index("### error") : text.index("### resync")]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))


# --- strategies ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
texts = st.text(max_size=40) | st.text(alphabet="\x00/:é🙂 \t\n", max_size=8)


def _rooms(thread_id: int) -> st.SearchStrategy[Any]:
    return st.sampled_from([ROOM, "other-condition/main", "test-condition/nope", "nope/main", "test-condition"]) | (
        st.builds("{}/{}".format, texts, texts) | st.text(min_size=120, max_size=140) | json_values
    )


def _seqs() -> st.SearchStrategy[Any]:
    return (
        st.integers(min_value=-3, max_value=12)
        | st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64, 10**30])
        | st.integers(min_value=-(2**70), max_value=2**70)
        | json_values
    )


def _topics(thread_id: int) -> st.SearchStrategy[Any]:
    return (
        st.sampled_from([f"thread:{thread_id}", "thread:999999", "member:me", "member:1", ROOM, "thread:", "thread:-1"])
        | st.builds("thread:{}".format, st.text(alphabet="0123456789²³¹١٢߀०୧", min_size=1, max_size=20))
        | st.builds("{}:{}".format, texts, texts)
        | json_values
    )


def _client_ids() -> st.SearchStrategy[Any]:
    return st.uuids().map(str) | st.text(min_size=0, max_size=70) | json_values


def _bodies() -> st.SearchStrategy[Any]:
    return (
        st.text(min_size=1, max_size=60)
        | st.sampled_from(["", "   ", "\n\t", "hello\x00there", "**bold** <script>x</script>"])
        | st.integers(min_value=3995, max_value=4005).map(lambda n: "x" * n)
        | st.integers(min_value=3995, max_value=4005).map(lambda n: "🙂" * n)
        | json_values
    )


def _frame_of(kind: str, thread_id: int) -> st.SearchStrategy[dict[str, Any]]:
    """A frame of one type with every field drawn from valid, borderline and wrong values."""
    fields: dict[str, st.SearchStrategy[Any]] = {
        "join": {"room": _rooms(thread_id), "since": st.none() | _seqs(), "epoch": st.none() | texts | json_values},
        "leave": {"room": _rooms(thread_id)},
        "send": {
            "room": _rooms(thread_id),
            "client_id": _client_ids(),
            "body": _bodies(),
            "reply_to": st.none() | _seqs(),
        },
        "typing": {"room": _rooms(thread_id)},
        "read": {"room": _rooms(thread_id), "seq": _seqs()},
        "remove": {"room": _rooms(thread_id), "seq": _seqs(), "reason": st.text(max_size=20) | json_values},
        "edit": {"room": _rooms(thread_id), "seq": _seqs(), "body": _bodies()},
        "delete": {"room": _rooms(thread_id), "seq": _seqs()},
        "react": {
            "room": _rooms(thread_id),
            "seq": _seqs(),
            "kind": st.sampled_from(["helped", "thanks", "like", ""]) | json_values,
            "on": st.booleans() | json_values,
        },
        "edits": {"room": _rooms(thread_id), "seq": _seqs()},
        "members": {"room": _rooms(thread_id), "prefix": texts | st.text(min_size=39, max_size=42) | json_values},
        "ping": {},
        "watch": {"topic": _topics(thread_id)},
        "unwatch": {"topic": _topics(thread_id)},
    }[kind]
    names = sorted(fields)
    return st.fixed_dictionaries(
        {"type": st.just(kind)},
        # Any field may be missing; unknown extra fields must be ignored.
        optional={**{name: fields[name] for name in names}, "extra": json_values},
    )


def _frames(thread_id: int) -> st.SearchStrategy[dict[str, Any]]:
    typed = st.sampled_from(KINDS).flatmap(lambda kind: _frame_of(kind, thread_id))
    # Whole frames with a wrong or unknown type, or none at all.
    odd_type = st.builds(
        lambda frame, kind: (
            {**frame, "type": kind} if kind is not None else {k: v for k, v in frame.items() if k != "type"}
        ),
        typed,
        st.none() | st.sampled_from(["JOIN", "shout", "", "ack", "pong"]) | json_values,
    )
    return typed | odd_type


KINDS = (
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
    "watch",
    "unwatch",
)


def frame_kind(frame: dict[str, Any]) -> str:
    """What a generated frame is, for the run's figures: its type, or "other type" / "no type"."""
    if "type" not in frame:
        return "no type"
    kind = frame["type"]
    return kind if isinstance(kind, str) and kind in KINDS else "other type"


def _encoded(frames: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[tuple[str, str | bytes]]:
    """A frame's kind and the frame as a text message (ASCII-escaped or not) or a binary one;
    now and then nested far too deep."""

    def encode(frame: dict[str, Any], ascii_only: bool, as_bytes: bool, depth: int | None) -> tuple[str, str | bytes]:
        text = json.dumps(frame, ensure_ascii=ascii_only)
        if depth is not None:
            text = text[:-1] + (", " if len(frame) else "") + '"deep": ' + "[" * depth + "]" * depth + "}"
        return frame_kind(frame), text.encode() if as_bytes else text

    depths = st.none() | st.none() | st.none() | st.integers(min_value=500, max_value=3000)
    return st.builds(encode, frames, st.booleans(), st.booleans(), depths)


raw_messages = (
    st.binary(max_size=300)
    | st.text(max_size=300)
    | st.sampled_from(["{", "[]", "null", '"ping"', "{}", '{"type":', "\ufeff{}", '{"type":"ping"} x', "NaN"])
    | json_values.map(json.dumps)
)


# --- the property -------------------------------------------------------------------------------


def _nested_deep(raw: str | bytes) -> bool:
    return b'"deep": [[' in raw if isinstance(raw, bytes) else '"deep": [[' in raw


class Sockets:
    """An anonymous visitor, a member and a leader, each in the room, on one server."""

    def __init__(self, clients: dict[str, LiveClient]) -> None:
        self.clients = clients
        self.error_codes = documented_error_codes()
        # Examples run, by frame kind and by the error codes they were answered with (the run's figures).
        self.kinds: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()

    async def exchange(self, who: str, raw: str | bytes) -> list[Frame]:
        """Send raw, then a ping; the frames that came back up to the pong (the pong included)."""
        client = self.clients[who]
        start = len(client.frames)
        await client.websocket.send(raw)
        await client.websocket.send('{"type":"ping"}')
        pong = await client.wait_for(lambda frame: frame["type"] == "pong", start=start)
        end = next(index for index in range(start, len(client.frames)) if client.frames[index] is pong)
        return client.frames[start : end + 1]

    def check(self, who: str, raw: str | bytes, answers: list[Frame]) -> None:
        assert self.clients[who].close_code is None, f"the socket was closed with {self.clients[who].close_code}"
        errors = [frame for frame in answers if frame["type"] == "error"]
        self.answers.update(str(error["code"]) for error in errors)
        for error in errors:
            assert error["code"] in protocol.ERROR_CODES and error["code"] in self.error_codes, error
            # The database and Redis are up: "unavailable" here means handling the frame broke.
            assert error["code"] != "unavailable", f"the server failed on {raw!r}: {error}"
        try:
            protocol.decode_client_frame(raw)
        except protocol.ProtocolError as refused:
            expected = {"code": refused.code, "ref": refused.ref}
            got = [{"code": error["code"], "ref": error.get("ref")} for error in errors]
            if refused.ref is not None and _nested_deep(raw):
                # Near the decoder's recursion limit, whether the ref can still be read depends on the
                # stack depth of the thread decoding it (this one is not the server's): no ref is fine.
                got = [{**answer, "ref": refused.ref} if answer["ref"] is None else answer for answer in got]
            assert expected in got, f"{raw!r} should be answered with {expected}, got {answers}"

    def report(self, name: str) -> None:
        """Print the examples run (shown by `pytest -rP`, as `make fuzz` runs it)."""
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.kinds.items()))
        codes = ", ".join(f"{code} {count}" for code, count in sorted(self.answers.items()))
        print(f"{name}: {sum(self.kinds.values())} examples ({kinds}); error answers: {codes or 'none'}")


@pytest.fixture
async def sockets(server: LiveServer, db: asyncpg.Connection) -> AsyncIterator[tuple[Sockets, int]]:
    cast = await create_cast(db)
    # Rooms opened to everyone by the leaders, so the anonymous socket joins too.
    await db.execute("UPDATE communities SET rooms_open = true WHERE id = $1", cast["community"])
    thread_id = await create_thread(db, cast["community"], cast["member"], "A public thread")
    clients = {"anonymous": await LiveClient.connect(server.ws_url, server.base_url)}
    for role in ("member", "leader"):
        clients[role] = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast[role]))
    for client in clients.values():
        assert (await client.join(ROOM))["type"] == "joined"
    await clients["member"].say(ROOM, "A first message to remove, read and resume from.")
    try:
        yield Sockets(clients), thread_id
    finally:
        for client in clients.values():
            await client.close()


async def test_every_mutated_client_frame_gets_a_documented_answer_and_the_socket_answers_the_next_ping(
    sockets: tuple[Sockets, int],
) -> None:
    live, thread_id = sockets

    def fuzz(bridge: LoopBridge) -> None:
        @examples(ci=150)
        @given(who=st.sampled_from(sorted(live.clients)), sample=_encoded(_frames(thread_id)))
        def every_frame(who: str, sample: tuple[str, str | bytes]) -> None:
            kind, raw = sample
            live.kinds[kind] += 1
            live.check(who, raw, bridge.run(live.exchange(who, raw)))

        every_frame()

    await LoopBridge.drive(fuzz)
    live.report("mutated frames")


async def test_raw_bytes_and_text_get_a_bad_request_and_the_socket_answers_the_next_ping(
    sockets: tuple[Sockets, int],
) -> None:
    live, _thread_id = sockets

    def fuzz(bridge: LoopBridge) -> None:
        @examples(ci=50)
        @given(who=st.sampled_from(sorted(live.clients)), raw=raw_messages)
        def every_message(who: str, raw: str | bytes) -> None:
            live.kinds["bytes" if isinstance(raw, bytes) else "text"] += 1
            live.check(who, raw, bridge.run(live.exchange(who, raw)))

        every_message()

    await LoopBridge.drive(fuzz)
    live.report("raw messages")
