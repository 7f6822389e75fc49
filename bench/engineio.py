"""Engine.IO v4 / Socket.IO v5 framing over a websocket, the little the bench client needs to speak to python-socketio.

Every bench frame is the JSON object Kindred's protocol uses, carried as the data of one Socket.IO
event named "frame": `42["frame",{...}]`. The server opens with `0{...}`, the client connects to the
default namespace with `40`, the server confirms with `40{...}`, and answers its pings `2` with `3`.
"""

from __future__ import annotations

PATH = "/socket.io/?EIO=4&transport=websocket"
CONNECT = b"40"
PONG = b"3"
EVENT = "frame"
_EVENT_PREFIX = b'42["' + EVENT.encode() + b'",'


def wrap(frame: bytes) -> bytes:
    """A bench frame (JSON object bytes) as a Socket.IO event packet."""
    return _EVENT_PREFIX + frame + b"]"


def unwrap(packet: bytes) -> tuple[str, bytes]:
    """What a packet is ("open", "connected", "ping", "event", "other") and, for an event, its frame's JSON bytes."""
    if packet.startswith(b"42"):
        body = packet[2:].strip()
        comma = body.find(b",")
        if body[:1] != b"[" or comma < 0 or body[-1:] != b"]":
            return "other", b""
        return "event", body[comma + 1 : -1].strip()
    if packet.startswith(b"40"):
        return "connected", b""
    if packet.startswith(b"0"):
        return "open", b""
    if packet == b"2":
        return "ping", b""
    return "other", b""
