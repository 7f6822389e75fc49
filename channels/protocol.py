"""The websocket wire protocol: JSON frame types, size limits, close codes, decode-and-validate, encode once."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal, get_args

import msgspec

# Websocket messages above this size are refused; uvicorn's ws_max_size should match so the
# server closes with 1009 before the frame is even read into memory.
MAX_FRAME_BYTES = 64 * 1024
# Same bound as room_messages.body in the schema (characters, not bytes).
MAX_BODY_CHARS = 4000
MAX_ROOM_CHARS = 128
MAX_CLIENT_ID_CHARS = 64
MAX_REASON_CHARS = 500
MAX_MENTION_PREFIX_CHARS = 40


class CloseCode(enum.IntEnum):
    """Websocket close codes the server uses, and what the client should do about each."""

    NORMAL = 1000  # done; do not reconnect
    POLICY = 1008  # bad or missing Origin at the upgrade (sent as HTTP 403); do not reconnect
    TOO_LARGE = 1009  # a frame above MAX_FRAME_BYTES; reconnect and resume
    INTERNAL = 1011  # unexpected server error; reconnect with backoff and resume
    RESTARTING = 1012  # server shutting down; reconnect (elsewhere) and resume
    LOGGED_OUT = 4001  # session ended or member banned; do not reconnect
    RESUME = 4008  # client fell too far behind; reconnect now and resume with since


ErrorCode = Literal[
    "bad_request",
    "forbidden",
    "rate_limited",
    "muted",
    "banned",
    "not_found",
    "too_large",
    "unavailable",
    "slow_mode",
]
ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))

ResyncReason = Literal["epoch_changed", "ahead_of_head", "too_far_behind"]

Room = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ROOM_CHARS)]
# Seqs are Postgres bigints: a larger number is refused here as a bad request, never sent to the database.
MAX_SEQ = 2**63 - 1
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CLIENT_ID_CHARS)]


class ProtocolError(Exception):
    """A frame the server cannot accept; answered with an error frame, the connection stays open."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        ref: str | None = None,
        *,
        request: str | None = None,
        seq: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.ref = ref
        self.request = request
        self.seq = seq

    def frame(self) -> Error:
        return Error(code=self.code, message=self.message, ref=self.ref, request=self.request, seq=self.seq)


# --- client → server -------------------------------------------------------------------------


class ClientFrame(msgspec.Struct, tag_field="type"):
    """Base of every frame a client sends; unknown extra fields are ignored for forward compatibility."""


class Join(ClientFrame, tag="join"):
    room: Room
    since: Seq | None = None
    epoch: str | None = None


class Leave(ClientFrame, tag="leave"):
    room: Room


MessageSeq = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
ReactionKind = Literal["helped", "thanks"]


class Send(ClientFrame, tag="send"):
    room: Room
    client_id: ClientId
    body: Annotated[str, msgspec.Meta(min_length=1)]
    reply_to: MessageSeq | None = None  # the seq of the message this one answers (quoted with it)


class Typing(ClientFrame, tag="typing"):
    room: Room


class Read(ClientFrame, tag="read"):
    room: Room
    seq: Seq


class Remove(ClientFrame, tag="remove"):
    """A moderator asks to remove a message; whether they may is decided by the server."""

    room: Room
    seq: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
    reason: Annotated[str, msgspec.Meta(max_length=MAX_REASON_CHARS)] = ""


class EditMessage(ClientFrame, tag="edit"):
    """The author replaces the text of their own message (the same text again changes nothing)."""

    room: Room
    seq: MessageSeq
    body: Annotated[str, msgspec.Meta(min_length=1)]


class DeleteMessage(ClientFrame, tag="delete"):
    """The author deletes their own message (deleting it again changes nothing)."""

    room: Room
    seq: MessageSeq


class React(ClientFrame, tag="react"):
    """The member's reaction to a message becomes `kind` (on) or is taken back (off); repeating it changes nothing."""

    room: Room
    seq: MessageSeq
    kind: ReactionKind
    on: bool = True


class AskEdits(ClientFrame, tag="edits"):
    """A leader asks for the earlier texts of an edited message."""

    room: Room
    seq: MessageSeq


class FindMembers(ClientFrame, tag="members"):
    """A writer asks for the room's members whose shown name starts with prefix (to @mention one)."""

    room: Room
    prefix: Annotated[str, msgspec.Meta(max_length=MAX_MENTION_PREFIX_CHARS)] = ""


class Ping(ClientFrame, tag="ping"):
    pass


Topic = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ROOM_CHARS)]


class Watch(ClientFrame, tag="watch"):
    """Follow a non-room topic: "thread:<id>" (a forum thread) or "member:me" (my notifications)."""

    topic: Topic


class Unwatch(ClientFrame, tag="unwatch"):
    topic: Topic


AnyClientFrame = (
    Join
    | Leave
    | Send
    | Typing
    | Read
    | Remove
    | EditMessage
    | DeleteMessage
    | React
    | AskEdits
    | FindMembers
    | Ping
    | Watch
    | Unwatch
)


# --- server → client -------------------------------------------------------------------------


class User(msgspec.Struct, frozen=True):
    """A member as others see them; badge is e.g. "leader", "expert", "admin" or null."""

    id: int
    username: str
    display_name: str
    badge: str | None = None


class ServerFrame(msgspec.Struct, tag_field="type", omit_defaults=True):
    """Base of every frame the server sends; optional fields left at their default are omitted."""


class Mute(msgspec.Struct, frozen=True, omit_defaults=True):
    """The mute in force on the member who joined: why, where (the room, or null: the whole community), until when."""

    reason: str
    room: str | None = None
    until: datetime | None = None  # null: until a leader lifts it


class Joined(ServerFrame, tag="joined"):
    room: str
    epoch: str
    head_seq: int
    # Whose socket this is, on the answer to a join only: a page that holds one member's unsent
    # messages must not send them on a socket that signed in as someone else meanwhile.
    user_id: int | None = None
    # On the answer to a join only: the joiner's mute in force there, if any (a page whose socket was down
    # when a leader muted or unmuted them learns it here).
    muted: Mute | None = None


class Ack(ServerFrame, tag="ack"):
    client_id: str
    room: str
    seq: int
    created_at: datetime


class Quote(msgspec.Struct, frozen=True, omit_defaults=True):
    """The message a reply answers: its seq, and while it is visible its shown author and first words."""

    seq: int
    author: str | None = None
    excerpt: str | None = None
    removed: bool = False  # removed, deleted or held: show "message removed", never its text


class Reaction(msgspec.Struct, frozen=True):
    """One kind of reaction to a message and who gave it (as the community shows them)."""

    kind: str
    users: list[User]


class Message(ServerFrame, tag="message"):
    room: str
    seq: int
    epoch: str
    id: int
    author: User | None  # null once the author's account is deleted
    body: str
    created_at: datetime
    client_id: str
    edited_at: datetime | None = None
    held: bool = False  # waiting for a leader's review: only its author (and leaders) get it
    removed: bool = False  # removed by a leader: only leaders get it, to see what was removed
    reply_to: Quote | None = None
    reactions: list[Reaction] = []


class Edit(ServerFrame, tag="edit"):
    room: str
    seq: int
    body: str
    edited_at: datetime


class Removed(ServerFrame, tag="remove"):
    room: str
    seq: int
    rejected: bool = False  # a held message the leaders did not approve: its author stops waiting too
    deleted: bool = False  # its author deleted it: gone for everyone, leaders too


class Reactions(ServerFrame, tag="reactions"):
    """Every reaction a message has now (it replaces the ones shown)."""

    room: str
    seq: int
    reactions: list[Reaction]


class Version(msgspec.Struct, frozen=True):
    body: str
    written_at: datetime


class Edits(ServerFrame, tag="edits"):
    """The answer to a leader's `edits`: the message's earlier texts, oldest first."""

    room: str
    seq: int
    versions: list[Version]


class Presence(ServerFrame, tag="presence"):
    """Everyone visibly in the room: sent only to the client that joins, never to the whole room."""

    room: str
    members: list[User]
    version: int  # the version of the last change this list includes


class PresenceChange(ServerFrame, tag="presence_change"):
    """Who arrived and who went, sent to the room; a change with version <= the snapshot's is in it already."""

    room: str
    version: int  # strictly increasing per room; changes may arrive out of order (docs/protocol.md)
    joined: list[User]
    left: list[User]


class UserTyping(ServerFrame, tag="typing"):
    room: str
    user: User


class Error(ServerFrame, tag="error"):
    code: ErrorCode
    message: str
    ref: str | None = None
    # The `type` and `seq` of the client frame refused, when it had them: a client tells apart refusals
    # about one room (a leader's remove from an edit, and of which message) without guessing.
    request: str | None = None
    seq: int | None = None


class Resync(ServerFrame, tag="resync"):
    room: str
    reason: ResyncReason


class Pong(ServerFrame, tag="pong"):
    pass


class Watching(ServerFrame, tag="watching"):
    """The answer to watch: the topic is followed (its events will come)."""

    topic: str


class ThreadChanged(ServerFrame, tag="thread"):
    """A post of a watched thread was added, edited, removed or approved: fetch the thread again."""

    thread: int
    post: int
    change: Literal["new", "edit", "remove"]


class Notify(ServerFrame, tag="notify"):
    """The member's unread notifications changed by count (negative: items others dealt with were read).

    review: the community (slug) whose review queue the change is about, for a leader's badge there.
    """

    count: int
    review: str | None = None


class RoomActivity(ServerFrame, tag="room_activity"):
    """A message in one of a community's rooms became visible (to watchers of its room list): raise its unread
    count; or, with gone, a message others could see is gone: lower the count if it was counted."""

    room: str
    seq: int
    author: int | None = None  # the author's id as the room's frames give it; None for a deleted account
    gone: bool = False


class Unread(ServerFrame, tag="unread"):
    """The member read a room (on any of their connections): this many messages are still unread there."""

    room: str
    seq: int  # the member's read position in the room
    count: int


class Muted(ServerFrame, tag="muted"):
    """To the muted member's own sockets (topic member:<id>): a leader muted them in one room or the whole community.

    It replaces an earlier mute of the same scope; the server refuses their sends there until `until` passes
    (null: until a leader lifts it), whatever the page does with this frame.
    """

    community: str  # the community's slug
    reason: str
    room: str | None = None  # the room ("<community>/<room>") when the mute holds there only; null: everywhere
    until: datetime | None = None


class Unmuted(ServerFrame, tag="unmuted"):
    """To the member's own sockets: a leader lifted their mutes in this community (its rooms' too)."""

    community: str


class Members(ServerFrame, tag="members"):
    """The answer to `members`: up to 8 of the room's members whose shown name starts with the prefix."""

    room: str
    prefix: str
    members: list[User]


AnyServerFrame = (
    Joined
    | Ack
    | Message
    | Edit
    | Removed
    | Reactions
    | Edits
    | Members
    | Presence
    | PresenceChange
    | UserTyping
    | Error
    | Resync
    | Pong
    | Watching
    | ThreadChanged
    | Notify
    | RoomActivity
    | Unread
    | Muted
    | Unmuted
)


# --- encode and decode -----------------------------------------------------------------------

_encoder = msgspec.json.Encoder()
_client_decoder: msgspec.json.Decoder[AnyClientFrame] = msgspec.json.Decoder(AnyClientFrame)
_server_decoder: msgspec.json.Decoder[AnyServerFrame] = msgspec.json.Decoder(AnyServerFrame)


def encode(frame: msgspec.Struct) -> bytes:
    """The frame as UTF-8 JSON, for Redis and for binary sends; do it once per event per process."""
    return _encoder.encode(frame)


def encode_text(frame: msgspec.Struct) -> str:
    """The frame as a str, for a text websocket message to a single client."""
    return _encoder.encode(frame).decode()


def _too_large(raw: str | bytes) -> bool:
    if isinstance(raw, bytes):
        return len(raw) > MAX_FRAME_BYTES
    # A str of n characters is between n and 4n bytes in UTF-8; encode only when unsure.
    if len(raw) > MAX_FRAME_BYTES:
        return True
    return len(raw) * 4 > MAX_FRAME_BYTES and len(raw.encode()) > MAX_FRAME_BYTES


def error_ref(frame: ClientFrame) -> str | None:
    """What an error about frame names: a send's client_id, else the room or topic it is about."""
    if isinstance(frame, Send):
        return frame.client_id
    ref = getattr(frame, "room", None) or getattr(frame, "topic", None)
    return ref if isinstance(ref, str) else None


def error_for(frame: ClientFrame, code: ErrorCode, message: str) -> Error:
    """The error answering frame: its ref, its type, and its seq when it has one (docs/protocol.md, error)."""
    seq = getattr(frame, "seq", None)
    return Error(
        code=code,
        message=message,
        ref=error_ref(frame),
        request=_tag_of(frame),
        seq=seq if isinstance(seq, int) else None,
    )


def _tag_of(frame: ClientFrame) -> str | None:
    tag = type(frame).__struct_config__.tag
    return tag if isinstance(tag, str) else None


_CLIENT_TAGS: frozenset[str] = frozenset(
    tag for tag in (member.__struct_config__.tag for member in get_args(AnyClientFrame)) if isinstance(tag, str)
)


def _readable_error(raw: str | bytes, code: ErrorCode, message: str) -> ProtocolError:
    """The error for a frame that failed validation, naming it as far as it can be read as plain JSON.

    Its ref is a send's client_id when that is a string, else the frame's room or topic when it is one;
    its request the frame's type when that is a known one, and its seq when that is a whole number in
    range: the client can match the error with the frame it sent even though that frame was refused.
    """
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return ProtocolError(code, message)
    if not isinstance(value, dict):
        return ProtocolError(code, message)
    ref: str | None = None
    client_id = value.get("client_id")
    if value.get("type") == "send" and isinstance(client_id, str) and client_id:
        ref = client_id
    else:
        for name in ("room", "topic"):
            found = value.get(name)
            if isinstance(found, str) and found:
                ref = found
                break
    kind = value.get("type")
    seq = value.get("seq")
    return ProtocolError(
        code,
        message,
        ref=ref,
        request=kind if isinstance(kind, str) and kind in _CLIENT_TAGS else None,
        seq=seq if type(seq) is int and 0 <= seq <= MAX_SEQ else None,
    )


def _refusing(frame: ClientFrame, code: ErrorCode, message: str) -> ProtocolError:
    error = error_for(frame, code, message)
    return ProtocolError(code, message, error.ref, request=error.request, seq=error.seq)


def decode_client_frame(raw: str | bytes) -> AnyClientFrame:
    """Parse and validate one client frame, or raise ProtocolError saying what is wrong with it."""
    if _too_large(raw):
        raise ProtocolError("too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        frame = _client_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise _readable_error(raw, "bad_request", f"Invalid frame: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise ProtocolError("bad_request", "Frames must be JSON objects.") from None
    except RecursionError:
        # Arrays or objects nested about a thousand deep, even in a field that is ignored: the
        # decoder gives up; the frame is refused like any malformed one, the connection lives on.
        raise ProtocolError("bad_request", "Frames must not nest arrays or objects that deep.") from None
    # Text fields reach the database, whose text cannot hold NUL: refused here, never retried.
    for name in frame.__struct_fields__:
        value = getattr(frame, name)
        if isinstance(value, str) and "\x00" in value:
            raise _refusing(frame, "bad_request", f"The field {name} cannot contain the NUL character (U+0000).")
    if isinstance(frame, Send | EditMessage) and len(frame.body) > MAX_BODY_CHARS:
        raise _refusing(frame, "too_large", f"Messages are limited to {MAX_BODY_CHARS} characters.")
    return frame


def decode_server_frame(raw: str | bytes) -> AnyServerFrame:
    """Parse a server frame (for tests, benchmarks and Python clients); raises msgspec errors."""
    return _server_decoder.decode(raw)
